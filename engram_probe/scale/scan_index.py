"""A compact, picklable index of edited rows for scans: sorted rows per table and who owns each.

Workers receive this, not the overlays: no row values travel, only row ids and ownership as
flat integer arrays (CSR form), so one index is cheap to ship to every worker of a cluster.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from engram_probe.contracts.base import AddressContract
from engram_probe.hashaudit.index import fact_reads
from engram_probe.overlays.rowset import RowOverlay

DENSE_MAX_ROWS = 1 << 24  # up to this many table rows, a slot map (4 B a row); above, a bitmap (1 bit a row)


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
        """Slot of each address in ``rows``, or -1 where the address is not an edited row.

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


def _unique_pairs(slots: list[int], owners: list[int]) -> tuple[np.ndarray, np.ndarray]:
    if not slots:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    pairs = np.unique(np.stack([np.asarray(slots, np.int64), np.asarray(owners, np.int64)], axis=1), axis=0)
    return pairs[:, 0].copy(), pairs[:, 1].copy()


class ScanIndex:
    """Every row some overlay writes, per table; facts (``user/fact``) and users by index."""

    def __init__(self, contract: AddressContract, overlays: list[RowOverlay]):
        self.users = sorted({o.user for o in overlays})
        user_id = {u: i for i, u in enumerate(self.users)}
        claims: dict[int, dict[int, set[str]]] = {}
        facts: set[str] = set()
        for o in overlays:
            for f in o.facts:
                name = f"{f.user}/{f.fact_id}"
                facts.add(name)
                for rd in fact_reads(contract, f, sorted(o.layers) or list(contract.layers)):
                    claims.setdefault(rd.layer, {}).setdefault(rd.row, set()).add(name)
        self.facts = sorted(facts)
        fact_id = {f: i for i, f in enumerate(self.facts)}
        self.tables: dict[int, TableIndex] = {}
        for layer in contract.layers:
            written: dict[int, set[int]] = {}
            for o in overlays:
                for r in o.rows(layer).tolist():
                    written.setdefault(r, set()).add(user_id[o.user])
            rows = np.array(sorted(written), dtype=np.int64)
            slot = {r: i for i, r in enumerate(rows.tolist())}
            fs, fo, us, uo = [], [], [], []
            for r, names in claims.get(layer, {}).items():
                if r in slot:  # a fact's read of an unwritten row is not an edited-row hit
                    for n in names:
                        fs.append(slot[r])
                        fo.append(fact_id[n])
            for r, owners in written.items():
                for u in owners:
                    us.append(slot[r])
                    uo.append(u)
            self.tables[layer] = TableIndex(
                rows, *_unique_pairs(fs, fo), *_unique_pairs(us, uo), table_rows=contract.table_rows(layer)
            )

    @property
    def n_rows(self) -> int:
        return sum(t.rows.size for t in self.tables.values())

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
