"""Who claims which row: the rows each fact's trigger reads, and a sorted index of every edited row."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engram_probe.contracts.base import AddressContract
from engram_probe.overlays.rowset import FactTrigger, RowOverlay

RowKey = tuple[int, int]  # (table/layer, row)


@dataclass(frozen=True)
class FactRead:
    """One row a fact's trigger reads at its last position."""

    user: str
    fact_id: str
    layer: int
    column: int
    order: int
    head: int
    row: int
    ngram: tuple[int, ...]  # the hashed ids the column read, newest first


def fact_reads(contract: AddressContract, fact: FactTrigger, layers: list[int]) -> list[FactRead]:
    """The rows read at the trigger's last position, in each of ``layers`` (the fact's own, if it names them)."""
    ids = np.asarray(fact.trigger_ids, dtype=np.int64)
    last = len(ids) - 1
    hashed = contract.hash_inputs(ids)
    out = []
    for layer in sorted(fact.layers if fact.layers is not None else layers):
        rows = contract.addresses(ids, layer)[last]
        for col in contract.columns(layer):
            out.append(
                FactRead(
                    fact.user,
                    fact.fact_id,
                    layer,
                    col.column,
                    col.order,
                    col.head,
                    int(rows[col.column]),
                    contract.ngram_from(hashed, last, col.order),
                )
            )
    return out


class EditedRows:
    """Every row that any overlay writes, per table, sorted for vectorised membership tests."""

    def __init__(self, contract: AddressContract, overlays: list[RowOverlay]):
        self.contract = contract
        self.overlays = overlays
        self.writers: dict[RowKey, list[str]] = {}
        for o in overlays:
            for layer, (rows, _) in o.layers.items():
                for r in rows.tolist():
                    self.writers.setdefault((layer, r), []).append(o.user)
        self.claims: dict[RowKey, list[FactRead]] = {}
        self.reads: dict[tuple[str, str], list[FactRead]] = {}
        for o in overlays:
            for f in o.facts:
                reads = fact_reads(contract, f, sorted(o.layers) or list(contract.layers))
                self.reads[(f.user, f.fact_id)] = reads
                for rd in reads:
                    self.claims.setdefault((rd.layer, rd.row), []).append(rd)
        self.sorted_rows = {
            layer: np.array(sorted(r for (L, r) in self.writers if layer == L), dtype=np.int64)
            for layer in contract.layers
        }

    def hit_mask(self, layer: int, addresses: np.ndarray) -> np.ndarray:
        """True where an address is an edited row of ``layer`` (any shape)."""
        rows = self.sorted_rows.get(layer)
        if rows is None or rows.size == 0:
            return np.zeros(addresses.shape, dtype=bool)
        idx = np.searchsorted(rows, addresses).clip(max=rows.size - 1)
        return rows[idx] == addresses

    def owners(self, key: RowKey) -> tuple[list[str], list[str]]:
        """(users that write the row, 'user/fact' ids whose trigger reads it)."""
        return self.writers.get(key, []), [f"{c.user}/{c.fact_id}" for c in self.claims.get(key, [])]
