"""Corpus scan: the hash-only blast radius of a memory over a text corpus (no forward pass)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from engram_probe.arch.loaded import LoadedModel
from engram_probe.memory.user_memory import UserMemory
from engram_probe.textio import read_chunks


class RowIndex:
    """Dense lookups over one layer's table: is a row edited, and which facts own it."""

    def __init__(self, memory: UserMemory, layer: int, table_rows: int):
        owners = memory.owners()
        rows = sorted(r for (L, r) in owners if layer == L)
        self.rows = np.array(rows, dtype=np.int64)
        self.fact_ids = sorted({f for (L, _r), fs in owners.items() if layer == L for f in fs})
        col = {f: i for i, f in enumerate(self.fact_ids)}
        self.slot = np.full(table_rows, -1, dtype=np.int64)  # row -> index into owner_matrix
        self.slot[self.rows] = np.arange(len(rows))
        self.edited = self.slot >= 0
        self.owner_matrix = np.zeros((len(rows), max(1, len(self.fact_ids))), dtype=bool)
        for i, r in enumerate(rows):
            for f in owners[(layer, r)]:
                self.owner_matrix[i, col[f]] = True

    def hit_mask(self, addresses: np.ndarray) -> np.ndarray:
        """True where the address is an edited row (one gather per address), any shape."""
        return self.edited[addresses]

    def fact_positions(self, addresses: np.ndarray, hit: np.ndarray) -> dict[int, np.ndarray]:
        """For each owning fact (column), the sorted positions that read one of its rows."""
        t_idx, h_idx = np.nonzero(hit)
        owners = self.owner_matrix[self.slot[addresses[t_idx, h_idx]]]
        return {j: np.unique(t_idx[owners[:, j]]) for j in range(owners.shape[1]) if owners[:, j].any()}


def scan_corpus(
    lm: LoadedModel,
    memory: UserMemory,
    path: str | Path,
    max_examples: int = 5,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Count, per fact and in total, the corpus positions that can read an edited row."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no corpus file at {p}")
    total_chars = p.stat().st_size
    layers = sorted({f.layer for f in memory.facts})
    index = {L: RowIndex(memory, L, lm.model.hasher.table_rows(L)) for L in layers}
    per_fact: dict[str, dict[str, Any]] = {
        f.fact_id: {
            "fact_id": f.fact_id,
            "trigger": f.triggers[0],
            "answer": f.answer,
            "layer": f.layer,
            "positions": 0,
            "examples": [],
        }
        for f in memory.facts
    }
    tokens_total = positions_hit = 0
    prev_tail: list[int] = [lm.tokenizer.bos_id]
    for offset, text in read_chunks(p):
        enc = lm.tokenizer.tok.encode(text, add_special_tokens=False)
        ids = np.asarray(enc.ids, dtype=np.int64)
        if ids.size == 0:
            continue
        # keep n-gram context across chunk boundaries: hash with the previous chunk's last tokens
        ctx = len(prev_tail)
        full = np.concatenate([np.asarray(prev_tail, dtype=np.int64), ids])
        any_hit = np.zeros(ids.size, bool)
        for L in layers:
            by_head = lm.model.hasher.addresses_by_head(full, L)[:, ctx:]
            hit_by_head = index[L].hit_mask(by_head)
            any_hit |= hit_by_head.any(axis=0)
            addr, hit = by_head.T, hit_by_head.T
            for j, ts in index[L].fact_positions(addr, hit).items():
                entry = per_fact[index[L].fact_ids[j]]
                entry["positions"] += int(ts.size)
                for t in ts[: max(0, max_examples - len(entry["examples"]))]:
                    start, end = enc.offsets[t]
                    entry["examples"].append(
                        {
                            "char": offset + start,
                            "token": text[start:end],
                            "context": text[max(0, start - 40) : end + 10].replace("\n", " "),
                        }
                    )
        positions_hit += int(any_hit.sum())
        tokens_total += int(ids.size)
        prev_tail = list(full[-(lm.cfg.max_ngram - 1) :])
        if progress:
            progress(min(offset + len(text.encode("utf-8", "replace")), total_chars), total_chars)
    return {
        "corpus": {"path": str(p), "bytes": total_chars, "tokens": tokens_total},
        "user": memory.user_id,
        "memory_sha256": memory.digest(),
        "positions_hit": positions_hit,
        "fraction_hit": positions_hit / tokens_total if tokens_total else 0.0,
        "facts": sorted(per_fact.values(), key=lambda e: -e["positions"]),
        "rule": "a position can read an edited row iff its suffix 2-/3-gram hashes to that row in some head; "
        "computed from the hash alone, with no forward pass",
    }
