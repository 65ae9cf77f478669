"""Timing helpers and the results log shared by every benchmark."""

from __future__ import annotations

import datetime as dt
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def machine() -> dict[str, Any]:
    return {
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "cpus": __import__("os").cpu_count(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def median_time(fn: Callable[[], Any], repeat: int = 7, warmup: int = 2) -> float:
    """Median wall time of ``fn`` in seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def interleaved(fns: dict[str, Callable[[], Any]], repeat: int = 7, warmup: int = 1) -> dict[str, float]:
    """Median time of each function, measured alternately so machine noise hits all of them alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            samples[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in samples.items()}


def emit(name: str, payload: dict[str, Any], summary: str) -> dict[str, Any]:
    """Print one JSON line and append a dated row to docs/benchmarks.md."""
    row = {"benchmark": name, "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **machine(), **payload}
    print(json.dumps(row, sort_keys=True), flush=True)
    if not DOCS.exists():
        DOCS.write_text(
            "# Benchmarks\n\nRows are appended by `python -m benchmarks.run_all` (one per benchmark and run). "
            "Every figure is a ratio measured side by side in the same run, or a throughput with its baseline "
            "measured in the same run. Full JSON lines are printed by the command.\n\n"
            "| date | benchmark | result | machine | threads | torch |\n|---|---|---|---|---|---|\n"
        )
    m = machine()
    with DOCS.open("a") as fh:
        fh.write(
            f"| {row['date']} | {name} | {summary} | {m['machine']}, {m['cpus']} CPUs | {m['threads']} | "
            f"{m['torch']} |\n"
        )
    return row
