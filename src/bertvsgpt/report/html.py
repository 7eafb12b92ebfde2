"""``reports/report.html``: the Markdown report as one self-contained page.

The Markdown is rendered with markdown-it-py (CommonMark + tables; raw HTML in the text is
escaped, never passed through), and every image is inlined as a base64 PNG ``data:`` URI, so the
page loads no external resource: it can be mailed, archived as an MLflow artifact or opened offline.
"""

from __future__ import annotations

import base64
import html
import mimetypes
from pathlib import Path

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.45;
       max-width: 70rem; margin: 2rem auto; padding: 0 1rem; color: #1a1a1a; }
h1 { font-size: 1.7rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ccc; } h3 { margin-top: 1.6rem; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.88rem; display: block; overflow-x: auto; }
th, td { border: 1px solid #bbb; padding: 0.25rem 0.5rem; vertical-align: top; }
th { background: #f0f0f0; } tr:nth-child(even) td { background: #fafafa; }
img { max-width: 100%; height: auto; display: block; margin: 0.8rem 0; }
code { background: #f4f4f4; padding: 0 0.2rem; border-radius: 3px; font-size: 0.9em; }
pre { background: #f4f4f4; padding: 0.6rem; overflow-x: auto; }
@media print { body { max-width: none; margin: 0; } h2 { break-before: auto; } img, table { break-inside: avoid; } }
"""


def data_uri(path: Path) -> str:
    mime = mimetypes.guess_type(str(path))[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(Path(path).read_bytes()).decode('ascii')}"


def _renderer():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "typographer": False}).enable("table")


def markdown_to_html(markdown: str, base_dir: Path, title: str) -> str:
    """A complete HTML page; relative image paths are read from ``base_dir`` and inlined."""
    md = _renderer()
    tokens = md.parse(markdown)
    for token in tokens:
        for child in token.children or []:
            if child.type != "image":
                continue
            src = str(child.attrGet("src") or "")
            if src.startswith("data:"):
                continue
            if "://" in src or src.startswith("//"):
                raise ValueError(f"report image {src}: external resources are not allowed in the self-contained page")
            child.attrSet("src", data_uri(Path(base_dir) / src))
    body = md.renderer.render(tokens, md.options, {})
    body = body.replace(" ± ", "\u00a0±\u00a0")  # keep "mean ± std" on one line in narrow table cells
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<link rel=\"icon\" href=\"data:,\">\n"  # no favicon request
        f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )
