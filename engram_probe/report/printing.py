"""Shared report styling and PDF printing through Debian chromium (light: no plotly, no torch)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engram_probe.extras import MissingExtra, require

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:1100px;color:#222}
h1{font-size:22px} h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px} td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
.ok{color:#1a7f37;font-weight:600} .bad{color:#b42318;font-weight:600} .cap{font-size:13px;color:#444;margin:4px 0 18px}
code{font-size:12px;word-break:break-all} .fig{page-break-inside:avoid;break-inside:avoid;margin:12px 0}
.probe{white-space:pre-wrap;word-break:normal;overflow-wrap:break-word;font-family:ui-monospace,monospace;font-size:12px}
.verdict{font-size:15px} .scoped{color:#9a6700;font-weight:600}
@media print{body{margin:0;max-width:none} h2{break-after:avoid} table{break-inside:auto} tr{break-inside:avoid}}
"""

PAGE_WIDTH_PX = 718  # A4 (210 mm) less 10 mm margins each side, at 96 px per inch: plots are laid out to fit
FOOTER = (
    "<div style='font-size:8px;width:100%;padding:0 10mm;display:flex;justify-content:space-between;color:#555'>"
    "<span class='title'></span><span>page <span class='pageNumber'></span> of <span class='totalPages'></span>"
    "</span></div>"
)


class PdfError(RuntimeError):
    """PDF export failed (for example, Debian chromium is missing)."""


def html_to_pdf(html_path: str | Path, pdf_path: str | Path, timeout_ms: int = 60000) -> Path:
    """Print a report HTML to A4 PDF with Debian chromium once its plots have rendered, laid out at the page's
    width, with the page number and count in each page's footer."""
    if not Path(CHROMIUM).exists():
        raise PdfError(f"PDF export needs Debian chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        require("playwright.sync_api", "PDF export")
    except MissingExtra as exc:
        raise PdfError(str(exc)) from exc
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    src = Path(html_path).resolve()
    out = Path(pdf_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": PAGE_WIDTH_PX, "height": 1000})
                page.emulate_media(media="print")
                page.goto(src.as_uri())
                page.wait_for_function(
                    "() => document.querySelectorAll('.js-plotly-plot').length === "
                    "document.querySelectorAll('.fig').length",
                    timeout=timeout_ms,
                )
                page.pdf(
                    path=str(out),
                    format="A4",
                    print_background=True,
                    display_header_footer=True,
                    header_template="<span></span>",
                    footer_template=FOOTER,
                    margin={"top": "12mm", "bottom": "16mm", "left": "10mm", "right": "10mm"},
                )
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise PdfError(f"PDF export failed: {exc}") from exc
    return out


def save_json_report(doc: dict[str, Any], path: str | Path) -> Path:
    """Write a report as indented, key-sorted UTF-8 JSON (the digest is over the canonical form, not this).

    A new report is attributed to its operator first (``kernel.attribute``); an old one is written as it is."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return p
