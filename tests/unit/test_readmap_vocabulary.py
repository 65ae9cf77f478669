"""One address vocabulary in the audit's read map: layer, column, order, head within the order, row."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from engram_probe.audit.readmap import hit_in_format_1, read_map
from engram_probe.memory import MemoryOverlay, UserMemory
from engram_probe.memory.writing import FactSpec, FactWriter, WriteSettings
from engram_probe.overlays.edited_rows import EditedRows
from tests.helpers import tiny_lm

TEXT = "The cat sat on the mat. My name is Ada, and my name is Ada."


@pytest.fixture(scope="module")
def lm() -> Any:
    return tiny_lm(seed=4)


@pytest.fixture(scope="module")
def memory(lm: Any) -> UserMemory:
    res = FactWriter(lm.model, lm.tokenizer, WriteSettings(opt_steps=5)).write(
        UserMemory("alice"), [FactSpec.of("My name is", "Ada")], "opt"
    )
    return UserMemory("alice", res.facts)


def test_an_audit_hit_names_its_column_order_and_head_within_the_order_as_the_contract_does(
    lm: Any, memory: UserMemory
) -> None:
    contract = lm.model.hasher
    ids = lm.tokenizer.encode(TEXT)
    hits = read_map(contract, MemoryOverlay([memory]), ids)
    assert hits and any(h.head != h.column for h in hits)  # a column past the first order: the words differ
    for h in hits:
        col = contract.column_of_row(h.layer, h.row)
        assert (h.column, h.order, h.head) == (col.column, col.order, col.head)
        assert contract.addresses(np.asarray(ids), h.layer)[h.position, h.column] == h.row
        assert h.facts == (memory.facts[0].fact_id,) and h.users == ("alice",)


def test_the_audit_read_map_is_every_read_of_an_edited_row_the_index_finds(lm: Any, memory: UserMemory) -> None:
    contract = lm.model.hasher
    ids = np.asarray(lm.tokenizer.encode(TEXT))
    hits = read_map(contract, MemoryOverlay([memory]), ids)
    edited = set(memory.owners())
    brute = [
        (t, L, c)
        for t in range(ids.size)
        for L in contract.layers
        for c in range(len(contract.columns(L)))
        if (L, int(contract.addresses(ids, L)[t, c])) in edited
    ]
    assert [(h.position, h.layer, h.column) for h in hits] == brute
    index = EditedRows(contract, [], bare_rows=edited)
    assert [(r.position, r.layer, r.column.column, r.row) for r in index.edited_reads(ids)] == [
        (h.position, h.layer, h.column, h.row) for h in hits
    ]


def test_a_hit_in_format_1_says_head_for_the_column_as_old_reports_did(lm: Any, memory: UserMemory) -> None:
    hits = read_map(lm.model.hasher, MemoryOverlay([memory]), lm.tokenizer.encode(TEXT))
    for h in hits:
        old = hit_in_format_1(h.as_dict())
        assert set(old) == {"position", "layer", "head", "order", "row", "users", "facts"}
        assert old["head"] == h.column and old["order"] == h.order and old["row"] == h.row
