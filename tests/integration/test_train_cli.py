"""`engram-probe train` end to end on a tiny budget: corpus, tokenizer, model, twin, a loadable checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engram_probe.arch.workbench_checkpoint import load_checkpoint
from tests.cli_run import run_cli

pytestmark = pytest.mark.integration


def test_train_writes_a_loadable_model_with_its_twin(tmp_path: Path) -> None:
    out = tmp_path / "m"
    run = run_cli("train", "--out", str(out), "--steps", "6", "--docs", "400", "--batch-size", "4", "--json")
    assert run.returncode == 0, run.stderr[-2000:]
    heldout = json.loads(run.stdout)
    assert heldout["loss"] == heldout["loss_check"] and heldout["loss_no_engram"] > 0
    lm = load_checkpoint(out)
    assert (
        lm.training["corpus"]["n_docs"] == 400
        and lm.training["twin"]["params"]["total"] < lm.model.parameter_counts()["total"]
    )
    assert lm.training["model"]["settings"]["steps"] == 6 and len(lm.training["samples"]) == 5
    shown = run_cli("info", "--model", str(out))
    assert shown.returncode == 0, shown.stderr[-2000:]
    info = shown.stdout
    assert "no-Engram twin" in info and lm.weights_sha256 in info


def test_train_a_rotary_model_with_larger_tables(tmp_path: Path) -> None:
    out = tmp_path / "r"
    args = ["--out", str(out), "--steps", "2", "--docs", "300", "--batch-size", "2", "--no-twin", "--json"]
    args += ["--n-ctx", "64", "--table-size", "5003", "--positions", "rotary"]
    run = run_cli("train", *args)
    assert run.returncode == 0, run.stderr[-2000:]
    from engram_probe.arch.loading import open_model

    lm = open_model(out)
    assert lm.cfg.positional_embedding_type == "rotary" and lm.cfg.n_ctx == 64
    assert min(lm.model.hasher.primes(1)) > 5002 and lm.model.max_tokens == 8 * 64
    bad = run_cli("train", "--out", str(tmp_path / "x"), "--positions", "rotary", "--n-ctx", "0")
    assert bad.returncode == 2 and bad.stderr.strip() == "engram-probe train: error: n_ctx must be at least 2, got 0"
