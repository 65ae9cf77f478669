"""`engram-probe layered train-adapter | evaluate | verify` end to end on a tiny saved model."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from engram_probe.arch.workbench_checkpoint import save_checkpoint
from tests.cli_run import run_cli
from tests.helpers import tiny_lm

pytestmark = pytest.mark.integration


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("layered", *args)


def test_train_evaluate_verify(tmp_path: Path) -> None:
    lm = tiny_lm(seed=8, n_ctx=64, positional_embedding_type="rotary")
    model = tmp_path / "model"
    save_checkpoint(model, lm.model, lm.tokenizer, {"note": "tiny"})
    adapter = tmp_path / "shared.safetensors"
    run = cli(
        "train-adapter",
        "--model",
        str(model),
        "--users",
        "generated:2:20:a",
        "--steps",
        "20",
        "--out",
        str(adapter),
        "--json",
    )
    assert run.returncode == 0, run.stderr[-2000:]
    info = json.loads(run.stdout)
    assert info["training_users"] == ["a000", "a001"] and info["settings"]["steps"] == 20 and adapter.is_file()
    report, page = tmp_path / "layered.json", tmp_path / "layered.md"
    run = cli(
        "evaluate",
        "--model",
        str(model),
        "--adapter",
        str(adapter),
        "--users",
        "generated:2:30:l",
        "--indirect",
        "3",
        "--facts",
        "6",
        "--report",
        str(report),
        "--html",
        str(tmp_path / "layered.html"),
        "--markdown",
        str(page),
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "F - E indirect_any" in run.stdout and "invariants: base_weights_unchanged yes" in run.stdout
    assert "%|" in run.stderr  # a progress bar while the conditions run
    doc = json.loads(report.read_text())
    assert [u["user"] for u in doc["users"]] == ["l000", "l001"] and all(doc["invariants"].values())
    assert "## The paper's claims on this model" in page.read_text()
    assert "<table>" in (tmp_path / "layered.html").read_text()
    ok = cli("verify", str(report), "--model", str(model), "--adapter", str(adapter))
    assert ok.returncode == 0 and "VERIFIED" in ok.stdout, ok.stdout + ok.stderr[-1000:]
    doc["users"][0]["conditions"]["F"]["indirect_any"] += 0.25
    report.write_text(json.dumps(doc))
    bad = cli("verify", str(report), "--model", str(model), "--adapter", str(adapter))
    assert (
        bad.returncode == 1 and "[FAIL] report digest" in bad.stdout and "[FAIL] re-run l000 condition F" in bad.stdout
    )
    wrong = cli("evaluate", "--model", str(model), "--adapter", str(tmp_path / "nope.safetensors"))
    assert wrong.returncode == 2 and "no adapter file" in wrong.stderr and "Traceback" not in wrong.stderr
    nousers = cli("train-adapter", "--model", str(model), "--users", str(tmp_path / "none"), "--out", str(adapter))
    assert nousers.returncode == 2 and "does not exist" in nousers.stderr
