"""``engram-probe isolation prove``: the isolation proof of one user against every other user of a shared table."""

from __future__ import annotations

import argparse

from engram_probe.cli.framework import (
    CliError,
    add_sign_args,
    emit,
    operator_arg,
    progress_bar,
    signed_line,
    signing_arg,
    user_errors,
    write_report_files,
)
from engram_probe.cli.isolation.merge import open_table, table_args

ACTION = "prove"
HELP = "prove where one user's outputs are independent of every other user's rows in a shared table"


def add_args(p: argparse.ArgumentParser) -> None:
    table_args(p)
    p.add_argument("--user", required=True, help="the user whose requests are proved")
    p.add_argument(
        "--text",
        action="append",
        default=[],
        help="a probe text (repeatable; default: the user's triggers followed by their answers)",
    )
    p.add_argument("--report", metavar="OUT.json", default=None, help="write the JSON report here")
    p.add_argument("--html", metavar="OUT.html", default=None, help="also write standalone HTML")
    p.add_argument("--pdf", metavar="OUT.pdf", default=None, help="also write a PDF (needs Debian chromium)")
    add_sign_args(p)


def run(args: argparse.Namespace) -> int:
    """Run the proof, print its verdict (or the report as JSON); exit 1 when isolation does not hold."""
    from engram_probe.isolation.prove_report import build_report
    from engram_probe.report.kinds import write_html

    signing = signing_arg(args, args.report)  # the key is checked before any work
    lm, table, source = open_table(args)
    if args.user not in table.users:
        raise CliError(f"user {args.user!r} is not in the shared table; its users are {', '.join(table.users)}")
    bar = progress_bar("proving", unit="text")
    try:
        doc = build_report(lm, table, source, args.user, args.text or None, bar)
    except user_errors() as exc:
        raise CliError(str(exc).strip("'\"")) from exc
    finally:
        bar.close()  # type: ignore[attr-defined]
    signed = write_report_files(doc, args.report, args.html, args.pdf, write_html, signing, operator=operator_arg(args))
    lines = [doc["summary"]["verdict"]] + [f"  text {i}: {p['verdict']}" for i, p in enumerate(doc["probes"], 1)]
    emit(args, doc, "\n".join(lines))
    signed_line(signed, signing)
    return 0 if doc["summary"]["status"] != "does not hold" else 1
