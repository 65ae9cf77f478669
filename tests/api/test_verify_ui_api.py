"""The UI's verify, through the served workbench: a forged field is named as the CLI names it, with both values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gradio_client import Client, handle_file

from engram_probe.report.checks import result_lines
from engram_probe.report.kernel import body_digest
from engram_probe.report.verify import verify_report
from tests.api.conftest import table


def test_a_forged_report_names_the_differing_field_with_both_values(
    client: Client, served: tuple[str, Any], tmp_path: Path
) -> None:
    state = served[1]
    files, status = client.predict("d002", state.demo_probes["d002"], False, api_name="/export_report")
    report = next(Path(f) for f in files if f.endswith(".json"))
    doc = json.loads(report.read_text(encoding="utf-8"))
    site = doc["summary"]["first_write_site"]
    doc["summary"]["first_write_site"] = site + 2
    doc["digests"]["report"] = body_digest(doc)  # re-stamped: only the re-run can tell
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(doc), encoding="utf-8")
    verdict, checks = client.predict(handle_file(str(forged)), api_name="/verify_report")
    rows = {r[0]: r for r in table(checks)}
    assert verdict.startswith("**NOT VERIFIED**") and "first write site" in verdict and "2 values differ" not in verdict
    assert rows["report digest"][1] == "✔" and rows["re-run"][1] == "✘"
    assert "reproduced" not in rows["re-run"][2]  # the failing check is not worded as its passing sentence
    both = f"the report says {site + 2:,}, the re-run gives {site:,}"
    assert rows["differs: first write site"][1:] == ["✘", both]
    # the command line names the same field in the same words
    cli = "\n".join(result_lines(verify_report(forged, lm=state.lm, store=state.store)))
    assert f"first write site: {both}" in cli
