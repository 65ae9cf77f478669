"""Synthetic overlays for tests, fixtures and benchmarks: rows at each fact's trigger, seeded values."""

from __future__ import annotations

import hashlib

import numpy as np

from engram_probe.contracts.base import AddressContract
from engram_probe.overlays.edited_rows import fact_reads
from engram_probe.overlays.rowset import FactTrigger, OverlayRows, normalise_rows


def seeded_values(key: str, n: int, dim: int, scale: float = 0.05) -> np.ndarray:
    """Deterministic float32 values from a text key (the same on every machine)."""
    seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
    return (np.random.default_rng(seed).standard_normal((n, dim)) * scale).astype(np.float32)


def overlay_for_facts(
    contract: AddressContract, user: str, facts: list[FactTrigger], layers: list[int] | None = None
) -> OverlayRows:
    """The rows each fact's trigger reads, with values seeded per (user, fact); a later fact wins a shared row."""
    tables = layers or [contract.layers[-1]]
    per_layer: dict[int, dict[int, np.ndarray]] = {}
    for f in facts:
        reads = fact_reads(contract, f, tables)
        vals = seeded_values(f"{user}/{f.fact_id}", len(reads), contract.row_format.dim)
        for rd, v in zip(reads, vals, strict=True):
            per_layer.setdefault(rd.layer, {})[rd.row] = v
    out = {}
    for layer, rows in per_layer.items():
        r = np.array(sorted(rows), dtype=np.int64)
        out[layer] = normalise_rows(contract, layer, r, np.stack([rows[x] for x in r.tolist()]), user)[:2]
    return OverlayRows(user, "synthetic", "synthetic", out, list(facts))
