"""``engram-probe contract population``: how often N synthetic users' edits share rows, on any contract (Dask).

The ``contract`` group serves it; ``engram_probe.cli`` also registers it under its old top-level name,
``engram-probe population``, as an alias (same flags, same handler).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engram_probe.cli.framework import (
    CliError,
    add_sign_args,
    operator_arg,
    progress_bar,
    signed_line,
    signing_arg,
    write_report_files,
)

POPULATION_HELP = "row census of N synthetic users x F facts on any contract (Dask dataframes)"


def population_args(p: argparse.ArgumentParser) -> None:
    """The census's flags (the same under ``contract population`` and ``population``)."""
    from engram_probe.contracts import CONTRACT_NAMES

    p.add_argument("--contract", required=True, choices=CONTRACT_NAMES, help="which address contract")
    p.add_argument("--config", help="the model's config (default: the contract's preset, where it has one)")
    p.add_argument("--tokenizer", help="the model's tokenizer.json (sets the vocabulary triggers draw from)")
    p.add_argument("--users", default="1000,10000", help="population sizes, comma-separated (default 1000,10000)")
    p.add_argument("--facts", type=int, default=100, help="facts per user (default 100)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--table", type=int, action="append", help="only this table (repeatable; default: all)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--scheduler", metavar="ADDRESS", help="run on this existing Dask cluster")
    g.add_argument("--workers", type=int, metavar="N", help="start a local Dask cluster of N worker processes")
    p.add_argument("--report", metavar="OUT.json", help="write the result as a JSON report")
    p.add_argument("--html", metavar="OUT.html", help="write the report as standalone HTML")
    p.add_argument("--pdf", metavar="OUT.pdf", help="write the report as PDF (needs Debian chromium)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_sign_args(p)


def parse_sizes(text: str) -> list[int]:
    """``--users``' comma-separated population sizes, each at least 1 (a one-line error otherwise)."""
    try:
        sizes = [int(float(x)) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise CliError(f"--users takes comma-separated counts, e.g. 100,1000 (got {text!r})") from exc
    if not sizes or min(sizes) < 1:
        raise CliError("--users needs counts of at least 1")
    return sizes


def _human(doc: dict[str, Any]) -> str:
    name = doc["result"]["contract"]["contract"]["name"]
    lines = [f"population census on {name} ({doc['result']['facts_per_user']} facts per user)"]
    lines.append(f"{'users':>10} {'rows written':>13} {'shared':>8} {'expected':>9} {'conflicting':>11} {'s':>7}")
    for s in doc["result"]["sizes"]:
        lines.append(
            f"{s['users']:>10,} {s['rows_written']:>13,} {s['shared_share']:>8.2%} "
            f"{s['expected_shared_share_uniform']:>9.2%} {s['conflicting_share']:>11.2%} {s['seconds']:>7.1f}"
        )
    lines.append("shared: rows written by 2+ users (measured); expected: uniform-hash model (derived)")
    return "\n".join(lines)


def run_population(args: argparse.Namespace) -> None:
    """Count the rows N synthetic users share, per population size, and print or write the report."""
    from engram_probe.contracts import ContractError, load_contract
    from engram_probe.scale.engine import Placement
    from engram_probe.scale.population import growth_report
    from engram_probe.scale.population_render import write_population_html

    signing = signing_arg(args, args.report)
    sizes = parse_sizes(args.users)
    try:
        place = Placement(args.scheduler, args.workers)
        contract = load_contract(args.contract, args.config, args.tokenizer)
        tables = tuple(args.table) if args.table else None
        for t in tables or ():
            contract.check_layer(t)
    except (ContractError, ValueError) as exc:
        raise CliError(str(exc)) from exc
    bar = progress_bar("census", unit="size")
    result = run_placed(place, bar, lambda: growth_report(contract, sizes, args.facts, args.seed, tables, bar))
    from engram_probe.scale.population_report import population_report

    doc = population_report(result, place.describe())
    finish_report(args, doc, write_population_html, _human(doc), signing)


def run_placed(place: Any, bar: Any, job: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a hash-only job in this process, or on the Dask cluster ``place`` names; a failure is one line."""
    from engram_probe.scale.engine import dask_client

    try:
        if place.scheduler or place.workers:
            with dask_client(place):
                return job()
        return job()
    except (ValueError, OSError, ConnectionError) as exc:
        raise CliError(str(exc)) from exc
    finally:
        bar.close()


def finish_report(
    args: argparse.Namespace, doc: dict[str, Any], render_html: Any, human: str, signing: tuple[Any, str] | None
) -> None:
    """Write the report files (signed with ``signing``), print the result, and say where they went."""
    signed = write_report_files(
        doc, args.report, args.html, args.pdf, render_html, signing, operator=operator_arg(args)
    )
    print(json.dumps(doc, indent=1, sort_keys=True, default=float) if args.json else human)
    if args.report:
        print(f"report: {Path(args.report)}")
    signed_line(signed, signing)
