"""The UI's LoRA tab and the CLI's contrast report give the same held-out figures for the same user and probe."""

from __future__ import annotations

import json
from pathlib import Path

from engram_probe.memory.operations import write_facts
from engram_probe.memory.writing import FactSpec, WriteSettings
from engram_probe.report.numbers import pct, signed
from tests.cli_run import run_cli
from workbench.contrast_views import lora_contamination
from workbench.state import make_state

MODEL = Path(__file__).resolve().parents[1] / "fixtures" / "audit_report_v1" / "model"
PROBE = "Hello there. My name is Ada."


def test_the_lora_tab_shows_the_held_out_figures_of_the_cli_report(tmp_path: Path) -> None:
    state = make_state(MODEL, tmp_path / "work", demo=False)
    write_facts(state.lm, state.store, "ann", [FactSpec.of("My name is", "Ada")], "opt", "early", WriteSettings())
    _, table, status = lora_contamination(state, "ann", PROBE)
    assert not status.startswith("⚠"), status
    report = tmp_path / "r.json"
    run = run_cli("audit", "--model", str(MODEL), "--store", str(state.store.path), "--user", "ann", "--text", PROBE,
                  "--contrast", "--json", str(report))  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    c = json.loads(report.read_text(encoding="utf-8"))["contrasts"]
    assert c["heldout_loss"]["texts"] == 8
    loss = table["held-out loss change (nats/token)"].tolist()
    changed = table["held-out text values changed"].tolist()
    assert loss == [signed(c["heldout_loss"][k]) for k in ("engram_delta", "lora_delta")]
    assert changed == [pct(c[k]["heldout_changed_fraction"]) for k in ("engram", "lora")]
    assert table["recall top-1"].tolist() == [pct(c["engram"]["recall_top1"]), pct(c["lora"]["recall_top1"])]
