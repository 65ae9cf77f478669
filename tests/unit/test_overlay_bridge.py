"""The bridge on the shipped model: another tool's overlay for the workbench contract is imported as a user memory
and forward-audited with the bit-exact proof; a file of another contract, or a row no fact owns, is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engram_probe.cli import main
from engram_probe.contracts import load_contract
from engram_probe.memory.store import MemoryStore
from engram_probe.memory.transfer import ImportRejected
from engram_probe.overlays.bridge import IMPORTED, import_file, model_contract, overlay_memory, read_user_memory
from engram_probe.overlays.pleo import write_pleo
from engram_probe.overlays.rowset import V41_FORMAT, FactTrigger, OverlayFileError, OverlayRows
from engram_probe.overlays.v41_rows import write_v41_rows

pytestmark = pytest.mark.integration
FIX = Path(__file__).resolve().parents[1] / "fixtures" / "contracts"
TRIGGERS = {"pet": ("My dog is", (1,)), "city": ("I live in", (1, 4))}
PROBE = "My dog is happy, and I live in Lisbon."


def foreign_overlay(shipped: Any, user: str, facts: dict[str, tuple[str, tuple[int, ...]]]) -> OverlayRows:
    """Rows for each trigger, as another tool would write them: the rows its last position reads, random values."""
    contract = model_contract(shipped)
    rng = np.random.default_rng(7)
    by_layer: dict[int, dict[int, np.ndarray]] = {}
    triggers = []
    for fact_id, (text, layers) in facts.items():
        ids = contract.encode(text)
        for layer in layers:
            for r in contract.addresses(np.asarray(ids), layer)[-1].tolist():
                by_layer.setdefault(layer, {}).setdefault(r, rng.standard_normal(16).astype(np.float32) * 0.5)
        triggers.append(FactTrigger(user, fact_id, tuple(ids), layers, text))
    tables = {L: (np.array(sorted(rows)), np.stack([rows[r] for r in sorted(rows)])) for L, rows in by_layer.items()}
    return OverlayRows(user, "built here", V41_FORMAT, tables, triggers, contract.digest())


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def expected_hits(shipped: Any, overlay: OverlayRows, text: str) -> set[tuple[int, int, int]]:
    """(position, layer, row) of every read of an overlay row, computed from the contract alone."""
    ids = np.asarray(shipped.tokenizer.encode(text))
    out = set()
    for layer in overlay.layers:
        rows = set(overlay.rows(layer).tolist())
        for t, reads in enumerate(shipped.model.hasher.addresses(ids, layer)):
            out |= {(t, layer, int(r)) for r in reads if int(r) in rows}
    return out


def test_a_v41_row_file_for_the_workbench_contract_is_imported_and_forward_audited(
    shipped: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    overlay = foreign_overlay(shipped, "carol", TRIGGERS)
    path = write_v41_rows(overlay, tmp_path / "carol.safetensors", model_contract(shipped), "float32")
    db, report = str(tmp_path / "m.db"), str(tmp_path / "audit.json")
    entry = json.loads(cli(capsys, "import", "--store", db, "--file", str(path), "--json"))
    assert entry["detail"]["file_format"] == V41_FORMAT and entry["fact_ids"] == ["pet", "city.L1", "city.L4"]
    cli(capsys, "audit", "--store", db, "--user", "carol", "--text", PROBE, "--json", report)
    doc = json.loads(Path(report).read_text())
    assert doc["summary"]["untouched_bit_exact"] is True and doc["proof"]["identical"] is True
    assert doc["summary"]["positions"]["untouched"] > 0  # the proof compared something
    hits = {(h["position"], h["layer"], h["row"]) for h in doc["read_map"]}
    assert hits == expected_hits(shipped, overlay, PROBE)
    pet_rows = {(1, r) for r in model_contract(shipped).addresses(np.asarray(overlay.facts[0].trigger_ids), 1)[-1]}
    assert pet_rows <= {(L, r) for _, L, r in hits}  # the probe starts with the pet trigger: all its rows are read
    assert doc["memory"]["rows"] == overlay.n_rows
    with MemoryStore(db, mode="read") as store:
        facts = store.load("carol").facts
    assert {f.strategy for f in facts} == {IMPORTED} and all(f.settings["source_format"] == V41_FORMAT for f in facts)
    # the stored values are the file's, bit for bit
    for f in facts:
        for (layer, row), vec in zip(f.rows, f.values.numpy(), strict=True):
            written = overlay.value(layer, row)
            assert written is not None and vec.tobytes() == written.tobytes()
    assert "VERIFIED" in cli(capsys, "verify", report, "--store", db)


def test_a_pleo_with_its_facts_sidecar_is_bridged_and_its_audit_proof_passes(shipped: Any, tmp_path: Path) -> None:
    from engram_probe.audit.engine import run_audit

    overlay = foreign_overlay(shipped, "dave", {"pet": TRIGGERS["pet"]})
    path = write_pleo(overlay, tmp_path / "dave.pleo", model_contract(shipped))
    (tmp_path / "dave.pleo.facts.json").write_text(json.dumps({"facts": [{"fact_id": "pet", "trigger": "My dog is"}]}))
    bridged = read_user_memory(path, shipped)
    assert bridged.format.name == "pleo" and [f.fact_id for f in bridged.memory.facts] == ["pet"]
    assert bridged.memory.user_id == "dave" and bridged.memory.facts[0].triggers == ["My dog is"]
    body = run_audit(shipped, bridged.memory, PROBE)
    assert body["proof"]["identical"] is True
    assert {(h["position"], h["layer"], h["row"]) for h in body["read_map"]} == expected_hits(shipped, overlay, PROBE)
    # gold is what the edited model says after the trigger, as the fact's settings state
    assert body["gold"]["fact_id"] == "pet" and "top-1" in bridged.memory.facts[0].settings["gold"]
    # the sidecar names no answer: the fact is a one-token answer, and its settings say so
    pet = bridged.memory.facts[0]
    assert pet.answer_token_ids == [pet.gold_token_id] and "one-token answer" in pet.settings["gold"]
    # a bridged user exports and reads back as our own memory file, the same memory to the digest
    from engram_probe.memory.transfer import export_memory, read_memory_file

    exported = tmp_path / "dave.safetensors"
    export_memory(bridged.memory, exported, shipped.weights_sha256, shipped.model.hasher)
    again = read_memory_file(exported, shipped.model, shipped.weights_sha256)
    assert again.digest() == bridged.memory.digest() and again.facts[0].strategy == "imported"


def test_a_row_file_of_another_contract_is_refused_naming_both(shipped: Any, tmp_path: Path) -> None:
    with MemoryStore(tmp_path / "m.db", shipped.weights_sha256) as store:
        with pytest.raises(ImportRejected) as err:
            import_file(store, FIX / "v41_tiny" / "alice.safetensors", shipped)
        assert store.user_ids() == []
    v41 = load_contract("deepseek-v4.1", FIX / "v41_tiny" / "config.json", FIX / "v41_tiny" / "tokenizer.json")
    message = str(err.value)
    assert f"deepseek-v4.1 {v41.digest()[:12]}" in message
    assert f"workbench {shipped.model.hasher.digest()[:12]}" in message
    # the bridge itself checks the digest, whatever read the overlay
    other = foreign_overlay(shipped, "erin", {"pet": TRIGGERS["pet"]})
    other.contract_sha256 = v41.digest()
    with pytest.raises(OverlayFileError, match=f"{v41.digest()[:12]}.*workbench {shipped.model.hasher.digest()[:12]}"):
        overlay_memory(other, shipped)


def test_a_row_that_no_facts_trigger_reads_is_refused(shipped: Any) -> None:
    overlay = foreign_overlay(shipped, "fay", {"pet": TRIGGERS["pet"]})
    rows, values = overlay.layers[1]
    stray = int(max(set(range(200)) - set(rows.tolist())))
    order = np.argsort(np.append(rows, stray))
    overlay.layers[1] = (np.append(rows, stray)[order], np.vstack([values, np.ones((1, 16), np.float32)])[order])
    with pytest.raises(OverlayFileError, match="1 rows of table 1 are read by no fact's trigger"):
        overlay_memory(overlay, shipped)


def test_a_v41_file_naming_a_whole_answer_bridges_as_that_answer_and_a_pleo_sidecar_stays_one_token(
    shipped: Any, tmp_path: Path
) -> None:
    from engram_probe.memory.transfer import export_memory
    from engram_probe.memory.user_memory import UserMemory
    from engram_probe.memory.writing import FactSpec, FactWriter
    from engram_probe.overlays.load import read_overlay

    spec = FactSpec.of("My favorite tea is", "oolong")
    (fact,) = FactWriter(shipped.model, shipped.tokenizer).write(UserMemory("gus"), [spec], "unembed", 1).facts
    assert len(fact.answer_token_ids) == 3 and len(fact.rows) == 3 * 16  # three positions, each head its own row
    contract = model_contract(shipped)
    export_memory(UserMemory("gus", [fact]), tmp_path / "gus.safetensors", shipped.weights_sha256, contract)
    overlay = read_overlay(tmp_path / "gus.safetensors", contract)
    assert overlay.facts[0].answer_ids == tuple(fact.answer_token_ids)
    v41 = write_v41_rows(overlay, tmp_path / "gus.v41.safetensors", contract, "float32")
    (bridged,) = read_user_memory(v41, shipped).memory.facts
    assert bridged.answer_token_ids == fact.answer_token_ids and bridged.answer.strip() == "oolong"
    assert bridged.rows == fact.rows and bridged.values.numpy().tobytes() == fact.values.numpy().tobytes()
    assert "names the answer" in bridged.settings["gold"]
    # the same rows as a .pleo whose sidecar names only the trigger: a one-token answer owns the trigger's 16 rows,
    # so the rows its answer tokens' positions read belong to no fact and the file is refused
    pleo = write_pleo(overlay, tmp_path / "gus.pleo", contract)
    (tmp_path / "gus.pleo.facts.json").write_text(
        json.dumps({"facts": [{"fact_id": "tea", "trigger": spec.triggers[0]}]})
    )
    with pytest.raises(OverlayFileError, match="32 rows of table 1 are read by no fact's trigger"):
        read_user_memory(pleo, shipped)
