"""The BERT-vs-GPT report: tables with paired-bootstrap tests, figures, qualitative samples, in Markdown and HTML.

One concept per module: :mod:`.inputs` (what is read), :mod:`.significance` (paired bootstrap),
:mod:`.comparison` (per task / group numbers), :mod:`.tables`, :mod:`.figures`, :mod:`.findings`
(generated sentences), :mod:`.contamination`, :mod:`.qualitative`, :mod:`.budget` (score vs compute),
:mod:`.label_efficiency` (score vs training labels), :mod:`.recipe` (the opening paragraph),
:mod:`.stage_times` (wall time per stage group, from MLflow),
:mod:`.markdown` and :mod:`.html` (the two renderings), :mod:`.build` (all of it, written to disk).
"""

from .build import Report, render_report
from .inputs import ReportInputs, load_inputs
from .markdown import ReportOptions, build_markdown

__all__ = ["Report", "ReportInputs", "ReportOptions", "build_markdown", "load_inputs", "render_report"]
