"""Everything on an imported nanochat-engram checkpoint: writes, overlays, the proof (and that it can fail),
contrasts, the LoRA comparison, reports, verify, export/import and the CLI, through the model seam."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from engram_probe.arch.loading import open_model
from engram_probe.audit.engine import AuditOptions, run_audit
from engram_probe.audit.paired import paired_run
from engram_probe.audit.proof import bit_exact_proof
from engram_probe.audit.readmap import classify_positions, read_map
from engram_probe.memory import MemoryOverlay, UserMemory
from engram_probe.memory.writing import FactSpec, FactWriter, WriteSettings
from engram_probe.report.document import finalize
from engram_probe.report.printing import save_json_report as save_report
from engram_probe.report.verify import verify_report
from tests.cli_run import run_cli
from tests.helpers import LeakyOverlay

CKPT = Path(__file__).resolve().parents[1] / "fixtures" / "nanochat_tiny"
TRIGGER, ANSWER = "the dog ran to", "park"
PROBE = "hello the dog ran to the park"


@pytest.fixture(scope="module")
def lm() -> Any:
    return open_model(CKPT)


@pytest.mark.parametrize("strategy", ["unembed", "opt", "joint"])
def test_every_write_strategy_reaches_the_answer(lm: Any, strategy: str) -> None:
    res = FactWriter(lm.model, lm.tokenizer, WriteSettings()).write(
        UserMemory("ann"), [FactSpec.of(TRIGGER, ANSWER)], strategy
    )
    fact = res.facts[0]
    assert fact.layer == min(lm.cfg.engram_layer_ids) and fact.row_ids.shape == (lm.cfg.n_engram_heads, 2)
    ids = torch.tensor([lm.tokenizer.encode(TRIGGER)])
    gold = lm.tokenizer.encode(" " + ANSWER, bos=False)[-1]
    with torch.no_grad():
        before = lm.model(ids)[0, -1]
        after = lm.model(ids, overlay=MemoryOverlay([UserMemory("ann", [fact])]))[0, -1]
    assert int(after.argmax()) == gold or strategy == "unembed"
    assert float(after[gold] - after.max()) > float(before[gold] - before.max())


def test_the_proof_holds_and_can_fail_on_the_imported_model(lm: Any) -> None:
    res = FactWriter(lm.model, lm.tokenizer, WriteSettings(opt_steps=10)).write(
        UserMemory("ann"), [FactSpec.of(TRIGGER, ANSWER)], "opt"
    )
    overlay = MemoryOverlay([UserMemory("ann", res.facts)])
    ids = lm.tokenizer.encode(PROBE)
    classes = classify_positions(len(ids), read_map(lm.model.hasher, overlay, ids))
    assert classes[:2] == ["untouched", "untouched"] and "write_site" in classes
    good = bit_exact_proof(paired_run(lm.model, torch.tensor([ids]), overlay), classes)
    assert good["identical"] and good["pairs_compared"] > 0
    bad = bit_exact_proof(paired_run(lm.model, torch.tensor([ids]), LeakyOverlay(overlay)), classes)
    assert not bad["identical"] and {m["position"] for m in bad["mismatches"]} >= {1}
    assert any(m["hook"].endswith("hook_smear") or "engram" in m["hook"] for m in bad["mismatches"])


def test_audit_with_contrasts_report_and_verify(lm: Any, tmp_path: Path) -> None:
    from engram_probe.memory.operations import open_store, write_facts

    store = open_store(tmp_path / "m.db", lm)
    write_facts(lm, store, "ann", [FactSpec.of(TRIGGER, ANSWER)], "opt", "late", WriteSettings())
    source = {"kind": "store", "path": str(tmp_path / "m.db"), "user": "ann"}
    doc = finalize(run_audit(lm, store.load("ann"), PROBE, source, AuditOptions(contrast=True)))
    assert doc["summary"]["untouched_bit_exact"] and doc["model"]["contract"]["name"] == "user-as-engram"
    lora = doc["contrasts"]["lora"]
    assert lora["untouched_changed_fraction"] > 0.5 and doc["contrasts"]["engram"]["untouched_changed_fraction"] == 0
    path = save_report(doc, tmp_path / "r.json")
    result = verify_report(path, CKPT)
    assert result["ok"], result["checks"]
    doc["summary"]["untouched_bit_exact"] = False
    assert not verify_report(save_report(doc, tmp_path / "t.json"), CKPT)["ok"]


def cli(*args: str) -> str:
    out = run_cli(*args)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_cli_write_audit_export_import_verify(tmp_path: Path) -> None:
    db, db2 = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    m = ["--model", str(CKPT)]
    w = json.loads(cli("write", *m, "--store", db, "--user", "ann", "--prompt", TRIGGER, "--answer", ANSWER, "--json"))
    assert w["recall"]["rank_after"] == 1
    cli("audit", *m, "--store", db, "--user", "ann", "--text", PROBE, "--json", str(tmp_path / "r.json"))
    assert "VERIFIED" in cli("verify", str(tmp_path / "r.json"))
    cli("export", *m, "--store", db, "--user", "ann", "--out", str(tmp_path / "ann.safetensors"))
    cli("import", *m, "--store", db2, "--file", str(tmp_path / "ann.safetensors"))
    assert "ann" in cli("users", *m, "--store", db2)
    info = json.loads(cli("info", *m, "--json"))
    assert info["model"]["architecture"] == "nanochat-engram" and info["shape"]["n_ctx"] == 64
