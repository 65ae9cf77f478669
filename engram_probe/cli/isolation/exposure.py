"""``engram-probe isolation exposure``: how many of one user's requests read another user's row, at population scale.

Hash only, on any contract; the flags mirror ``engram-probe contract population`` (the census it builds on).
"""

from __future__ import annotations

import argparse
from typing import Any

from engram_probe.cli.framework import CliError, progress_bar, signing_arg
from engram_probe.cli.population import finish_report, parse_sizes, population_args, run_placed

ACTION = "exposure"
HELP = "share of one user's requests that read another user's row, for N synthetic users (hash only, Dask)"


def add_args(p: argparse.ArgumentParser) -> None:
    population_args(p)
    p.add_argument("--probes", type=int, default=1000, help="probe requests, one per user outside the population")
    p.add_argument("--salted", action="store_true", help="every user reads and writes at its own salt")


def _human(doc: dict[str, Any]) -> str:
    r = doc["result"]
    salting = "salted per user" if r["salted"] else "no salting"
    lines = [
        f"exposure on {r['contract']['contract']['name']} ({r['facts_per_user']:,} facts per user, "
        f"{r['probe_requests']:,} probe requests, {salting})",
        f"{'users':>10} {'exposed':>9} {'derived':>9} {'by content':>11} {'reads':>8} {'derived':>8} {'s':>7}",
    ]
    for s in r["sizes"]:
        lines.append(
            f"{s['users']:>10,} {s['exposed_share']:>9.2%} {s['derived_exposed_share']:>9.2%} "
            f"{s['exposed_by_content_share']:>11.2%} {s['exposed_reads_share']:>8.2%} "
            f"{s['derived_exposed_reads_share']:>8.2%} {s['seconds']:>7.1f}"
        )
    lines.append(
        "exposed: requests reading a row another user writes (measured); derived: the uniform-hash model; "
        "by content: the other user's n-gram there is the request's own"
    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> None:
    """Measure exposure at each population size and print or write the report."""
    from engram_probe.contracts import ContractError, load_contract
    from engram_probe.isolation.exposure import exposure_curve
    from engram_probe.isolation.exposure_report import exposure_report, write_exposure_html
    from engram_probe.scale.engine import Placement

    sizes = parse_sizes(args.users)
    signing = signing_arg(args, args.report)  # the key is checked before any work
    if args.probes < 1 or args.facts < 1:
        raise CliError("--probes and --facts must be at least 1")
    try:
        place = Placement(args.scheduler, args.workers)
        contract = load_contract(args.contract, args.config, args.tokenizer)
        tables = tuple(args.table) if args.table else None
        for t in tables or ():
            contract.check_layer(t)
        if args.salted:
            contract.salted(1)
    except (ContractError, ValueError) as exc:
        raise CliError(str(exc)) from exc
    bar = progress_bar("exposure", unit="size")
    run_args = (contract, sizes, args.facts, args.probes, args.salted, args.seed, tables, bar)
    result = run_placed(place, bar, lambda: exposure_curve(*run_args))
    doc = exposure_report(result, place.describe())
    finish_report(args, doc, write_exposure_html, _human(doc), signing)
