"""Row census of overlays: who owns each row, how each fact's rows are shared, and conflicts between users.

Sharing classes follow engraft-ngram's ``row_sharing``: a row a fact reads is ``own_fact_only``
(no other fact reads it), ``shared_by_content`` (another fact reads it through the same n-gram),
``shared_by_hash_collision`` (another fact reads it through a different n-gram), or ``both``.
A row the fact reads but its own overlay does not write is ``unwritten``, and one that another
overlay writes without saying for which fact is ``shared_unattributed``. Counts are exclusive.
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations
from pathlib import Path
from typing import Any, cast

import numpy as np

from engram_probe.contracts.base import AddressContract
from engram_probe.overlays.edited_rows import EditedRows, FactRead
from engram_probe.overlays.load import SIDECAR_SUFFIX
from engram_probe.overlays.rowset import OverlayRows

CLASSES = (
    "own_fact_only",
    "shared_by_content",
    "shared_by_hash_collision",
    "both",
    "shared_unattributed",
    "unwritten",
)
CLASS_RULE = (
    "Per fact, each row its trigger reads is: own_fact_only (no other fact reads it), shared_by_content (another "
    "fact reads it through the same n-gram), shared_by_hash_collision (another fact reads it through a different "
    "n-gram), both, shared_unattributed (another overlay writes it without naming a fact), or unwritten (the fact's "
    "own overlay does not write it). Classes are exclusive; they follow engraft-ngram's row_sharing."
)
MAX_LISTED = 5000  # rows listed one by one in a report; counts always cover all


def without_facts_notes(result: dict[str, Any]) -> list[str]:
    """One sentence per overlay that came without facts (a ``.pleo`` without its sidecar): its rows are rows without
    facts, counted and checked for conflicts, but owned by no fact the census can name."""
    rows = result.get("summary", {}).get("rows_without_facts") or {}
    files = {o.get("user"): Path(str(o.get("source", ""))).name for o in result.get("overlays", [])}
    return [
        f"{user} ({files.get(user) or 'overlay'}): {n:,} rows without facts; the file names no facts and no facts "
        f"sidecar ({files.get(user) or 'NAME'}{SIDECAR_SUFFIX}) came with it, so no fact can be named as their owner"
        for user, n in rows.items()
    ]


def classify_read(rd: FactRead, index: EditedRows, own_rows: set[tuple[int, int]]) -> str:
    key = (rd.layer, rd.row)
    if key not in own_rows:
        return "unwritten"
    others = [c for c in index.claims.get(key, []) if (c.user, c.fact_id) != (rd.user, rd.fact_id)]
    content = any(c.ngram == rd.ngram for c in others)
    collision = any(c.ngram != rd.ngram for c in others)
    if content and collision:
        return "both"
    if content or collision:
        return "shared_by_content" if content else "shared_by_hash_collision"
    claimed_users = {c.user for c in index.claims.get(key, [])}
    if any(u not in claimed_users for u in index.writers.get(key, [])):
        return "shared_unattributed"
    return "own_fact_only"


def _tokens(contract: AddressContract, ngram: tuple[int, ...]) -> list[str]:
    """The n-gram's tokens in reading order (oldest first), as the read map shows them."""
    ids = list(ngram)[::-1]
    if getattr(contract, "tokenizer", None) is None or any(t < 0 for t in ids):
        return [f"#{t}" for t in ids]
    return contract.token_strings(ids)


def row_census(contract: AddressContract, overlays: list[OverlayRows]) -> dict[str, Any]:
    """The census of one or more overlays under one contract (hash only, no weights)."""
    users = [o.user for o in overlays]
    dup = [u for u, n in Counter(users).items() if n > 1]
    if dup:
        raise ValueError(f"two overlays have the same user {dup[0]!r}; give each a distinct --user")
    index = EditedRows(contract, overlays)
    by_user = {o.user: o for o in overlays}
    own = {o.user: {(L, r) for L, (rows, _) in o.layers.items() for r in rows.tolist()} for o in overlays}

    facts: list[dict[str, Any]] = []
    for (user, fact_id), reads in index.reads.items():
        classes = [classify_read(rd, index, own[user]) for rd in reads]
        counts = Counter(classes)
        n = len(reads)
        facts.append(
            {
                "user": user,
                "fact_id": fact_id,
                "reads": n,
                "counts": {c: counts.get(c, 0) for c in CLASSES},
                "shares": {c: counts.get(c, 0) / n if n else 0.0 for c in CLASSES},
                "rows": [
                    {"layer": rd.layer, "column": rd.column, "row": rd.row, "class": cls}
                    for rd, cls in zip(reads, classes, strict=True)
                ],
            }
        )

    rows: list[dict[str, Any]] = []
    conflicts: list[dict[str, Any]] = []
    pairs: dict[tuple[str, str], dict[str, int]] = {}
    for key in sorted(set(index.writers) | set(index.claims)):
        layer, row = key
        writers = index.writers.get(key, [])
        claims = index.claims.get(key, [])
        ngrams = {c.ngram for c in claims}
        # a writer's own overlay holds this row, so its value is never None
        values = {u: cast(np.ndarray, by_user[u].value(layer, row)) for u in writers}
        distinct = {v.tobytes() for v in values.values() if v is not None}
        conflict = len(distinct) > 1
        for a, b in combinations(sorted(set(writers)), 2):
            entry = pairs.setdefault((a, b), {"shared_rows": 0, "conflicting_rows": 0})
            entry["shared_rows"] += 1
            if values[a].tobytes() != values[b].tobytes():
                entry["conflicting_rows"] += 1
        col = contract.column_of_row(layer, row)
        record = {
            "layer": layer,
            "row": row,
            "column": col.column,
            "order": col.order,
            "head": col.head,
            "users": writers,
            "facts": [{"user": c.user, "fact_id": c.fact_id, "ngram": _tokens(contract, c.ngram)} for c in claims],
            "sharing": None if len(claims) < 2 else ("content" if len(ngrams) == 1 else "hash_collision"),
            "conflict": conflict,
        }
        rows.append(record)
        if conflict:
            diffs = [values[u] for u in writers]
            gap = max(float(abs(x - y).max()) for x, y in combinations(diffs, 2))
            conflicts.append({"layer": layer, "row": row, "users": writers, "max_abs_difference": gap})

    claimed_by_user: dict[str, set[tuple[int, int]]] = {}
    for (user, _fact), reads in index.reads.items():
        claimed_by_user.setdefault(user, set()).update((rd.layer, rd.row) for rd in reads)
    unattributed = {o.user: len(own[o.user] - claimed_by_user.get(o.user, set())) for o in overlays}
    totals: Counter[str] = Counter()
    for f in facts:
        totals.update(f["counts"])
    listed = [r for r in rows if len(r["users"]) > 1 or len(r["facts"]) > 1] + [
        r for r in rows if len(r["users"]) <= 1 and len(r["facts"]) <= 1
    ]
    return {
        "contract": contract.reference(),
        "overlays": [o.summary() for o in overlays],
        "summary": {
            "users": len(overlays),
            "facts": len(facts),
            "rows_written": len(index.writers),
            "rows_written_by_several_users": sum(1 for w in index.writers.values() if len(set(w)) > 1),
            "conflicting_rows": len(conflicts),
            "fact_reads_by_class": {c: totals.get(c, 0) for c in CLASSES},
            "unattributed_rows": unattributed,
            "rows_without_facts": {o.user: o.n_rows for o in overlays if not o.facts and o.n_rows},
        },
        "class_rule": CLASS_RULE,
        "facts": facts,
        "user_pairs": [{"users": [a, b], **v} for (a, b), v in sorted(pairs.items())],
        "conflicts": conflicts[:MAX_LISTED],
        "rows": listed[:MAX_LISTED],
        "rows_listed": min(len(listed), MAX_LISTED),
        "rows_total": len(listed),
    }
