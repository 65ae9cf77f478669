"""Hash-only audits on contracts: census classes, conflicts, read map, locality statement and scan counts."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engram_probe.contracts import load_contract
from engram_probe.hashaudit.census import row_census
from engram_probe.hashaudit.readmap import contract_read_map
from engram_probe.hashaudit.synthetic import overlay_for_facts
from engram_probe.overlays import FactTrigger, OverlayRows, read_overlay
from engram_probe.overlays.edited_rows import EditedRows
from engram_probe.scale.scan import scan_shards

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "contracts"
V41 = load_contract("deepseek-v4.1", FIX / "v41_tiny" / "config.json", FIX / "v41_tiny" / "tokenizer.json")
QWEN = load_contract("qwen3.8-ple")


def find_collision() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Two trigrams over a..h whose last position shares a layer-2 row through different n-grams."""
    seen: dict[int, tuple[int, ...]] = {}
    for tri in itertools.product(range(8), repeat=3):
        rows = V41.addresses(np.array(tri), 2)[-1]
        for c in (2, 3):  # trigram columns: the n-gram is the whole trigger
            key = int(rows[c])
            if key in seen and seen[key] != tri:
                return seen[key], tri
            seen[key] = tri
    raise AssertionError("no collision in 512 trigrams")


def test_census_classes_content_collision_conflict() -> None:
    a_tri, b_tri = find_collision()
    alice = overlay_for_facts(V41, "alice", [FactTrigger("alice", "f1", a_tri, (2,))], [2])
    bob = overlay_for_facts(
        V41, "bob", [FactTrigger("bob", "g1", b_tri, (2,)), FactTrigger("bob", "g2", (7, *a_tri[1:]), (2,))], [2]
    )
    census = row_census(V41, [alice, bob])
    f1 = next(f for f in census["facts"] if f["fact_id"] == "f1")
    # the bigram rows of f1 are read by bob's g2 through the same bigram: content; one trigram row collides
    assert f1["counts"]["shared_by_content"] + f1["counts"]["both"] >= 2
    assert f1["counts"]["shared_by_hash_collision"] + f1["counts"]["both"] >= 1
    assert sum(f1["counts"].values()) == f1["reads"] == V41.n_columns(2)
    # every row both users write carries two different seeded values, so each shared row is a conflict
    pair = census["user_pairs"][0]
    assert pair["users"] == ["alice", "bob"] and pair["shared_rows"] == pair["conflicting_rows"] >= 3
    shared = [r for r in census["rows"] if len(r["users"]) == 2]
    assert {r["sharing"] for r in shared} <= {"content", "hash_collision"} and "hash_collision" in {
        r["sharing"] for r in shared
    }


def test_same_values_are_shared_without_conflict_and_unattributed_rows_are_counted() -> None:
    alice = overlay_for_facts(QWEN, "alice", [FactTrigger("alice", "f", (1, 2, 3))])
    twin = OverlayRows("bob", "t", "pleo", dict(alice.layers), [])  # same rows and values, no facts
    census = row_census(QWEN, [alice, twin])
    assert census["summary"]["rows_written_by_several_users"] == 16 and census["summary"]["conflicting_rows"] == 0
    assert census["summary"]["unattributed_rows"] == {"alice": 0, "bob": 16}
    assert census["facts"][0]["counts"]["shared_unattributed"] == 16


def test_unwritten_rows_are_reported() -> None:
    alice = overlay_for_facts(QWEN, "alice", [FactTrigger("alice", "f", (1, 2, 3))])
    rows, vals = alice.layers[0]
    alice.layers[0] = (rows[1:], vals[1:])
    f = row_census(QWEN, [alice])["facts"][0]
    assert f["counts"]["unwritten"] == 1 and f["counts"]["own_fact_only"] == 15


def test_duplicate_users_are_refused() -> None:
    a = overlay_for_facts(QWEN, "alice", [FactTrigger("alice", "f", (1, 2, 3))])
    with pytest.raises(ValueError, match="same user"):
        row_census(QWEN, [a, a])


def brute_hits(contract, overlays, ids: list[int]) -> set[tuple[int, int, int]]:  # noqa: ANN001
    """(position, layer, column) hits by a plain loop over a Python set (independent of the sorted index)."""
    edited = {(L, int(r)) for o in overlays for L, (rows, _) in o.layers.items() for r in rows}
    out = set()
    for L in contract.layers:
        addr = contract.addresses(np.array(ids), L)
        for t in range(len(ids)):
            for c in range(addr.shape[1]):
                if (L, int(addr[t, c])) in edited:
                    out.add((t, L, c))
    return out


def test_read_map_and_derived_locality() -> None:
    overlays = [read_overlay(FIX / "v41_tiny" / f"{u}.safetensors", V41) for u in ("alice", "bob")]
    ids = V41.encode("g h b c d e f a")
    m = contract_read_map(V41, EditedRows(V41, overlays), ids)
    assert {(h["position"], h["layer"], h["column"]) for h in m["hits"]} == brute_hits(V41, overlays, ids)
    first = min(h["position"] for h in m["hits"])
    assert m["locality"]["kind"] == "derived" and m["locality"]["first_read"] == first == 3
    assert m["locality"]["unchanged_positions"] == 3
    hit = next(h for h in m["hits"] if h["column"] == 0 and h["position"] == 3)
    assert hit["ngram"] == ["b", "c"] and hit["facts"] == ["alice/pet", "bob/car"]
    clean = contract_read_map(V41, EditedRows(V41, overlays), V41.encode("h h h"))
    assert clean["hits"] == [] and clean["locality"]["unchanged_positions"] == 3


def test_scan_jsonl_counts_match_a_brute_force_count() -> None:
    overlays = [read_overlay(FIX / "qwen_ple" / f"{u}.pleo", QWEN) for u in ("alice", "bob")]
    seen = []

    def progress(done: int, total: int, message: str = "") -> None:
        seen.append((done, total))

    out = scan_shards(QWEN, overlays, [FIX / "qwen_ple" / "corpus.jsonl"], progress=progress)
    lines = [json.loads(x) for x in (FIX / "qwen_ple" / "corpus.jsonl").read_text().splitlines()]
    hits = [brute_hits(QWEN, overlays, ids) for ids in lines]
    assert out["tokens"] == sum(len(x) for x in lines) and out["corpus"]["sequences"] == len(lines)
    assert out["positions_hit"] == sum(len({t for t, _, _ in h}) for h in hits)
    assert sum(r["hits"] for r in out["rows"]) == sum(len(h) for h in hits)
    assert seen[-1][0] == seen[-1][1] > 0 and out["failed_shards"] == []


def test_scan_text_keeps_lookback_across_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import engram_probe.scale.shards as shards

    overlays = [read_overlay(FIX / "v41_tiny" / f"{u}.safetensors", V41) for u in ("alice", "bob")]
    text = "a b\nc d e f\n" * 50
    (tmp_path / "c.txt").write_text(text)
    whole = brute_hits(V41, overlays, V41.encode(text))
    monkeypatch.setattr(shards, "TEXT_CHUNK_CHARS", 7)  # many chunks: n-grams straddle chunk boundaries
    out = scan_shards(V41, overlays, [tmp_path / "c.txt"])
    assert out["positions_hit"] == len({t for t, _, _ in whole}) and out["positions_hit"] > 0
    assert sum(r["hits"] for r in out["rows"]) == len(whole) and out["corpus"]["sequences"] == 1


def test_scan_reports_the_bad_line_and_counts_the_other_shards(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text('[1, 2]\n[3, "x"]\n')
    (tmp_path / "good.jsonl").write_text("[1, 2, 3]\n[4, 5]\n")
    overlays = [read_overlay(FIX / "qwen_ple" / "alice.pleo", QWEN)]
    out = scan_shards(QWEN, overlays, [tmp_path])
    assert [(Path(f["path"]).name, f["line"]) for f in out["failed_shards"]] == [("bad.jsonl", 2)]
    assert "token-id list" in out["failed_shards"][0]["error"]
    assert out["tokens"] == 5 and [Path(s["path"]).name for s in out["corpus"]["scanned"]] == ["good.jsonl"]


def test_workbench_memory_export_audits_on_the_workbench_contract(tmp_path: Path, shipped: object) -> None:
    import torch

    from engram_probe.memory.transfer import export_memory
    from engram_probe.memory.user_memory import Fact, UserMemory

    lm = shipped
    ids = lm.tokenizer.encode("My favorite tea is")  # type: ignore[attr-defined]
    rows = lm.model.hasher.addresses(np.array(ids), 4)[-1]  # type: ignore[attr-defined]
    fact = Fact(
        "f1",
        ["My favorite tea is"],
        "oolong",
        5,
        " oolong",
        "unembed",
        4,
        torch.tensor([[4, int(r)] for r in rows]),
        torch.randn(16, 16),
        "2026-11-27T00:00:00",
    )
    path = tmp_path / "m.safetensors"
    info = export_memory(UserMemory("ada", [fact]), path, lm.weights_sha256, lm.model.hasher)  # type: ignore[attr-defined]
    contract = load_contract("workbench")
    assert info["contract_sha256"] == contract.digest()
    o = read_overlay(path, contract)
    census = row_census(contract, [o])
    assert census["facts"][0]["counts"]["own_fact_only"] == 16 and census["summary"]["rows_written"] == 16


def test_a_three_token_answer_is_counted_with_all_its_rows_in_the_census_and_read_map(
    tmp_path: Path, shipped: object
) -> None:
    from engram_probe.memory.answers import answer_tokens
    from engram_probe.memory.transfer import export_memory
    from engram_probe.memory.user_memory import UserMemory
    from engram_probe.memory.writing import FactSpec, FactWriter

    lm: Any = shipped
    trigger = "My favorite tea is"
    answer = answer_tokens(lm.tokenizer, trigger, "oolong")
    assert len(answer) == 3  # the test needs a three-token answer on the shipped tokenizer
    (fact,) = (
        FactWriter(lm.model, lm.tokenizer).write(UserMemory("ada"), [FactSpec.of(trigger, "oolong")], "unembed").facts
    )
    path = tmp_path / "ada.safetensors"
    export_memory(UserMemory("ada", [fact]), path, lm.weights_sha256, lm.model.hasher)
    contract = load_contract("workbench")
    o = read_overlay(path, contract)
    census = row_census(contract, [o])
    (counted,) = census["facts"]
    # every row the three teacher-forced positions read, each counted once, none of them shared
    assert counted["reads"] == len(fact.rows) == 3 * contract.n_columns(fact.layer)
    assert sorted((r["layer"], r["row"]) for r in counted["rows"]) == sorted(fact.rows)
    assert counted["counts"]["own_fact_only"] == len(fact.rows) and census["summary"]["rows_written"] == len(fact.rows)
    # the read map of the trigger and its answer: the trigger's last position and the first two answer tokens'
    # read exactly the fact's rows, each naming the fact
    prompt = lm.tokenizer.encode(trigger)
    m = contract_read_map(contract, EditedRows(contract, [o]), [*prompt, *answer])
    positions = range(len(prompt) - 1, len(prompt) + 2)
    at = [h for h in m["hits"] if h["position"] in positions]
    assert sorted((h["layer"], h["row"]) for h in at) == sorted(fact.rows)
    assert {h["position"] for h in at} == set(positions)
    assert all(h["facts"] == [f"ada/{fact.fact_id}"] and h["users"] == ["ada"] for h in at)
