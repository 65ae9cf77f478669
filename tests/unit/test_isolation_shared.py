"""The shared table: refuse names the users, facts and rows; last write wins; shared rows by content or collision."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from engram_probe.isolation.shared import COLLISION, CONTENT, MergeRefused, merge
from engram_probe.memory import Fact, UserMemory
from engram_probe.memory.answers import teacher_forced
from tests.helpers import tiny_lm

LAYER = 2


@pytest.fixture(scope="module")
def lm() -> Any:
    return tiny_lm(seed=1)


def read_fact(lm: Any, fact_id: str, trigger: str, answer: str, seed: int) -> Fact:
    """A fact that owns exactly the rows its teacher-forced positions read in one layer, with random values."""
    prompt = lm.tokenizer.encode(trigger)
    answer_ids = lm.tokenizer.encode(" " + answer, bos=False)
    seq, positions = teacher_forced(prompt, answer_ids)
    addr = lm.model.hasher.addresses(np.asarray(seq, dtype=np.int64), LAYER)[positions]
    rows = sorted(set(addr.ravel().tolist()))
    dim = lm.model.engram_module(LAYER).table.weight.shape[1]
    gen = torch.Generator().manual_seed(seed)
    return Fact(
        fact_id=fact_id,
        triggers=[trigger],
        answer=answer,
        gold_token_id=answer_ids[0],
        gold_token=lm.tokenizer.token_text(answer_ids[0]),
        answer_token_ids=answer_ids,
        strategy="unembed",
        layer=LAYER,
        row_ids=torch.tensor([[LAYER, r] for r in rows], dtype=torch.int64),
        values=torch.randn(len(rows), dim, generator=gen),
        written_at="2026-01-01T00:00:00+00:00",
    )


def test_refuse_names_the_users_their_facts_and_the_rows(lm: Any) -> None:
    a = UserMemory("alice", [read_fact(lm, "name", "My name is", "Ada", 1)])
    b = UserMemory("bob", [read_fact(lm, "who", "My name is", "Rex", 2)])
    with pytest.raises(MergeRefused) as err:
        merge(lm, [a, b], "refuse")
    text = str(err.value)
    shared = sorted(set(a.facts[0].rows) & set(b.facts[0].rows))
    assert shared, "the same trigger reads the same rows"
    assert f"{len(shared):,} rows are written by more than one user (alice, bob)" in text
    layer, row = shared[0]
    assert f"row {row:,} of layer {layer} is written by alice (facts name); bob (facts who)" in text
    with pytest.raises(ValueError, match="merge policy must be one of refuse, last-write-wins"):
        merge(lm, [a, b], "salted")


def test_the_same_trigger_is_shared_by_content_and_the_user_listed_last_wins(lm: Any) -> None:
    fa, fb = read_fact(lm, "name", "My name is", "Ada", 1), read_fact(lm, "who", "My name is", "Rex", 2)
    table = merge(lm, [UserMemory("alice", [fa]), UserMemory("bob", [fb])], "last-write-wins")
    shared = set(fa.rows) & set(fb.rows)
    assert {(r.layer, r.row) for r in table.shared} == shared
    assert {r.sharing for r in table.shared} == {CONTENT}
    assert {r.winner for r in table.shared} == {"bob"}
    summary = table.summary()
    assert summary["by_content"] == len(shared) and summary["by_hash_collision"] == 0
    texts = {(g["user"], g["text"]) for g in summary["shared_rows"][0]["ngrams"]}
    assert {u for u, _ in texts} == {"alice", "bob"} and len({t for _, t in texts}) == 1
    # the merged table holds bob's value on every shared row, alice's on the rows only she writes
    ids, vals = table.overlay.layers[LAYER]
    where = {int(r): i for i, r in enumerate(ids.tolist())}
    b_vals = dict(zip(fb.rows, fb.values, strict=True))
    a_vals = dict(zip(fa.rows, fa.values, strict=True))
    for key in shared:
        assert torch.equal(vals[where[key[1]]], b_vals[key])
    for key in set(fa.rows) - shared:
        assert torch.equal(vals[where[key[1]]], a_vals[key])
    again = merge(lm, [UserMemory("bob", [fb]), UserMemory("alice", [fa])], "last-write-wins")
    assert {r.winner for r in again.shared} == {"alice"} and again.digest() != table.digest()
    assert merge(lm, [UserMemory("alice", [fa]), UserMemory("bob", [fb])], "last-write-wins").digest() == table.digest()


def colliding_triggers(lm: Any) -> tuple[str, str]:
    """Two different triggers whose last positions read one row of the layer through different n-grams."""
    words = ["name", "dog", "cat", "mat", "park", "day", "city", "work", "color", "born", "live", "sat", "sang"]
    prompts = [f"My {w} is" if i % 2 else f"The {w} was" for i, w in enumerate(words)]
    prompts += [f"I like the {w}" for w in words]
    seen: dict[int, str] = {}
    for p in prompts:
        ids = np.asarray(lm.tokenizer.encode(p), dtype=np.int64)
        for row in lm.model.hasher.addresses(ids, LAYER)[-1].tolist():
            other = seen.get(row)
            if other is not None and other.split()[-2:] != p.split()[-2:]:
                return other, p
            seen[row] = p
    raise AssertionError("no two triggers collide")


def test_different_triggers_on_one_row_are_a_hash_collision(lm: Any) -> None:
    first, second = colliding_triggers(lm)
    fa, fb = read_fact(lm, "f1", first, "Ada", 1), read_fact(lm, "f2", second, "Rex", 2)
    table = merge(lm, [UserMemory("alice", [fa]), UserMemory("bob", [fb])], "last-write-wins")
    collided = [r for r in table.shared if r.sharing == COLLISION]
    assert collided, [r.sharing for r in table.shared]
    r = collided[0]
    by_user = {w.user: w for w in r.windows}
    assert set(by_user) == {"alice", "bob"} and by_user["alice"].hashed != by_user["bob"].hashed
    assert r.owners == (("alice", ("f1",)), ("bob", ("f2",)))


def test_disjoint_users_share_no_row(lm: Any) -> None:
    memories = [
        UserMemory(u, [read_fact(lm, "f", t, "Ada", i)])
        for i, (u, t) in enumerate(zip(("alice", "bob"), ("My dog is", "I work at"), strict=True))
    ]
    rows = [set(m.facts[0].rows) for m in memories]
    if rows[0] & rows[1]:
        pytest.fail("the fixture's two triggers were meant to be disjoint")
    table = merge(lm, memories, "refuse")
    assert table.shared == [] and table.summary()["rows"] == len(rows[0]) + len(rows[1])
    assert table.users == ["alice", "bob"]
