"""Conflicts, shared rows, failed recall, erase with its proof and history: the operations the CLI and the UI call.

On a tiny random model with a real store file: every figure comes from a real forward pass and a real ledger.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from engram_probe.memory.erasure import erase_with_proof, row_fates, user_history
from engram_probe.memory.operations import (
    ConflictError,
    is_recalled,
    open_store,
    write_facts,
    write_summary,
)
from engram_probe.memory.user_memory import Fact, UserMemory
from engram_probe.memory.writing import FactSpec, WriteSettings
from tests.helpers import tiny_lm

FAST = WriteSettings(opt_steps=8, opt_max_steps=0)


@pytest.fixture(scope="module")
def lm() -> Any:
    return tiny_lm(seed=5)


def write(lm: Any, store: Any, user: str, prompt: str, answer: str, **kw: Any) -> dict[str, Any]:
    kw.setdefault("strategy", "unembed")
    result, entry = write_facts(lm, store, user, [FactSpec.of(prompt, answer)], kw.pop("strategy"), "early", FAST, **kw)
    return write_summary(result, entry)


def test_a_second_answer_for_a_trigger_is_refused_unless_it_supersedes(tmp_path: Path, lm: Any) -> None:
    store = open_store(tmp_path / "m.db", lm)
    first = write(lm, store, "ann", "My favorite tea is", "sencha")
    before = store.snapshot()
    with pytest.raises(ConflictError) as err:
        write(lm, store, "ann", "My favorite tea is", "matcha")
    msg = str(err.value)
    assert first["fact_id"] in msg and "'sencha'" in msg and "supersede" in msg and "--" not in msg
    assert store.snapshot() == before  # refused before anything was written
    # another trigger of the same user, and the same trigger of another user, are no conflict
    write(lm, store, "ann", "My dog is", "Rex")
    write(lm, store, "bob", "My favorite tea is", "matcha")

    second = write(lm, store, "ann", "My favorite tea is", "matcha", supersede=True)
    facts = store.load("ann").facts
    assert [f.answer for f in facts] == ["Rex", "matcha"]
    erase, wrote = store.ledger("ann")[-2:]
    assert (erase.action, erase.fact_ids) == ("erase_facts", [first["fact_id"]])
    assert (wrote.action, wrote.fact_ids) == ("write", [second["fact_id"]])
    assert wrote.detail == {"supersedes": [first["fact_id"]]}
    assert wrote.digest_before == erase.digest_after
    assert second["superseded"]["ledger"]["seq"] == erase.seq
    assert second["superseded"]["facts"] == [
        {"trigger": "My favorite tea is", "fact_id": first["fact_id"], "answer": "sencha"}
    ]
    assert store.verify_ledger() == []


def test_two_answers_for_one_trigger_in_one_write_are_refused(tmp_path: Path, lm: Any) -> None:
    store = open_store(tmp_path / "m.db", lm)
    specs = [FactSpec.of("My tea is", "oolong"), FactSpec.of("My tea is", "sencha")]
    with pytest.raises(ValueError, match="two facts of this write"):
        write_facts(lm, store, "ann", specs, "unembed", "early", FAST)
    assert store.user_ids() == []


def test_rows_shared_with_another_user_are_named_by_content(tmp_path: Path, lm: Any) -> None:
    store = open_store(tmp_path / "m.db", lm)
    a = write(lm, store, "ann", "My favorite tea is", "oolong")
    b = write(lm, store, "bob", "My favorite tea is", "oolong")  # the same fact: every row is read the same way
    assert a["shared_with_other_users"] == []
    (shared,) = b["shared_with_other_users"]
    assert (shared["user"], shared["other_fact_id"], shared["fact_id"]) == ("ann", a["fact_id"], b["fact_id"])
    assert sorted((r["layer"], r["row"]) for r in shared["rows"]) == sorted(map(tuple, a["facts"][0]["rows"]))
    assert shared["by_content"] == len(shared["rows"]) and shared["by_hash_collision"] == 0
    assert b["facts"][0]["shared_with_other_users"] == [shared]


def test_a_hash_collision_is_told_apart_from_shared_content(tmp_path: Path, lm: Any) -> None:
    store = open_store(tmp_path / "m.db", lm)
    a = write(lm, store, "ann", "My favorite tea is", "oolong")
    own = {tuple(r) for r in a["facts"][0]["rows"]}
    layer = next(iter(own))[0]
    # a trigger of different words whose last position lands on one of ann's rows through another n-gram
    words = [
        "cat",
        "dog",
        "sun",
        "sea",
        "red",
        "tree",
        "blue",
        "moon",
        "star",
        "rain",
        "wind",
        "fire",
        "snow",
        "leaf",
        "rock",
        "milk",
    ]
    hit = None
    for w1 in words:
        for w2 in words:
            ids = lm.tokenizer.encode(f"The {w1} {w2}")
            addr = lm.model.hasher.addresses(torch.tensor(ids).numpy(), layer)[-1]
            if any((layer, int(r)) in own for r in addr) and "tea" not in (w1, w2):
                hit = f"The {w1} {w2}"
                break
        if hit:
            break
    assert hit, "the tiny model's small tables should give a collision among these triggers"
    b = write(lm, store, "bob", hit, "cake")
    (shared,) = b["shared_with_other_users"]
    assert shared["by_hash_collision"] >= 1 and shared["by_content"] == 0
    assert {r["sharing"] for r in shared["rows"]} == {"hash collision"}


def test_a_write_that_is_not_recalled_says_so_with_its_rank(tmp_path: Path, lm: Any) -> None:
    store = open_store(tmp_path / "m.db", lm)
    result, entry = write_facts(
        lm, store, "ann", [FactSpec.of("My name is", "Ada")], "unembed", "early", WriteSettings(scale=0.0)
    )
    out = write_summary(result, entry)
    rank = out["recall"]["rank_after"]
    assert rank > 1 and out["recalled"] is False and out["facts"][0]["recalled"] is False
    # the rule: top-1 and, where whole-answer generation is measured, the whole answer
    assert is_recalled({"rank": 1}) and is_recalled({"rank": 1, "exact": True})
    assert not is_recalled({"rank": 1, "exact": False}) and not is_recalled({"rank": 2})
    result.recall_after[0] |= {"rank": 1, "exact": False, "generated": " Ad"}
    out = write_summary(result, entry)
    assert out["recalled"] is False and out["recall"]["generated"] == " Ad"


def test_erase_with_proof_is_bit_exact_and_not_vacuous(tmp_path: Path, lm: Any) -> None:
    store = open_store(tmp_path / "m.db", lm)
    first = write(lm, store, "ann", "My name is", "Ada")
    second = write(lm, store, "ann", "Surname is", "Ada")
    shared = {tuple(r) for r in first["facts"][0]["rows"]} & {tuple(r) for r in second["facts"][0]["rows"]}
    assert shared, "the two triggers share their 2-gram rows"
    assert len(shared) < len(second["facts"][0]["rows"]), "and not their 3-gram rows"
    entry, proof = erase_with_proof(lm, store, "ann", [second["fact_id"]], operator="tester")
    assert entry.action == "erase_facts" and entry.operator == "tester"
    assert proof["bit_exact"] is True and proof["erased"] == [second["fact_id"]]
    kept = [r for r in proof["rows"] if r["now"] == "remaining fact"]
    assert {(r["layer"], r["row"]) for r in kept} == shared and {r["kept_by"] for r in kept} == {first["fact_id"]}
    assert proof["rows_to_shared_table"] == len(second["facts"][0]["rows"]) - len(shared)
    (fwd,) = proof["forwards"]
    assert fwd["identical"] and fwd["changed_before_erase"] and fwd["values_compared"] > 0
    assert proof["digests"]["after"] == proof["digests"]["without_the_facts"] == entry.digest_after

    _, whole = erase_with_proof(lm, store, "ann")
    assert whole["bit_exact"] is True and not store.has_user("ann")
    assert whole["digests"]["after"] == "empty" and whole["rows_kept_by_remaining_facts"] == 0


def test_the_row_check_fails_when_a_remaining_value_is_not_the_owner_s(lm: Any) -> None:
    rows = torch.tensor([[1, 3], [1, 4]])
    owner = Fact("keep", ["a"], "b", 1, " b", "unembed", 1, rows, torch.ones(2, 4), "2026-01-01T00:00:00+00:00")
    gone = Fact("gone", ["c"], "d", 1, " d", "unembed", 1, rows[:1], torch.zeros(1, 4), "2026-01-01T00:00:00+00:00")
    later = Fact("later", ["e"], "f", 1, " f", "unembed", 1, rows[1:], torch.full((1, 4), 2.0), "2026-01-01T00:00:01")
    fates = row_fates([gone], UserMemory("u", [owner, later]))
    assert fates == [{"layer": 1, "row": 3, "now": "remaining fact", "kept_by": "keep", "bit_exact": True}]
    # a row map that does not hold the latest owner's bytes is named
    tampered = UserMemory("u", [owner])
    tampered.row_map = lambda: {(1, 3): torch.full((4,), 9.0)}  # type: ignore[method-assign]
    assert row_fates([gone], tampered)[0]["bit_exact"] is False


def test_history_lists_who_did_what_with_digests(tmp_path: Path, lm: Any) -> None:
    store = open_store(tmp_path / "m.db", lm)
    first = write(lm, store, "ann", "My tea is", "sencha", operator="alice")
    second = write(lm, store, "ann", "My tea is", "matcha", operator="alice", supersede=True)
    store.record_read("ann", "carol", "audit")
    erase_with_proof(lm, store, "ann", [second["fact_id"]], operator="bob")
    h = user_history(store, "ann")
    assert [e["action"] for e in h["entries"]] == ["write", "erase_facts", "write", "erase_facts"]
    assert h["reads_hidden"] == 1
    words = [e["what"] for e in h["entries"]]
    assert words[0] == f"alice wrote 1 fact: {first['fact_id']}"
    assert words[2] == f"alice wrote 1 fact: {second['fact_id']}, replacing {first['fact_id']}"
    assert words[3] == f"bob erased 1 fact: {second['fact_id']}"
    chain = [(e["digest_before"], e["digest_after"]) for e in h["entries"]]
    assert all(a[1] == b[0] for a, b in zip(chain, chain[1:], strict=False))
    assert h["facts"] == [] and h["digest"] == "empty" and h["problems"] == []
    with_reads = user_history(store, "ann", reads=True)
    assert "carol read the memory (audit)" in [e["what"] for e in with_reads["entries"]]
    with pytest.raises(ValueError, match="no ledger entries"):
        user_history(store, "nobody")
