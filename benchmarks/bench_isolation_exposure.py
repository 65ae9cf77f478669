"""Exposure throughput against the population census's, per position, side by side in one run.

python -m benchmarks.bench_isolation_exposure [--users 10000] [--facts 100] [--probes 1000] [--repeat 3]

Per contract (the census benchmark's: shipped, the paper's 50 K-row heads, V4.1-Flash, Qwen3.8 PLE), the census
and the exposure measurement (unsalted and salted) run alternately on the same synthetic population with the
in-process Dask scheduler; each figure is the median wall time. Throughput is positions addressed per second:
N x F for the census, N x F plus the probe requests for exposure. The issue's budget: exposure at the scan's
throughput per position (a ratio of at least 1).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.bench_census import CONTRACTS, contract_named
from benchmarks.common import emit, interleaved
from engram_probe.isolation.exposure import exposure
from engram_probe.scale.population import population_census


def run(_lm: Any = None, users: int = 10_000, facts: int = 100, probes: int = 1000, repeat: int = 3) -> dict[str, Any]:
    per: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in CONTRACTS:
            c = contract_named(name, Path(tmp))
            times = interleaved(
                {
                    "census": lambda c=c: population_census(c, users, facts),
                    "exposure": lambda c=c: exposure(c, users, facts, probes),
                    "exposure salted": lambda c=c: exposure(c, users, facts, probes, salted=True),
                },
                repeat=repeat,
                warmup=0,
            )
            census_rate = users * facts / times["census"]
            rates = {k: (users * facts + probes) / times[k] for k in ("exposure", "exposure salted")}
            per[name] = {
                "census_positions_per_s": round(census_rate),
                "exposure_positions_per_s": round(rates["exposure"]),
                "salted_positions_per_s": round(rates["exposure salted"]),
                "ratio": round(rates["exposure"] / census_rate, 2),
                "ratio_salted": round(rates["exposure salted"] / census_rate, 2),
                "seconds": {k: round(v, 3) for k, v in times.items()},
            }
    worst = min(min(p["ratio"], p["ratio_salted"]) for p in per.values())
    summary = (
        f"exposure vs census per position at {users:,} users x {facts} facts: "
        + "; ".join(f"{n} {p['ratio']}x ({p['ratio_salted']}x salted)" for n, p in per.items())
        + f"; worst {worst}x"
    )
    return emit("isolation_exposure", {"users": users, "facts": facts, "probes": probes, "contracts": per}, summary)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--facts", type=int, default=100)
    ap.add_argument("--probes", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    run(None, a.users, a.facts, a.probes, a.repeat)


if __name__ == "__main__":
    main()
