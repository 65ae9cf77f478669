"""Hash-only read map of a token sequence on any contract, and the structural locality it implies."""

from __future__ import annotations

from typing import Any

import numpy as np

from engram_probe.contracts.base import AddressContract
from engram_probe.overlays.edited_rows import EditedRows

LOCALITY_RULE = (
    "Derived, not measured: in a causal model, position t depends only on tokens 0..t. A position before "
    "the first read of an edited row reads no edited row and attends only to positions that read none, so "
    "its hidden states and logits cannot change. This follows from the read map alone; the measured "
    "byte-level proof needs a forward pass (engram-probe audit, on a model this workbench can run)."
)


def locality_statement(first: int | None, n: int) -> str:
    if first is None:
        return f"no position reads an edited row: all {n} positions cannot change"
    if first == 0:
        return "the first token already reads an edited row: no position is structurally protected"
    return f"positions 0..{first - 1} ({first} of {n}) cannot change; the first read of an edited row is at {first}"


def rows_of_sequence(contract: AddressContract, ids: list[int]) -> list[list[dict[str, int]]]:
    """For each position, every read as {layer, column, row}."""
    arr = np.asarray(ids, dtype=np.int64)
    per_layer = {L: contract.addresses(arr, L) for L in contract.layers}
    return [
        [
            {"layer": L, "column": c, "row": int(per_layer[L][t, c])}
            for L in contract.layers
            for c in range(per_layer[L].shape[1])
        ]
        for t in range(len(ids))
    ]


def contract_read_map(contract: AddressContract, index: EditedRows, ids: list[int]) -> dict[str, Any]:
    """Every (position, layer, column) whose row is edited, with the n-gram that caused it and its owners."""
    arr = np.asarray(ids, dtype=np.int64)
    tokens = contract.token_strings(ids)
    hashed = contract.hash_inputs(arr)
    hits: list[dict[str, Any]] = []
    for rd in index.edited_reads(arr):
        t, col = rd.position, rd.column
        users, facts = index.owners((rd.layer, rd.row))
        hits.append(
            {
                "position": t,
                "token": tokens[t],
                "layer": rd.layer,
                "column": col.column,
                "order": col.order,
                "head": col.head,
                "row": rd.row,
                "ngram_ids": list(contract.ngram_from(hashed, t, col.order)),
                "ngram": [tokens[t - s] if t - s >= 0 else "<start>" for s in range(col.order)][::-1],
                "users": users,
                "facts": facts,
            }
        )
    first = hits[0]["position"] if hits else None
    n = len(ids)
    return {
        "contract": contract.reference(),
        "n_tokens": n,
        "token_ids": list(ids),
        "tokens": tokens,
        "hits": hits,
        "positions_hit": sorted({h["position"] for h in hits}),
        "locality": {
            "kind": "derived",
            "first_read": first,
            "unchanged_positions": n if first is None else first,
            "statement": locality_statement(first, n),
            "rule": LOCALITY_RULE,
        },
    }
