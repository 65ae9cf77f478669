"""Input limits: ids follow the stated rules wherever they enter, an overlay without facts is named as rows without
facts (census JSON, CLI, UI, report), and a word the tokenizer cannot encode is an error naming the word."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engram_probe.contracts import ContractError, load_contract
from engram_probe.hashaudit.jobs import JobInputs, OverlayInput
from engram_probe.hashaudit.render import render_contract_html
from engram_probe.hashaudit.report import build_report
from engram_probe.overlays import OverlayFileError, read_overlay
from engram_probe.report.kernel import body_digest
from engram_probe.report.kinds import verify_file
from engram_probe.report.printing import save_json_report
from tests.cli_run import run_cli
from tests.helpers import write_tiny_workbench
from workbench import production, users_tab
from workbench.state import make_state

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "contracts"
V41_FILES = (FIX / "v41_tiny" / "config.json", FIX / "v41_tiny" / "tokenizer.json")


@pytest.fixture()
def no_sidecar(tmp_path: Path) -> Path:
    """alice's overlay with its facts sidecar, and bob's ``.pleo`` alone."""
    for name in ("alice.pleo", "alice.pleo.facts.json", "bob.pleo"):
        shutil.copy(FIX / "qwen_ple" / name, tmp_path / name)
    return tmp_path


def test_an_overlay_without_its_sidecar_is_named_as_rows_without_facts(no_sidecar: Path) -> None:
    bob_rows = read_overlay(no_sidecar / "bob.pleo", load_contract("qwen3.8-ple")).n_rows
    inputs = JobInputs("qwen3.8-ple", overlays=[OverlayInput(str(no_sidecar / f)) for f in ("alice.pleo", "bob.pleo")])
    doc = build_report("census", inputs)
    assert doc["result"]["summary"]["rows_without_facts"] == {"bob": bob_rows}  # the JSON; alice has facts
    html = render_contract_html(doc)
    assert f"bob (bob.pleo): {bob_rows:,} rows without facts" in html and "alice (alice.pleo)" not in html
    cli = ["contract", "census", "--contract", "qwen3.8-ple"]
    out = run_cli(*cli, "--overlay", str(no_sidecar / "bob.pleo"))
    assert (
        out.returncode == 0 and f"{bob_rows:,} rows without facts" in out.stdout and "bob.pleo.facts.json" in out.stdout
    )
    *_, status = production.census("qwen3.8-ple", None, None, [str(no_sidecar / "bob.pleo")])
    assert f"{bob_rows:,} rows without facts" in status and str(no_sidecar) not in status
    with_facts = build_report(
        "census", JobInputs("qwen3.8-ple", overlays=[OverlayInput(str(FIX / "qwen_ple" / "bob.pleo"))])
    )
    assert with_facts["result"]["summary"]["rows_without_facts"] == {}


def test_a_census_report_from_before_the_field_still_verifies(no_sidecar: Path) -> None:
    inputs = JobInputs("qwen3.8-ple", overlays=[OverlayInput(str(no_sidecar / "bob.pleo"))])
    doc = build_report("census", inputs)
    del doc["result"]["summary"]["rows_without_facts"]
    doc["digests"]["report"] = body_digest(doc)
    assert verify_file(save_json_report(doc, no_sidecar / "old.json"))["ok"]
    doc["result"]["summary"]["rows_without_facts"] = {"bob": 1}  # but a forged count is caught
    doc["digests"]["report"] = body_digest(doc)
    forged = verify_file(save_json_report(doc, no_sidecar / "forged.json"))
    assert not forged["ok"] and "rows without facts" in forged["checks"][-1]["detail"]


def test_a_word_the_v41_tokenizer_cannot_encode_is_an_error_naming_it(tmp_path: Path) -> None:
    v41 = load_contract("deepseek-v4.1", *V41_FILES)
    assert v41.encode("g h a b") == [6, 7, 0, 1]  # 'a' is a word of its own, and also the stand-in for unknown ones
    with pytest.raises(ContractError, match="no token for the word 'zebra'"):
        v41.encode("g zebra b")
    overlay = str(FIX / "v41_tiny" / "alice.safetensors")
    cli = ["contract", "readmap", "--contract", "deepseek-v4.1"]
    cli += ["--config", str(V41_FILES[0]), "--tokenizer", str(V41_FILES[1]), "--overlay", overlay]
    out = run_cli(*cli, "--text", "g zebra b")
    assert out.returncode == 2 and "'zebra'" in out.stderr and "Traceback" not in out.stderr
    _, table, status = production.read_map("deepseek-v4.1", *map(str, V41_FILES), [overlay], "g zebra b")
    assert "'zebra'" in status and table.empty and "--" not in status
    sidecar = tmp_path / "alice.safetensors.facts.json"  # a facts sidecar's trigger text is encoded the same way
    shutil.copy(overlay, tmp_path / "alice.safetensors")
    sidecar.write_text(json.dumps({"facts": [{"fact_id": "f1", "trigger": "b zebra"}]}), encoding="utf-8")
    with pytest.raises(OverlayFileError, match="fact 0.*'zebra'"):
        read_overlay(tmp_path / "alice.safetensors", v41)


@pytest.mark.parametrize(
    ("field", "value"), [("user", "Eve O'Brien/../x"), ("fact_id", "tea/../../etc"), ("fact_id", "x" * 65)]
)
def test_ids_in_an_overlays_facts_sidecar_are_refused(tmp_path: Path, field: str, value: str) -> None:
    shutil.copy(FIX / "qwen_ple" / "bob.pleo", tmp_path / "bob.pleo")
    facts = json.loads((FIX / "qwen_ple" / "bob.pleo.facts.json").read_text(encoding="utf-8"))
    if field == "user":
        facts["user"] = value
    else:
        facts["facts"][0]["fact_id"] = value
    (tmp_path / "bob.pleo.facts.json").write_text(json.dumps(facts), encoding="utf-8")
    with pytest.raises(OverlayFileError, match="bob.pleo.*not allowed"):
        read_overlay(tmp_path / "bob.pleo", load_contract("qwen3.8-ple"))


def test_an_overlay_named_after_an_id_outside_the_rule_is_refused(tmp_path: Path) -> None:
    shutil.copy(FIX / "qwen_ple" / "bob.pleo", tmp_path / "Eve O'Brien.pleo")
    with pytest.raises(OverlayFileError, match="rename the file"):
        read_overlay(tmp_path / "Eve O'Brien.pleo", load_contract("qwen3.8-ple"))


def test_the_ui_refuses_a_user_id_outside_the_rule_and_stores_nothing(tmp_path: Path) -> None:
    write_tiny_workbench(tmp_path / "model")
    state = make_state(tmp_path / "model", tmp_path / "work", demo=False)
    try:
        md, table, _ = users_tab.write_fact(state, "Eve O'Brien/../x", "My favorite tea is", "oolong", "unembed", "1")
        assert "not allowed" in md and table.empty and "--" not in md
        assert state.store.user_ids() == []
    finally:
        state.store.close()
