"""Population census: rows shared among N synthetic users x 100 facts, per contract, and its cost.

python -m benchmarks.bench_census [--big 100000]

Each census runs in its own child process (in-process Dask scheduler, disk shuffle), so its peak
resident memory is that child's own. Growth with N is measured for every contract at 10^2..10^4
users, and at ``--big`` users for the shipped contract; larger N are given by the uniform-hash
expectation (derived), which the measured points check.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import emit
from engram_probe.contracts import AddressContract, load_contract
from engram_probe.contracts.registry import workbench_contract

FIX = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "contracts"
SHIPPED_TOKENIZER = Path(__file__).resolve().parents[1] / "engram_probe" / "assets" / "default" / "tokenizer.json"
CONTRACTS = ("workbench", "user-as-engram (50K x 8 heads)", "deepseek-v4.1", "qwen3.8-ple")
FACTS = 100


def contract_named(name: str, tmp: Path) -> AddressContract:
    if name == "workbench":
        return workbench_contract(None)
    if name.startswith("user-as-engram"):
        # the paper's headline tables (50,000 rows per head, 8 heads per order) on this project's tokenizer
        cfg = json.loads((FIX / "paper_tiny" / "config.json").read_text())
        vocab = json.loads(SHIPPED_TOKENIZER.read_text())["model"]["vocab"]
        cfg.update(
            engram_vocab_per_ngram=50_000,
            engram_n_head_per_ngram=8,
            engram_n_embed_per_ngram=128,
            vocab_size=len(vocab),
        )
        (tmp / "config.json").write_text(json.dumps(cfg))
        return load_contract("user-as-engram", tmp / "config.json", SHIPPED_TOKENIZER)
    return load_contract(name)


def peak_rss_mb() -> float:
    """This process image's peak resident memory.

    VmHWM starts again at exec; ru_maxrss does not: a child forked from a large parent would report the
    parent's size (seen after the scan benchmark, 7.7 GB for a census that needs under 3 GB).
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(name: str, users: int) -> None:
    """One census in this process; prints its figures and this process's peak memory as JSON."""
    from engram_probe.scale.population import population_census

    with tempfile.TemporaryDirectory() as tmp:
        c = contract_named(name, Path(tmp))
        t0 = time.perf_counter()
        out = population_census(c, users, FACTS)
        out["seconds"] = time.perf_counter() - t0
    out["peak_rss_mb"] = peak_rss_mb()
    out.pop("contract")
    print(json.dumps(out))


def measure(name: str, users: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.bench_census", "--child", name, str(users)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(_lm: Any = None, big: int = 100_000) -> dict[str, Any]:
    from engram_probe.scale.population import expected_shared_share

    growth: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in CONTRACTS:
            c = contract_named(name, Path(tmp))
            sizes = (100, 1_000, 10_000) + ((big,) if name == "workbench" else ())
            rows = []
            for n in sizes:
                m = measure(name, n)
                rows.append(
                    {
                        "users": n,
                        "measured": True,
                        "shared_share": m["shared_share"],
                        "hash_collision_share": m["shared_by_hash_collision"] / max(1, m["rows_written"]),
                        "conflicting_share": m["conflicting_share"],
                        "expected_shared_share_uniform": m["expected_shared_share_uniform"],
                        "max_users_on_a_row": m["max_users_on_a_row"],
                        "seconds": m["seconds"],
                        "peak_rss_mb": m["peak_rss_mb"],
                    }
                )
            for n in (100_000, 1_000_000):
                if n not in sizes:
                    tables = tuple(c.layers)
                    rows.append(
                        {
                            "users": n,
                            "measured": False,
                            "expected_shared_share_uniform": expected_shared_share(c, tables, n * FACTS),
                        }
                    )
            growth[name] = rows
    wb = {r["users"]: r for r in growth["workbench"] if r["measured"]}
    per_user_s = (wb[big]["seconds"] - wb[10_000]["seconds"]) / (big - 10_000)
    extrapolated_1e6 = wb[big]["seconds"] + per_user_s * (1_000_000 - big)
    worst_gap = max(
        abs(r["shared_share"] - r["expected_shared_share_uniform"])
        for rows in growth.values()
        for r in rows
        if r["measured"]
    )
    payload = {
        "facts_per_user": FACTS,
        "growth": growth,
        "time_1e4_s": wb[10_000]["seconds"],
        "time_big_s": wb[big]["seconds"],
        "big": big,
        "peak_rss_mb_1e4": wb[10_000]["peak_rss_mb"],
        "peak_rss_mb_big": wb[big]["peak_rss_mb"],
        "extrapolated_1e6_s": extrapolated_1e6,
        "extrapolation_method": f"linear in users from the measured 10^4 and {big:,}-user runs of the shipped contract "
        "(records grow linearly with users; the disk shuffle's partitions stay the same size)",
        "worst_measured_vs_uniform_gap": worst_gap,
    }
    summary = (
        f"shipped contract: 10^4 users {wb[10_000]['seconds']:.0f} s / {wb[10_000]['peak_rss_mb']:,.0f} MB peak, "
        f"{big:,} users {wb[big]['seconds']:.0f} s / {wb[big]['peak_rss_mb']:,.0f} MB, 10^6 extrapolated "
        f"{extrapolated_1e6 / 60:.0f} min (not run); rows shared at 10^4 users: "
        + ", ".join(f"{k} {next(r for r in v if r['users'] == 10_000)['shared_share']:.1%}" for k, v in growth.items())
        + f"; measured vs uniform-hash expectation within {worst_gap:.3f}"
    )
    return emit("population_census", payload, summary)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--child", nargs=2, metavar=("CONTRACT", "USERS"))
    ap.add_argument("--big", type=int, default=100_000)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
    else:
        run(None, args.big)
