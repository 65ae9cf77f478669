"""The audit report's PDF, printed by Debian chromium and rendered to PNG pages: what a reader checks on paper."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from engram_probe.report.printing import CHROMIUM, html_to_pdf
from engram_probe.report.render import write_html

pytestmark = [pytest.mark.integration]

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "audit_report_v1" / "report.json"
WORDS = "Hello there. My name is Ada. I live in Lisbon, where the extraordinarily long tramlines climb seven hills."


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not Path(CHROMIUM).exists() or shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None:
        pytest.fail("the PDF test needs Debian chromium and poppler-utils (pdftoppm, pdftotext)")
    out = tmp_path_factory.mktemp("pdf")
    doc = json.loads(FIXTURE.read_text(encoding="utf-8"))
    # a probe text long enough to wrap over several lines (only the page is made from it; nothing is verified)
    doc["probe"]["text"] = " ".join([WORDS] * 12)
    doc["memory"]["source"] = {"kind": "store", "path": str(out / "tmp-store-folder" / "memory.db"), "user": "alice"}
    pdf = html_to_pdf(write_html(doc, out / "r.html"), out / "r.pdf")
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(out / "page")], check=True)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    raw = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return {"doc": doc, "out": out, "pngs": sorted(out.glob("page-*.png")), "text": text, "raw": raw}


def test_every_page_is_numbered_and_rendered(printed: dict[str, Any], artifacts: Path) -> None:
    pngs, text = printed["pngs"], printed["text"]
    assert len(pngs) >= 2 and all(p.stat().st_size > 5_000 for p in pngs)
    n = len(pngs)
    for i in range(1, n + 1):
        assert f"page {i} of {n}" in text
    for p in pngs:
        shutil.copy(p, artifacts / f"report-pdf-{p.name}")


def test_the_header_names_the_model_and_the_verdict_states_its_scope(printed: dict[str, Any]) -> None:
    doc = printed["doc"]
    flat = re.sub(r"\s+", " ", printed["raw"])
    assert f"{doc['model']['contract']['name']}, version {doc['model']['contract']['version']}" in flat
    assert doc["model"]["sha256"][:16] in flat.replace(" ", "")
    assert "positions before the first write site give byte-for-byte the same values" in flat
    assert f"{doc['gold']['trigger']} → {doc['gold']['answer']}" in flat  # the user's fact, in words
    # its rows by column, the one index that names a read in a layer (format /1 called the column "head")
    hits = sorted((h["layer"], h["head"], h["row"]) for p in doc["positions"] for h in p["hits"])
    layer, column, row = hits[0]
    assert f"layer {layer} column {column} row {row:,}" in flat and " head " not in flat


def test_no_hover_hints_no_folders_and_the_probe_wraps_at_spaces(printed: dict[str, Any]) -> None:
    text = printed["text"]
    assert "Hover" not in text and "hover" not in text
    assert "tmp-store-folder" not in text and str(printed["out"]) not in text and "memory.db" in text
    probe = text[text.index("Probe text") : text.index("Rules")]
    seen = set(probe.split())
    assert all(w in seen for w in WORDS.split()), sorted(set(WORDS.split()) - seen)  # no word broken in two
