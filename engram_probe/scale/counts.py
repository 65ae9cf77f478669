"""What one shard's scan yields, and how shards' results merge (the reduce step).

Counts are integer sums, so merging is exact in any order. Drill-down examples are a bottom-k
sample under a hash of (shard, line, position, table, column): the k smallest keys of a union are
the k smallest of the parts' k smallest, so the sample is also the same in any order or partition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

EXAMPLE_FIELDS = ("key", "shard", "line", "position", "layer", "column", "row")


def sample_keys(
    shard_seed: int, lines: np.ndarray, positions: np.ndarray, layer: int, columns: np.ndarray
) -> np.ndarray:
    """A 64-bit mixing hash (splitmix64 finaliser) of each hit's coordinates: the sampling order."""
    with np.errstate(over="ignore"):
        x = (
            np.uint64(shard_seed) * np.uint64(0x9E3779B97F4A7C15)
            ^ lines.astype(np.uint64) * np.uint64(0xBF58476D1CE4E5B9)
            ^ positions.astype(np.uint64) * np.uint64(0x94D049BB133111EB)
            ^ np.uint64(layer) << np.uint64(48)
            ^ columns.astype(np.uint64)
        )
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x >> np.uint64(1)  # 63 bits: fits int64 and JSON numbers exactly as Python ints


@dataclass
class ScanCounts:
    """Hit counts of one or more shards, against one :class:`~engram_probe.overlays.edited_rows.EditedRows`."""

    tokens: int = 0
    sequences: int = 0
    positions_hit: int = 0
    row_hits: dict[int, np.ndarray] = field(default_factory=dict)  # layer -> [k] hits per slot
    fact_hits: np.ndarray | None = None  # [n facts]
    user_hits: np.ndarray | None = None  # [n users]: reads of a row the user writes
    examples: dict[int, list[tuple[int, ...]]] = field(default_factory=dict)  # fact -> bottom-k EXAMPLE_FIELDS
    shards: list[str] = field(default_factory=list)

    def merge(self, other: ScanCounts, k: int) -> ScanCounts:
        """The counts of both (commutative and associative; ``k`` caps examples per fact)."""
        out = ScanCounts(
            self.tokens + other.tokens,
            self.sequences + other.sequences,
            self.positions_hit + other.positions_hit,
            shards=sorted(self.shards + other.shards),
        )
        for layer in set(self.row_hits) | set(other.row_hits):
            if layer not in self.row_hits:
                out.row_hits[layer] = other.row_hits[layer].copy()
            elif layer not in other.row_hits:
                out.row_hits[layer] = self.row_hits[layer].copy()
            else:
                out.row_hits[layer] = self.row_hits[layer] + other.row_hits[layer]
        out.fact_hits = _add(self.fact_hits, other.fact_hits)
        out.user_hits = _add(self.user_hits, other.user_hits)
        for f in set(self.examples) | set(other.examples):
            both = self.examples.get(f, []) + other.examples.get(f, [])
            out.examples[f] = sorted(set(both))[:k]
        return out

    def to_json(self) -> dict[str, Any]:
        """A JSON form that :meth:`from_json` reads back exactly (what a finished shard saves)."""
        return {
            "tokens": self.tokens,
            "sequences": self.sequences,
            "positions_hit": self.positions_hit,
            "row_hits": {str(L): v.tolist() for L, v in self.row_hits.items()},
            "fact_hits": None if self.fact_hits is None else self.fact_hits.tolist(),
            "user_hits": None if self.user_hits is None else self.user_hits.tolist(),
            "examples": {str(f): [list(e) for e in ex] for f, ex in self.examples.items()},
            "shards": self.shards,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ScanCounts:
        return cls(
            d["tokens"],
            d["sequences"],
            d["positions_hit"],
            {int(L): np.asarray(v, dtype=np.int64) for L, v in d["row_hits"].items()},
            None if d["fact_hits"] is None else np.asarray(d["fact_hits"], dtype=np.int64),
            None if d["user_hits"] is None else np.asarray(d["user_hits"], dtype=np.int64),
            {int(f): [tuple(e) for e in ex] for f, ex in d["examples"].items()},
            list(d["shards"]),
        )


def _add(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return None if b is None else b.copy()
    return a.copy() if b is None else a + b
