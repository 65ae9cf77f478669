"""The isolation proof: holds for disjoint users, names the first colliding position, and catches a leaky merge."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import torch

from engram_probe.isolation.prove import FAILS, HOLDS, SCOPED, prove
from engram_probe.isolation.shared import merge
from engram_probe.memory import UserMemory
from engram_probe.memory.overlay import MemoryOverlay
from tests.helpers import random_fact, tiny_lm
from tests.unit.test_isolation_shared import LAYER, read_fact

TEXT = "My name is Ada Lovelace. I live in Lisbon."
K = 7  # the position of TEXT where alice's row is read


@pytest.fixture(scope="module")
def lm() -> Any:
    return tiny_lm(seed=1)


def addresses(lm: Any, text: str) -> dict[int, torch.Tensor]:
    return lm.model.engram_addresses(torch.tensor([lm.tokenizer.encode(text)]))


def unread_rows(lm: Any, text: str, n: int) -> list[int]:
    """Rows of the layer that no position of ``text`` reads in it."""
    read = set(addresses(lm, text)[LAYER].flatten().tolist())
    return [r for r in range(lm.model.hasher.table_rows(LAYER)) if r not in read][:n]


def dim(lm: Any) -> int:
    return int(lm.model.engram_module(LAYER).table.weight.shape[1])


def colliding_row(lm: Any, text: str, k: int) -> tuple[int, int]:
    """(column, row) of a row that position ``k`` of ``text`` reads and no earlier position does."""
    addr = addresses(lm, text)[LAYER][0]
    before = set(addr[:k].flatten().tolist())
    column = next(c for c in range(addr.shape[1]) if int(addr[k, c]) not in before)
    return column, int(addr[k, column])


def test_disjoint_users_are_independent_at_every_position_measured_bit_for_bit(lm: Any) -> None:
    bob = UserMemory("bob", [read_fact(lm, "name", "My name is", "Ada", 2)])
    alice_rows = [r for r in unread_rows(lm, "My name is Ada", 40) if (LAYER, r) not in set(bob.facts[0].rows)][:20]
    alice = UserMemory("alice", [random_fact("f", LAYER, alice_rows, dim(lm), 1)])
    result = prove(merge(lm, [alice, bob], "refuse"), "bob")
    (probe,) = result["probes"]
    n = probe["positions"]
    assert probe["status"] == HOLDS and probe["first_foreign_read"] is None and probe["reads"] == []
    assert probe["independent_positions"] == n and probe["movement"] == []
    assert probe["proof"]["identical"] and probe["proof"]["pairs_compared"] == n * len(lm.model.hook_dict)
    assert probe["verdict"] == (
        f"bob's outputs are provably independent of every other user's data at every position (0..{n - 1})"
    )
    assert result["summary"]["status"] == HOLDS
    # not vacuous: bob's own rows change his outputs (both sides of the proof carry them)
    tokens = torch.tensor([list(probe["probe"]["token_ids"])])
    bare, own = lm.model(tokens), lm.model(tokens, overlay=MemoryOverlay([bob]))
    assert not torch.equal(bare[0, -1], own[0, -1])


def test_a_colliding_row_is_named_at_its_position_and_nothing_before_it_moves(lm: Any) -> None:
    column, row = colliding_row(lm, TEXT, K)
    alice = UserMemory("alice", [random_fact("dentist", LAYER, [row], dim(lm), 1)])
    bob = UserMemory("bob", [random_fact("own", LAYER, unread_rows(lm, TEXT, 3), dim(lm), 2)])
    result = prove(merge(lm, [alice, bob], "last-write-wins"), "bob", [TEXT])
    (probe,) = result["probes"]
    assert probe["status"] == SCOPED and probe["first_foreign_read"] == K == probe["independent_positions"]
    assert probe["proof"]["identical"] and probe["proof"]["pairs_compared"] == K * len(lm.model.hook_dict)
    read = probe["reads"][0]
    order = lm.model.hasher.columns(LAYER)[column].order
    window = lm.tokenizer.encode(TEXT)[K - order + 1 : K + 1]
    assert (read["position"], read["layer"], read["row"], read["user"], read["facts"]) == (
        K,
        LAYER,
        row,
        "alice",
        ["dentist"],
    )
    assert read["ngram"] == {"tokens": window, "text": lm.tokenizer.decode(window)}
    assert probe["verdict"].startswith(
        f"bob's outputs at positions 0..{K - 1} are provably independent of every other user's data; "
        f"position {K} reads alice's row {row:,} of layer {LAYER}"
    )
    moved = probe["movement"][0]
    assert moved["position"] == K and not moved["identical"] and moved["total_variation"] > 0
    assert [m["position"] for m in probe["movement"]] == list(range(K, probe["positions"]))


class LeakyShared(MemoryOverlay):
    """A broken merge: it serves the users' rows and also nudges position 1, which reads no row it lists."""

    def substitute(self, layer: int, addresses: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        out = super().substitute(layer, addresses, rows).clone()
        out[:, 1] = out[:, 1] + 1e-3
        return out


def test_a_leaky_merge_is_not_independent_and_the_proof_names_the_hook_and_position(lm: Any) -> None:
    _, row = colliding_row(lm, TEXT, K)
    alice = UserMemory("alice", [random_fact("f", LAYER, [row], dim(lm), 1)])
    bob = UserMemory("bob", [random_fact("own", LAYER, unread_rows(lm, TEXT, 2), dim(lm), 2)])
    honest = merge(lm, [alice, bob], "last-write-wins")
    leaky = dataclasses.replace(honest, overlay=LeakyShared([alice, bob]), _windows={})
    result = prove(leaky, "bob", [TEXT])
    (probe,) = result["probes"]
    assert probe["status"] == FAILS and result["summary"]["status"] == FAILS
    assert not probe["proof"]["identical"] and probe["independent_positions"] is None
    first = probe["proof"]["mismatches"][0]
    assert first["position"] == 1
    assert {m["position"] for m in probe["proof"]["mismatches"]} <= set(range(1, K))
    assert probe["verdict"].startswith(
        f"bob's outputs are NOT provably independent of other users' data: hook {first['hook']} at position 1 differs"
    )


def test_a_user_the_table_does_not_hold_is_refused_by_name(lm: Any) -> None:
    table = merge(lm, [UserMemory("alice", [random_fact("f", LAYER, [1], dim(lm), 1)])], "refuse")
    with pytest.raises(KeyError, match="no user 'carol'; its users are alice"):
        prove(table, "carol", [TEXT])
