"""Sharded scan throughput: in-process against a LocalCluster(2), text (tokenise + hash) against token ids.

python -m benchmarks.bench_scale [--tokens 50000000]

One generated corpus is written twice, as Parquet text shards and as Parquet token-id shards of the
same documents. Every run below scans the same shards with the same 100-fact overlay, in one process
session, and the reports are checked to agree hit for hit.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.common import emit
from engram_probe.contracts import load_contract
from engram_probe.contracts.registry import workbench_contract
from engram_probe.data.corpus import generate_corpus
from engram_probe.hashaudit.synthetic import overlay_for_facts
from engram_probe.overlays.rowset import FactTrigger
from engram_probe.scale.engine import Placement
from engram_probe.scale.scan import scan_shards

DOCS_PER_SHARD = 20_000


def build_shards(root: Path, target_tokens: int) -> tuple[Path, Path, int]:
    """Parquet text shards and Parquet id shards of the same generated documents; total tokens."""
    wb = workbench_contract(None)
    text_dir, ids_dir = root / "text", root / "ids"
    text_dir.mkdir()
    ids_dir.mkdir()
    total, seed = 0, 5000
    while total < target_tokens:
        docs = generate_corpus(DOCS_PER_SHARD, seed=seed)
        ids = [a.tolist() for a in wb.encode_batch(docs)]
        pq.write_table(pa.table({"text": docs}), text_dir / f"s{seed}.parquet")
        pq.write_table(pa.table({"ids": ids}), ids_dir / f"s{seed}.parquet")
        total += sum(len(x) for x in ids)
        seed += 1
    return text_dir, ids_dir, total


def overlay(contract: Any, n_facts: int = 100) -> Any:
    """100 facts whose triggers are 4-token phrases of held-out documents (seed 1 is not in the corpus)."""
    wb = workbench_contract(None)
    docs = generate_corpus(n_facts, seed=1)
    facts = [FactTrigger("u", f"f{i:03d}", tuple(wb.encode(d)[5:9])) for i, d in enumerate(docs)]
    return overlay_for_facts(contract, "u", facts, list(contract.layers))


def timed(contract: Any, ov: Any, shards: Path, place: Placement) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    r = scan_shards(contract, [ov], [shards], place)
    return time.perf_counter() - t0, r


def run(_lm: Any = None, target_tokens: int = 50_000_000) -> dict[str, Any]:
    wb = workbench_contract(None)
    v41 = load_contract("deepseek-v4.1")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        text_dir, ids_dir, total = build_shards(Path(tmp), target_tokens)
        build_s = time.perf_counter() - t0
        n_shards = len(list(text_dir.glob("*.parquet")))
        runs: dict[str, dict[str, Any]] = {}
        for name, contract, shards in (
            ("workbench ids", wb, ids_dir),
            ("workbench text", wb, text_dir),
            ("deepseek-v4.1 ids", v41, ids_dir),
        ):
            ov = overlay(contract)
            for where, place in (("in-process", Placement()), ("LocalCluster(2)", Placement(workers=2))):
                seconds, r = timed(contract, ov, shards, place)
                runs[f"{name} {where}"] = {
                    "seconds": seconds,
                    "tokens_per_s": r["tokens"] / seconds,
                    "tokens": r["tokens"],
                    "positions_hit": r["positions_hit"],
                }
    for name in ("workbench ids", "workbench text", "deepseek-v4.1 ids"):
        a, b = runs[f"{name} in-process"], runs[f"{name} LocalCluster(2)"]
        assert (a["tokens"], a["positions_hit"]) == (b["tokens"], b["positions_hit"]), name
    assert runs["workbench ids in-process"]["positions_hit"] == runs["workbench text in-process"]["positions_hit"]
    ratio = runs["workbench ids in-process"]["tokens_per_s"] / runs["workbench text in-process"]["tokens_per_s"]
    payload = {
        "corpus_tokens": total,
        "shards": n_shards,
        "corpus_build_s": build_s,
        "runs": runs,
        "text_vs_ids_slowdown_in_process": ratio,
        "goal_text_within": 2.0,
        "met": ratio <= 2.0,
        "note": "ids = Parquet token-id shards (hash + lookup only); text = Parquet text shards (tokenise with the "
        "HF tokenizers batch encoder, then hash + lookup); LocalCluster(2) = 2 worker processes, 1 thread each, "
        "started inside the timed run",
    }
    fmt = {k: f"{v['tokens_per_s'] / 1e6:.2f}" for k, v in runs.items()}
    summary = (
        f"{total / 1e6:.1f} M tokens, M tok/s in-process vs LocalCluster(2): workbench ids "
        f"{fmt['workbench ids in-process']} vs {fmt['workbench ids LocalCluster(2)']}, workbench text "
        f"{fmt['workbench text in-process']} vs {fmt['workbench text LocalCluster(2)']}, V4.1 ids "
        f"{fmt['deepseek-v4.1 ids in-process']} vs {fmt['deepseek-v4.1 ids LocalCluster(2)']}; tokenising "
        f"costs {ratio:.2f}x hash-only in-process (goal <= 2x: {'met' if ratio <= 2 else 'MISSED'})"
    )
    return emit("scale_scan", payload, summary)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tokens", type=int, default=50_000_000)
    run(None, ap.parse_args().tokens)
