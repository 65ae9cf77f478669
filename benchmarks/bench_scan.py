"""Corpus scan: hash-only blast-radius throughput against forward-based diffing of the same corpus."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.common import emit
from benchmarks.fixtures import user_memory
from engram_probe.arch.loaded import LoadedModel
from engram_probe.contracts.registry import workbench_contract
from engram_probe.data.corpus import generate_corpus
from engram_probe.memory.overlay import MemoryOverlay
from engram_probe.overlays.edited_rows import EditedRows
from engram_probe.overlays.load import overlay_from_fact_rows
from engram_probe.scale.scan import scan_shards

TARGET_TOKENS = 10_000_000
GOAL_TOKENS_PER_S = 10_000_000
GOAL_RATIO = 1000


def build_corpus(lm: LoadedModel, path: Path) -> np.ndarray:
    """Generate text until it holds at least TARGET_TOKENS tokens; write it; return the token ids."""
    parts: list[np.ndarray] = []
    total, seed = 0, 1000
    with path.open("w", encoding="utf-8") as fh:
        while total < TARGET_TOKENS:
            docs = generate_corpus(20_000, seed=seed)
            seed += 1
            fh.write("\n".join(docs) + "\n")
            ids = np.fromiter(
                (t for e in lm.tokenizer.tok.encode_batch(docs, add_special_tokens=False) for t in e.ids),
                dtype=np.int64,
            )
            parts.append(ids)
            total += ids.size
    return np.concatenate(parts)


def hash_only(lm: LoadedModel, memory: Any, ids: np.ndarray, chunk: int = 1 << 17) -> int:
    """Positions that can read an edited row, from token ids: hashing plus a sorted-row lookup."""
    layers = sorted({f.layer for f in memory.facts})
    index = EditedRows(lm.model.hasher, [], bare_rows=memory.owners())
    hit_total = 0
    for start in range(0, ids.size, chunk):
        lo = max(0, start - (lm.cfg.max_ngram - 1))
        part = ids[lo : start + chunk]
        hit = np.zeros(part.size - (start - lo), bool)
        for L in layers:
            slots = index.tables[L].slots(lm.model.hasher.addresses_by_column(part, L)[:, start - lo :])
            hit |= (slots >= 0).any(axis=0)
        hit_total += int(hit.sum())
    return hit_total


@torch.no_grad()
def forward_diff_rate(lm: LoadedModel, memory: Any, ids: np.ndarray, windows: int = 24) -> float:
    """Tokens/s of diffing by running base and edited forwards on n_ctx windows (a sample)."""
    overlay = MemoryOverlay([memory])
    n = lm.cfg.n_ctx
    starts = np.random.default_rng(0).integers(0, ids.size - n, size=windows)
    t0 = time.perf_counter()
    for s in starts:
        x = torch.from_numpy(ids[s : s + n].copy()).unsqueeze(0)
        base = lm.model(x)
        edited = lm.model(x, overlay=overlay)
        torch.equal(base, edited)
    return windows * n / (time.perf_counter() - t0)


def run(lm: LoadedModel) -> dict[str, Any]:
    memory = user_memory(lm, 100, strategy="unembed")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "corpus.txt"
        t0 = time.perf_counter()
        ids = build_corpus(lm, path)
        build_s = time.perf_counter() - t0
        hash_only(lm, memory, ids[:100_000])  # warm-up
        t0 = time.perf_counter()
        hits = hash_only(lm, memory, ids)
        hash_s = time.perf_counter() - t0
        diff_rate = forward_diff_rate(lm, memory, ids)
        contract = workbench_contract(lm.path)
        items = [(f.meta(), f.row_ids.numpy(), f.values.detach().float().numpy()) for f in memory.facts]
        overlay = overlay_from_fact_rows(contract, memory.user_id, "benchmark", items, contract.digest())
        t0 = time.perf_counter()
        full = scan_shards(contract, [overlay], [path])
        file_s = time.perf_counter() - t0
    rate = ids.size / hash_s
    payload = {
        "tokens": int(ids.size),
        "corpus_mb": round(path.stat().st_size / 1e6, 1) if path.exists() else None,
        "facts": len(memory),
        "rows": memory.n_rows,
        "positions_hit": hits,
        "hash_only_tokens_per_s": rate,
        "forward_diff_tokens_per_s": diff_rate,
        "forward_diff_note": "base + edited forward on 24 windows of n_ctx tokens, extrapolated",
        "ratio_vs_forward": rate / diff_rate,
        "scan_file_tokens_per_s": full["tokens"] / file_s,
        "scan_file_note": "engram-probe scan (= contract scan --contract workbench) end to end: reading, "
        "tokenising, hashing, per-fact, per-user and per-row counts, sampled hits",
        "corpus_build_s": build_s,
        "goals": {"tokens_per_s": GOAL_TOKENS_PER_S, "ratio": GOAL_RATIO},
        "met": rate >= GOAL_TOKENS_PER_S and rate / diff_rate >= GOAL_RATIO,
    }
    summary = (
        f"hash-only {rate / 1e6:.1f} M tok/s over {ids.size / 1e6:.1f} M tokens = "
        f"{rate / diff_rate:,.0f}x forward diffing ({diff_rate:,.0f} tok/s, sampled); file scan with "
        f"tokenising {payload['scan_file_tokens_per_s'] / 1e6:.2f} M tok/s (goals >= 10 M tok/s and >= "
        f"1,000x: {'met' if payload['met'] else 'MISSED'})"
    )
    return emit("corpus_scan", payload, summary)
