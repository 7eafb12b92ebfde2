"""The HTML report in a real browser: headless Chromium loads it with no console error and shows every figure.

Skips only where no Chromium is installed (``.ci/run`` installs Debian's ``chromium``). A broken
control page is loaded in the same browser to prove the check would catch what it looks for.
"""

from __future__ import annotations

import pytest

from tests.report.chromium import find_chromium, load_pages

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium)")

BROKEN = """<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>broken</title></head>
<body><img alt="missing" src="missing.png"><script>console.error("boom")</script></body></html>"""


def test_report_html_loads_without_errors_and_shows_every_figure(report, run_dir, tmp_path):
    control = tmp_path / "broken.html"
    control.write_text(BROKEN)
    page, broken = load_pages([run_dir / "reports" / "report.html", control], CHROMIUM)

    # the check sees errors where there are some
    assert broken.loaded and "boom" in broken.console_errors and broken.failed_requests
    assert [i["naturalWidth"] for i in broken.images] == [0]

    assert page.loaded
    assert page.errors == []
    assert len(page.images) == len(report.figures) == 4
    for img in page.images:
        assert img["complete"] and img["naturalWidth"] > 0, img
        assert img["src_scheme"] == "data"
    # the page itself is the only file it asks for; every figure comes from a data: URI
    assert [u for u in page.requests if not u.startswith("data:")] == [(run_dir / "reports" / "report.html").resolve().as_uri()]
