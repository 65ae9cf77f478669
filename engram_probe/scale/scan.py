"""Blast-radius scan of sharded corpora (hash only): which positions read a row some overlay writes.

The map step tokenises, addresses and looks up each shard (:mod:`.scan_map`); the reduce step sums
the shards' counts (:mod:`.counts`). In-process and on Dask give the same report, hit for hit.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from engram_probe.contracts.base import AddressContract
from engram_probe.overlays.edited_rows import EditedRows
from engram_probe.overlays.rowset import OverlayRows
from engram_probe.scale.counts import EXAMPLE_FIELDS, ScanCounts
from engram_probe.scale.engine import Placement, Progress, run_shards
from engram_probe.scale.scan_map import ShardScanner
from engram_probe.scale.shards import Shard, find_shards

MAX_ROWS_LISTED = 1000
RULE = (
    "a hit is one (position, table, column) read of a row some overlay writes; a position is hit when any of its "
    "reads is; a fact's hits are reads of the rows its trigger reads; a user's hits are reads of the rows their "
    "overlay writes; computed from the address contract alone, with no forward pass"
)
SAMPLE_RULE = (
    "per fact, the k hits with the smallest 63-bit mix of (shard file name, line, position, table, column): a "
    "deterministic sample that is the same however the shards are split or scheduled"
)


class ScanTask:
    """The picklable map function: a shard in, its counts as JSON out (one scanner per worker)."""

    def __init__(self, contract: AddressContract, index: EditedRows, examples: int):
        self.contract, self.index, self.examples = contract, index, examples
        self._scanner: ShardScanner | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"contract": self.contract, "index": self.index, "examples": self.examples, "_scanner": None}

    def __call__(self, shard: Shard, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
        if self._scanner is None:
            self._scanner = ShardScanner(self.contract, self.index, self.examples)
        return self._scanner.scan(shard, progress).to_json()


def job_digest(contract: AddressContract, index: EditedRows, examples: int) -> str:
    """What a saved shard result depends on: the contract, the edited rows and owners, the sample size."""
    return hashlib.sha256(f"scan/1\0{contract.digest()}\0{index.digest()}\0{examples}".encode()).hexdigest()


def scan_shards(
    contract: AddressContract,
    overlays: list[OverlayRows],
    corpus: list[str | Path],
    place: Placement = Placement(),
    resume: str | Path | None = None,
    progress: Progress | None = None,
    examples: int = 5,
) -> dict[str, Any]:
    """Scan every shard of ``corpus`` (files or folders) for reads of the overlays' rows; the report."""
    if not overlays:
        raise ValueError("a scan needs at least one overlay")
    if examples < 0:
        raise ValueError("--examples must be 0 or more")
    shards = find_shards(list(corpus))
    index = EditedRows(contract, overlays)
    digest = job_digest(contract, index, examples)
    t0 = time.perf_counter()
    outcomes = run_shards(ScanTask(contract, index, examples), shards, digest, place, resume, progress)
    seconds = time.perf_counter() - t0
    total = ScanCounts(
        row_hits={L: np.zeros_like(t.rows) for L, t in index.tables.items()},
        fact_hits=None,
        user_hits=None,
    )
    for o in outcomes:
        if o.result is not None:
            total = total.merge(ScanCounts.from_json(o.result), examples)
    return _report(contract, overlays, index, shards, outcomes, total, place, digest, seconds, examples)


def _report(contract, overlays, index, shards, outcomes, total, place, digest, seconds, examples) -> dict[str, Any]:  # noqa: ANN001
    facts = [
        {
            "fact": name,
            "hits": 0 if total.fact_hits is None else int(total.fact_hits[i]),
            "examples": [dict(zip(EXAMPLE_FIELDS[1:], e[1:], strict=True)) for e in total.examples.get(i, [])],
        }
        for i, name in enumerate(index.facts)
    ]
    facts.sort(key=lambda f: (-f["hits"], f["fact"]))
    rows = [
        {"layer": L, "row": int(r), "hits": int(n)}
        for L, t in sorted(index.tables.items())
        for r, n in zip(t.rows.tolist(), total.row_hits.get(L, np.zeros_like(t.rows)).tolist(), strict=True)
        if n
    ]
    rows.sort(key=lambda r: (-r["hits"], r["layer"], r["row"]))
    users = [
        {"user": u, "hits": 0 if total.user_hits is None else int(total.user_hits[i])}
        for i, u in enumerate(index.users)
    ]
    failed = [  # "line": a line or row number; "where" says which, or names the row group
        {
            "path": o.shard.path,
            "line": None if o.error.unit == "row group" else o.error.line,
            "where": o.error.where,
            "error": o.error.reason,
        }
        for o in outcomes
        if o.error is not None
    ]
    return {
        "contract": contract.reference(),
        "overlays": [o.summary() for o in overlays],
        "corpus": {
            "shards": len(shards),
            "bytes": sum(s.size for s in shards),
            "scanned": [
                {"path": o.shard.path, "bytes": o.shard.size, "resumed": o.resumed} for o in outcomes if o.result
            ],
            "sequences": total.sequences,
        },
        "failed_shards": failed,
        "tokens": total.tokens,
        "positions_hit": total.positions_hit,
        "fraction_hit": total.positions_hit / total.tokens if total.tokens else 0.0,
        "facts": facts,
        "users": users,
        "rows": rows[:MAX_ROWS_LISTED],
        "rows_hit": len(rows),
        "rule": RULE,
        "examples_rule": SAMPLE_RULE.replace("the k hits", f"the {examples} hits"),
        "job": {"digest": digest, "placement": place.describe(), "seconds": round(seconds, 3)},
    }
