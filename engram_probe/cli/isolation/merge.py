"""``engram-probe isolation merge``: the shared table a deployment builds from a store's users, and its shared rows."""

from __future__ import annotations

import argparse
from typing import Any

from engram_probe.cli.framework import CliError, add_store_args, emit, open_store_arg, printable, user_errors

ACTION = "merge"
HELP = "merge users' memories into one shared table and list every row two users write (by content or collision)"


def table_args(p: argparse.ArgumentParser) -> None:
    """The flags that name a shared table: model, store, users, overlays, policy and ``--json``."""
    add_store_args(p, user=False)
    p.add_argument("--users", default=None, help="comma-separated user ids, in write order (default: every user)")
    p.add_argument(
        "--overlay",
        action="append",
        default=[],
        metavar="FILE",
        help="a foreign overlay file for this model's contract, added after the store's users as its own (repeatable)",
    )
    p.add_argument(
        "--policy",
        choices=("refuse", "last-write-wins"),
        default="last-write-wins",
        help="a row two users write: refuse the merge, or keep the value of the user listed last (default)",
    )


def open_table(args: argparse.Namespace) -> tuple[Any, Any, dict[str, Any]]:
    """The model, the shared table and its source record, from ``table_args``' flags; refusals are one line."""
    from engram_probe.isolation.shared import table_from

    lm, store = open_store_arg(args)
    users = [u.strip() for u in args.users.split(",") if u.strip()] if args.users else None
    if args.users is not None and not users:
        raise CliError("--users names no user")
    try:
        table, source = table_from(lm, store, users, args.overlay, args.policy)
    except user_errors() as exc:  # a refused merge, an unknown user, an overlay file that cannot be used
        raise CliError(str(exc).strip("'\"")) from exc
    return lm, table, source


def _human(summary: dict[str, Any]) -> str:
    lines = [
        f"shared table of {len(summary['users']):,} users, {summary['rows']:,} rows; "
        f"{summary['shared_count']:,} written by two or more users ({summary['by_content']:,} by content, "
        f"{summary['by_hash_collision']:,} by hash collision, {summary['unattributed']:,} unattributed)",
    ]
    for r in summary["shared_rows"]:
        owners = "; ".join(f"{o['user']} ({', '.join(o['facts'])})" for o in r["owners"])
        grams = ", ".join(f"{g['user']} {printable(repr(g['text']))}" for g in r["ngrams"])
        lines.append(
            f"  layer {r['layer']} row {r['row']:,}: {r['sharing']}; written by {owners}; kept: {r['winner']}"
            + (f"; read through {grams}" if grams else "")
        )
    return "\n".join(lines)


def add_args(p: argparse.ArgumentParser) -> None:
    table_args(p)


def run(args: argparse.Namespace) -> None:
    """Build the table and print its shared rows."""
    _, table, source = open_table(args)
    summary = table.summary() | {"source": source}
    emit(args, summary, _human(summary))
