"""Verify that is precise: each check worded by its outcome, each differing field named in plain words (the same
words in the CLI and the UI), and a report verified against a store that has moved, matched by digest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from engram_probe.arch.workbench_checkpoint import save_checkpoint
from engram_probe.audit.engine import run_audit
from engram_probe.memory import UserMemory
from engram_probe.memory.store import MemoryStore
from engram_probe.memory.writing import FactSpec, FactWriter, WriteSettings
from engram_probe.report.checks import check_line, difference_line, field_name, result_lines, verdict
from engram_probe.report.document import finalize
from engram_probe.report.kernel import body_digest
from engram_probe.report.kinds import verify_file
from engram_probe.report.printing import save_json_report
from tests.cli_run import run_cli
from tests.helpers import tiny_lm
from workbench.verify_inputs import verify_view

TEXT = "Hello there. My name is Ada."


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real audit report of a tiny model, made from a real store file."""
    where = tmp_path_factory.mktemp("verify")
    lm = tiny_lm(seed=4)
    writer = FactWriter(lm.model, lm.tokenizer, WriteSettings(opt_steps=10))
    res = writer.write(UserMemory("alice"), [FactSpec.of("My name is", "Ada")], "opt")
    store = MemoryStore(where / "m.db", lm.weights_sha256, "create")
    store.add_facts("alice", res.facts)
    source = {"kind": "store", "path": str(where / "m.db"), "user": "alice"}
    doc = finalize(run_audit(lm, store.load("alice"), TEXT, source))
    store.close()
    return {"lm": lm, "doc": doc, "dir": where, "writer": writer, "path": save_json_report(doc, where / "r.json")}


def saved(made: dict[str, Any], name: str, edit: Any, restamp: bool) -> Path:
    doc = json.loads(json.dumps(made["doc"]))
    edit(doc)
    if restamp:
        doc["digests"]["report"] = body_digest(doc)
    return save_json_report(doc, made["dir"] / name)


def test_field_names_are_plain_words() -> None:
    assert field_name(".summary.first_write_site") == "first write site"
    assert field_name(".contrasts.lora.recall_top1") == "contrasts, LoRA, recall top-1"
    assert field_name(".changes[3].attn_out") == "changes, item 4, attention output"
    assert field_name(".sizes[1].rows_shared") == "sizes, item 2, rows shared"
    line = difference_line({"path": ".summary.first_write_site", "reported": 1234, "recomputed": 5})
    assert line == "first write site: the report says 1,234, the re-run gives 5"


def test_a_failing_check_is_worded_as_a_failure_and_the_headline_repeats_no_passing_wording(
    made: dict[str, Any],
) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["probe"]["text"] = TEXT + " Extra."

    good = verify_file(made["path"], lm=made["lm"], store=None, store_path=made["dir"] / "m.db")
    assert good["ok"], good["checks"]
    passing = {c["check"]: c["detail"] for c in good["checks"]}
    assert check_line(next(c for c in good["checks"] if c["check"] == "probe digest")) == (
        "✔ probe text matches its digest"
    )
    bad = verify_file(saved(made, "probe.json", edit, restamp=True), lm=made["lm"], store_path=made["dir"] / "m.db")
    assert not bad["ok"]
    failing = [c for c in bad["checks"] if not c["ok"]]
    assert [c["check"] for c in failing] == ["probe digest"]
    assert check_line(failing[0]) == "✘ probe text does not match its digest"
    word, why = verdict(bad)
    assert word == "NOT VERIFIED" and "does not match" in why
    assert not any(passing[c["check"]] in why for c in failing)  # a failure never reads as its passing sentence
    # each check of the run has a failing wording of its own: the edited body fails the digest in other words
    body = saved(made, "body.json", edit, restamp=False)
    tampered = verify_file(body, lm=made["lm"], store_path=made["dir"] / "m.db")
    digest = next(c for c in tampered["checks"] if c["check"] == "report digest")
    assert not digest["ok"] and digest["detail"] != passing["report digest"] and "edited" in digest["detail"]


def test_a_forged_field_is_named_with_both_values_in_the_cli_and_the_ui(made: dict[str, Any]) -> None:
    site = made["doc"]["summary"]["first_write_site"]

    def edit(doc: dict[str, Any]) -> None:
        doc["summary"]["first_write_site"] = site + 1

    path = saved(made, "forged.json", edit, restamp=True)
    result = verify_file(path, lm=made["lm"], store_path=made["dir"] / "m.db")
    assert [m["path"] for m in result["mismatches"]] == [".summary.first_write_site"]
    rerun = next(c for c in result["checks"] if c["check"] == "re-run")
    assert not rerun["ok"] and "first write site" in rerun["detail"] and "reproduced" not in rerun["detail"]
    named = f"first write site: the report says {site + 1:,}, the re-run gives {site:,}"
    assert named in "\n".join(result_lines(result))
    headline, table = verify_view(result)
    assert headline.startswith("**NOT VERIFIED**") and "first write site" in headline
    row = table[table["check"] == "differs: first write site"].iloc[0]
    assert row["ok"] == "✘" and row["detail"] == f"the report says {site + 1:,}, the re-run gives {site:,}"


def test_a_moved_store_verifies_and_a_different_one_is_refused_naming_it_and_the_digest(
    made: dict[str, Any], tmp_path: Path
) -> None:
    moved = tmp_path / "elsewhere" / "moved.db"
    moved.parent.mkdir()
    shutil.copy(made["dir"] / "m.db", moved)
    report = tmp_path / "r.json"
    shutil.copy(made["path"], report)
    hinted = made["dir"] / "m.db"
    hidden = made["dir"] / "m.db.away"
    hinted.rename(hidden)  # the store is no longer where the report says
    try:
        lost = verify_file(report, lm=made["lm"])
        assert not lost["ok"] and "not at the place it names" in lost["checks"][-1]["detail"]
        found = verify_file(report, lm=made["lm"], store_path=moved)
        assert found["ok"], found["checks"]
        memory = next(c for c in found["checks"] if c["check"] == "memory digest")
        assert str(moved) in memory["detail"] and made["doc"]["memory"]["sha256"][:16] in memory["detail"]
    finally:
        hidden.rename(hinted)
    other = tmp_path / "other.db"
    lm = made["lm"]
    res = made["writer"].write(UserMemory("alice"), [FactSpec.of("My name is", "Bob")], "opt")
    with MemoryStore(other, lm.weights_sha256, "create") as store:
        store.add_facts("alice", res.facts)
        wrong_digest = store.load("alice").digest()
    refused = verify_file(report, lm=lm, store_path=other)
    check = next(c for c in refused["checks"] if c["check"] == "memory digest")
    assert not refused["ok"] and not check["ok"] and "re-run" not in [c["check"] for c in refused["checks"]]
    assert str(other) in check["detail"] and wrong_digest[:16] in check["detail"]
    assert made["doc"]["memory"]["sha256"][:16] in check["detail"] and "not the store" in check["detail"]
    missing = verify_file(report, lm=lm, store_path=tmp_path / "nowhere.db")
    assert not missing["ok"] and str(tmp_path / "nowhere.db") in missing["checks"][-1]["detail"]


def test_the_cli_prints_each_check_by_its_outcome_and_takes_a_moved_store(made: dict[str, Any], tmp_path: Path) -> None:
    moved = tmp_path / "moved.db"
    shutil.copy(made["dir"] / "m.db", moved)
    model = tmp_path / "model"
    save_checkpoint(model, made["lm"].model, made["lm"].tokenizer, {})
    cmd = ["verify", str(made["path"]), "--model", str(model)]
    out = run_cli(*cmd, "--store", str(moved))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "✔ probe text matches its digest" in out.stdout and out.stdout.rstrip().splitlines()[-1].startswith(
        "VERIFIED"
    )
