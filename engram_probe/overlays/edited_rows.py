"""The one index of edited rows: which rows the overlays write, per table, who writes each, which facts read it.

The forward audit's read map, the hash-only jobs (read map, census) and the corpus scan all look rows up here.
Addresses use one vocabulary everywhere: ``layer`` (the Engram layer, i.e. the table), ``column`` (0..heads-1
across all n-gram orders of that layer), ``order`` (the n-gram length), ``head`` (the head within its order) and
``row`` (the index into the layer's table).

Scan workers receive this index pickled: only row ids, owner indexes and names travel (flat integer arrays),
never the overlays or their values, so one index is cheap to ship to every worker of a cluster.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from engram_probe.contracts.base import AddressContract, Column, RowKey
from engram_probe.overlays.rowset import FactTrigger, OverlayRows

DENSE_MAX_ROWS = 1 << 24  # up to this many table rows, a slot map (4 B a row); above, a bitmap (1 bit a row)


@dataclass(frozen=True)
class FactRead:
    """One row a fact reads at one of its teacher-forced positions."""

    user: str
    fact_id: str
    layer: int
    column: int
    order: int
    head: int
    row: int
    ngram: tuple[int, ...]  # the hashed ids the column read, newest first
    answer_token: int = 0  # the answer token this read predicts: 0 at the trigger's last position, then 1, 2, …


@dataclass(frozen=True)
class EditedRead:
    """One read of an edited row: at ``position``, ``column`` of ``layer`` reads ``row``."""

    position: int
    layer: int
    column: Column
    row: int


def fact_reads(contract: AddressContract, fact: FactTrigger, layers: list[int]) -> list[FactRead]:
    """The rows the fact reads at its teacher-forced positions (the trigger's last, then each answer token's but the
    last: ``FactTrigger.continuation``), in each of ``layers`` (the fact's own, if it names them).

    A row read at several of those positions is listed once, at the first: the fact owns it once, as the writers do.
    """
    seq, positions = fact.continuation()
    ids = np.asarray(seq, dtype=np.int64)
    hashed = contract.hash_inputs(ids)
    out = []
    for layer in sorted(fact.layers if fact.layers is not None else layers):
        addr = contract.addresses(ids, layer)
        seen: set[int] = set()
        for k, at in enumerate(positions):
            for col in contract.columns(layer):
                row = int(addr[at, col.column])
                if row in seen:
                    continue
                seen.add(row)
                ngram = contract.ngram_from(hashed, at, col.order)
                out.append(FactRead(fact.user, fact.fact_id, layer, col.column, col.order, col.head, row, ngram, k))
    return out


@dataclass
class TableIndex:
    """One table's edited rows, sorted, with (slot, owner) pairs for facts and for users."""

    rows: np.ndarray  # [k] sorted unique edited rows
    fact_slot: np.ndarray  # [a] slot (index into rows) of each (row, fact) claim, unique pairs, sorted by slot
    fact_of: np.ndarray  # [a] fact index of that claim
    user_slot: np.ndarray  # [b] slot of each (row, writing user) pair, unique pairs
    user_of: np.ndarray  # [b] user index
    table_rows: int = 0

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_lookup", None)  # rebuilt where it is used: never shipped to workers
        return state

    def _table(self) -> np.ndarray:
        lookup = self.__dict__.get("_lookup")
        if lookup is None:
            if self.table_rows <= DENSE_MAX_ROWS:
                lookup = np.full(self.table_rows, -1, dtype=np.int32)
                lookup[self.rows] = np.arange(self.rows.size, dtype=np.int32)
            else:
                lookup = np.zeros(self.table_rows // 8 + 1, dtype=np.uint8)
                np.bitwise_or.at(lookup, self.rows >> 3, (1 << (self.rows & 7)).astype(np.uint8))
            self.__dict__["_lookup"] = lookup
        return lookup

    def slots(self, addresses: np.ndarray) -> np.ndarray:
        """Slot of each address in ``rows``, or -1 where the address is not an edited row (a corpus's worth).

        One gather per address: a dense slot map for small tables; for large ones a bitmap
        first, then a binary search for the few addresses that pass it."""
        if self.rows.size == 0:
            return np.full(addresses.shape, -1, dtype=np.int64)
        lookup = self._table()
        if lookup.dtype == np.int32:
            return lookup[addresses].astype(np.int64)
        maybe = ((lookup[addresses >> 3] >> (addresses & 7).astype(np.uint8)) & 1).astype(bool)
        out = np.full(addresses.shape, -1, dtype=np.int64)
        cand = addresses[maybe]
        out[maybe] = np.searchsorted(self.rows, cand)
        return out

    def hit_mask(self, addresses: np.ndarray) -> np.ndarray:
        """True where an address is an edited row (a few sequences' worth: a binary search, no lookup table)."""
        if self.rows.size == 0:
            return np.zeros(addresses.shape, dtype=bool)
        idx = np.searchsorted(self.rows, addresses).clip(max=self.rows.size - 1)
        return self.rows[idx] == addresses


def _unique_pairs(slots: list[int], owners: list[int]) -> tuple[np.ndarray, np.ndarray]:
    if not slots:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    pairs = np.unique(np.stack([np.asarray(slots, np.int64), np.asarray(owners, np.int64)], axis=1), axis=0)
    return pairs[:, 0].copy(), pairs[:, 1].copy()


class EditedRows:
    """Every row some overlay writes, per table: its writers, the facts that read it, and a lookup.

    ``users`` and ``facts`` (``user/fact``) are sorted; ``tables`` holds, per layer, the sorted rows and the
    owners as integer pairs. A fact's read of a row that no overlay writes is not an edited-row hit.
    """

    def __init__(self, contract: AddressContract, overlays: list[OverlayRows], bare_rows: Iterable[RowKey] = ()):
        """Index ``overlays``; ``bare_rows`` are edited rows with no writer or fact named (the forward audit's
        memories name their owners themselves)."""
        self.contract = contract
        self.overlays = overlays
        self.writers: dict[RowKey, list[str]] = {}
        for o in overlays:
            for layer, (rows, _) in o.layers.items():
                for r in rows.tolist():
                    self.writers.setdefault((layer, r), []).append(o.user)
        self.claims: dict[RowKey, list[FactRead]] = {}
        self.reads: dict[tuple[str, str], list[FactRead]] = {}
        names: set[str] = set()
        for o in overlays:
            for f in o.facts:
                names.add(f"{f.user}/{f.fact_id}")
                reads = fact_reads(contract, f, sorted(o.layers) or list(contract.layers))
                self.reads[(f.user, f.fact_id)] = reads
                for rd in reads:
                    self.claims.setdefault((rd.layer, rd.row), []).append(rd)
        self.users = sorted({o.user for o in overlays})
        self.facts = sorted(names)
        user_id = {u: i for i, u in enumerate(self.users)}
        fact_id = {f: i for i, f in enumerate(self.facts)}
        written: dict[int, dict[int, set[int]]] = {L: {} for L in contract.layers}
        for o in overlays:
            for layer in contract.layers:
                for r in o.rows(layer).tolist():
                    written[layer].setdefault(r, set()).add(user_id[o.user])
        for layer, r in bare_rows:
            written[layer].setdefault(int(r), set())
        claimed: dict[int, dict[int, set[int]]] = {}
        for (layer, row), claims in self.claims.items():
            names_here = {fact_id[f"{c.user}/{c.fact_id}"] for c in claims}
            claimed.setdefault(layer, {}).setdefault(row, set()).update(names_here)
        self.tables = {L: _table(contract, L, written[L], claimed.get(L, {})) for L in contract.layers}

    def __getstate__(self) -> dict[str, Any]:
        # what a scan worker needs: no overlays, values, reads or contract travel
        return {"users": self.users, "facts": self.facts, "tables": self.tables}

    @property
    def n_rows(self) -> int:
        return sum(t.rows.size for t in self.tables.values())

    def hit_mask(self, layer: int, addresses: np.ndarray) -> np.ndarray:
        """True where an address is an edited row of ``layer`` (any shape)."""
        table = self.tables.get(layer)
        return np.zeros(addresses.shape, dtype=bool) if table is None else table.hit_mask(addresses)

    def edited_reads(self, token_ids: np.ndarray) -> list[EditedRead]:
        """Every (position, layer, column) of one token sequence whose row is edited, in that order."""
        out = []
        for layer in self.contract.layers:
            addr = self.contract.addresses(token_ids, layer)
            cols = self.contract.columns(layer)
            for t, c in zip(*np.nonzero(self.hit_mask(layer, addr)), strict=True):
                out.append(EditedRead(int(t), layer, cols[int(c)], int(addr[t, c])))
        out.sort(key=lambda r: (r.position, r.layer, r.column.column))
        return out

    def owners(self, key: RowKey) -> tuple[list[str], list[str]]:
        """(users that write the row, 'user/fact' ids whose teacher-forced positions read it)."""
        return self.writers.get(key, []), [f"{c.user}/{c.fact_id}" for c in self.claims.get(key, [])]

    def digest(self) -> str:
        """SHA-256 of the index's content: what a resumed shard's saved counts must match."""
        h = hashlib.sha256()
        h.update("\0".join(self.users).encode())
        h.update(b"\1" + "\0".join(self.facts).encode())
        for layer in sorted(self.tables):
            t = self.tables[layer]
            h.update(f"\2{layer}".encode())
            for a in (t.rows, t.fact_slot, t.fact_of, t.user_slot, t.user_of):
                h.update(np.ascontiguousarray(a, dtype="<i8").tobytes())
        return h.hexdigest()


def _table(
    contract: AddressContract, layer: int, written: dict[int, set[int]], claimed: dict[int, set[int]]
) -> TableIndex:
    rows = np.array(sorted(written), dtype=np.int64)
    slot = {r: i for i, r in enumerate(rows.tolist())}
    fs, fo, us, uo = [], [], [], []
    for r, facts in claimed.items():
        if r in slot:
            for f in facts:
                fs.append(slot[r])
                fo.append(f)
    for r, users in written.items():
        for u in users:
            us.append(slot[r])
            uo.append(u)
    return TableIndex(rows, *_unique_pairs(fs, fo), *_unique_pairs(us, uo), table_rows=contract.table_rows(layer))
