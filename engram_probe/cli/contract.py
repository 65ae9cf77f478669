"""``engram-probe contract show|rows|readmap|census|scan|population``: hash-only audits on any address contract."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from engram_probe.cli.framework import (
    CliError,
    add_sign_args,
    command,
    emit,
    lazy_help,
    operator_arg,
    overlay_formats_help,
    progress_bar,
    signed_line,
    signing_arg,
    write_report_files,
)
from engram_probe.cli.population import POPULATION_HELP, population_args, run_population

ACTIONS = {
    "show": "print the contract: multipliers, primes, offsets, checks, digest (config alone is enough)",
    "rows": "rows read at every position of a text or of token-id sequences",
    "readmap": "which positions of a text or token-id sequence read a row the overlays edit",
    "census": "who owns each row of the overlays, how each fact's rows are shared, conflicts between users",
    "scan": "blast radius of the overlays over sharded corpora (JSONL/Parquet of text or token ids, or text files), "
    "in-process or on a Dask cluster",
}


def _common(p: argparse.ArgumentParser) -> None:
    from engram_probe.contracts import CONTRACT_NAMES

    p.add_argument("--contract", required=True, choices=CONTRACT_NAMES, help="which address contract")
    p.add_argument(
        "--config",
        help="the model's config: config.json, GGUF file or GGUF-metadata JSON, or a "
        "workbench model directory (default: the contract's preset, where it has one)",
    )
    p.add_argument("--tokenizer", help="the model's tokenizer.json (needed to address text)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--report", metavar="OUT.json", help="write a JSON report with digests (verify re-derives it)")
    p.add_argument("--html", metavar="OUT.html", help="write the report as standalone HTML")
    p.add_argument("--pdf", metavar="OUT.pdf", help="write the report as PDF (needs Debian chromium)")
    add_sign_args(p)


def _inputs(p: argparse.ArgumentParser, overlays: bool, sequence: bool, corpus: bool = False) -> None:
    if overlays:
        p.add_argument(
            "--overlay",
            action="append",
            default=[],
            metavar="FILE",
            help=lazy_help(
                lambda: (
                    f"{overlay_formats_help()} (repeatable); facts come from the file or from FILE.facts.json beside it"
                )
            ),
        )
        p.add_argument("--store", metavar="DB", help="a workbench memory store: its users' memories are overlays too")
        p.add_argument(
            "--user", action="append", metavar="ID", help="only these users of --store (repeatable; default: all)"
        )
        p.add_argument("--lora-rank", type=int, default=16, help="rank of the per-user LoRA in the storage comparison")
    if sequence:
        g = p.add_mutually_exclusive_group(required=True)
        g.add_argument("--text", help="text to address (needs --tokenizer, except for the workbench contract)")
        g.add_argument("--tokens", metavar="FILE", help="JSON list of token-id lists")
    if corpus:
        p.add_argument(
            "--corpus",
            action="append",
            required=True,
            metavar="PATH",
            help="a shard or a folder of shards (repeatable): .jsonl/.ndjson (token-id lists, {'ids': [...]} or "
            "{'text': ...} per line), .parquet (a text or ids column) or .txt (one running text); text needs the "
            "contract's tokenizer",
        )
        g = p.add_mutually_exclusive_group()
        g.add_argument("--scheduler", metavar="ADDRESS", help="run on this existing Dask cluster (tcp://host:8786)")
        g.add_argument("--workers", type=int, metavar="N", help="start a local Dask cluster of N worker processes")
        p.add_argument(
            "--resume",
            metavar="DIR",
            help="keep each finished shard's counts here; a rerun with the same inputs skips those shards "
            "(default: REPORT.parts beside --report)",
        )
        p.add_argument("--examples", type=int, default=5, metavar="K", help="sampled hits kept per fact (default 5)")


def _contract_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    for name, help_text in ACTIONS.items():
        q = sub.add_parser(name, help=help_text, description=help_text)
        _common(q)
        _inputs(
            q,
            overlays=name in ("readmap", "census", "scan"),
            sequence=name in ("rows", "readmap"),
            corpus=name == "scan",
        )
    q = sub.add_parser("population", help=POPULATION_HELP, description=POPULATION_HELP)
    population_args(q)


def _read_tokens(path: str) -> list[list[int]]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CliError(f"cannot read token ids from {path}: {exc}") from exc
    except ValueError as exc:  # Python's cap on the digits of an integer
        raise CliError(f"{path}: holds a number too long to be a token id") from exc
    except RecursionError as exc:
        raise CliError(f"cannot read token ids from {path}: nested too deeply") from exc
    if (
        not isinstance(data, list)
        or not data
        or not all(
            isinstance(s, list) and s and all(isinstance(t, int) and not isinstance(t, bool) for t in s) for s in data
        )
    ):
        raise CliError(f"{path} must hold a JSON list of non-empty token-id lists, e.g. [[1, 2, 3]]")
    return data


def _check_tokens(path: str, contract: Any, sequences: list[list[int]]) -> None:
    """Refuse an id the contract cannot address (negative, past 64 bits, or outside a known vocabulary)."""
    from engram_probe.scale.token_ids import check_sequences

    try:
        check_sequences(contract, sequences)
    except ValueError as exc:
        raise CliError(f"{path}: {exc}") from exc


def _where(f: dict[str, Any]) -> str:
    """A failed shard's path and place in it, e.g. "a.parquet row 7" (the path alone for the whole file)."""
    where = f.get("where", f"line {f['line']}" if f.get("line") is not None else "")
    return f"{f['path']} {where}" if where else f["path"]


def _job_inputs(args: argparse.Namespace) -> Any:
    from engram_probe.hashaudit.jobs import JobInputs, OverlayInput

    def resolved(x: str) -> str:
        return str(Path(x).resolve())

    def absolute(x: str | None) -> str | None:
        return resolved(x) if x else None

    return JobInputs(
        contract=args.contract,
        config=absolute(args.config),
        tokenizer=absolute(args.tokenizer),
        overlays=[OverlayInput(resolved(o)) for o in getattr(args, "overlay", [])],
        text=getattr(args, "text", None),
        token_ids=_read_tokens(args.tokens) if getattr(args, "tokens", None) else None,
        corpus=[resolved(c) for c in args.corpus] if getattr(args, "corpus", None) else None,
        lora_rank=getattr(args, "lora_rank", 16),
        examples=getattr(args, "examples", 5),
        store=absolute(getattr(args, "store", None)),
        store_users=getattr(args, "user", None),
    )


def _human(doc: dict[str, Any]) -> str:
    r, kind = doc["result"], doc["kind"]
    head = f"contract {doc['contract']['contract']['name']} {doc['digests']['contract'][:16]}…"
    if kind == "rows":
        lines = [head]
        for i, s in enumerate(r["sequences"]):
            lines.append(
                f"seq {i}: rows of a fact with this trigger (last position): "
                + "; ".join(f"table {L}: {rows}" for L, rows in s["rows_of_fact"].items())
            )
            for t, reads in enumerate(s["reads"]):
                lines.append(
                    f"seq {i} pos {t} id {s['token_ids'][t]}: "
                    + " ".join(f"{x['layer']}:{x['column']}:{x['row']}" for x in reads)
                )
        return "\n".join(lines)
    if kind == "readmap":
        lines = [head]
        for m in r["read_maps"]:
            lines.append(
                f"{len(m['hits'])} hits at positions {m['positions_hit']}; {m['locality']['statement']} (derived)"
            )
            lines += [
                f"  pos {h['position']} {h['token']!r} table {h['layer']} col {h['column']} row {h['row']} "
                f"n-gram {' '.join(h['ngram'])} -> {', '.join(h['facts']) or ', '.join(h['users'])}"
                for h in m["hits"]
            ]
        return "\n".join(lines)
    if kind == "census":
        from engram_probe.hashaudit.census import without_facts_notes

        s = r["summary"]
        lines = [
            head,
            f"{s['users']} users, {s['facts']} facts, {s['rows_written']} rows written, "
            f"{s['rows_written_by_several_users']} by several users, {s['conflicting_rows']} conflicting",
        ]
        lines += [f"  WARNING {note}" for note in without_facts_notes(r)]
        lines += [
            f"  {f['user']}/{f['fact_id']}: " + ", ".join(f"{k} {v}" for k, v in f["counts"].items() if v)
            for f in r["facts"]
        ]
        lines += [
            f"  {' & '.join(p['users'])}: {p['shared_rows']} shared rows, {p['conflicting_rows']} conflicting"
            for p in r["user_pairs"]
        ]
        return "\n".join(lines)
    failed = [f"  UNREAD {_where(f)}: {f['error']}" for f in r.get("failed_shards", [])]
    return "\n".join(
        [
            head,
            f"{r['positions_hit']:,} of {r['tokens']:,} positions in {r['corpus']['shards']} shards read an edited "
            f"row ({r['fraction_hit']:.4%}); {r['rows_hit']} rows hit",
        ]
        + [f"  {u['hits']:>8,}  user {u['user']}" for u in r.get("users", [])]
        + [f"  {f['hits']:>8,}  {f['fact']}" for f in r["facts"]]
        + failed
    )


def _show(args: argparse.Namespace) -> None:
    from engram_probe.contracts import ContractError, load_contract

    try:
        c = load_contract(args.contract, args.config, args.tokenizer)
    except ContractError as exc:
        raise CliError(str(exc)) from exc
    d = c.describe()
    lines = [
        f"{c.name} v{c.version}  sha256 {d['sha256']}",
        f"source: {c.source}",
        f"row format: {c.row_format.dim} values, {c.row_format.bytes_per_row} B ({c.row_format.encoding})",
    ]
    spec = c.spec()
    for L in c.layers:
        mult = spec.get("multipliers", {}).get(str(L), spec.get("layer_multipliers"))
        lines.append(f"table {L}: {c.table_rows(L):,} rows, multipliers {mult}")
        lines += [
            f"  col {x.column:>2} order {x.order} head {x.head}: prime {x.size:,} offset {x.offset:,}"
            for x in c.columns(L)
        ]
    lines += [f"[{'ok' if k.ok else 'FAIL'}] {k.name}: {k.detail}" for k in c.checks()]
    lines += [f"note: {n}" for n in d.get("notes", [])]
    emit(args, d, "\n".join(lines))


def _placement(args: argparse.Namespace) -> Any:
    from engram_probe.scale.engine import Placement

    if args.action != "scan":
        return Placement()
    try:
        return Placement(args.scheduler, args.workers)
    except ValueError as exc:
        raise CliError(str(exc)) from exc


def _resume_dir(args: argparse.Namespace) -> str | None:
    if args.action != "scan":
        return None
    if args.resume:
        return args.resume
    return f"{args.report}.parts" if args.report else None


@command("contract", "hash-only audits of any Engram model from its address contract (no weights)")(_contract_args)
def cmd_contract(args: argparse.Namespace) -> None:
    """Run the action: describe the contract, address a text, census overlays, scan corpora or census a population."""
    if args.action == "population":
        return run_population(args)  # the same handler as the ``population`` alias
    from engram_probe.contracts import ContractError
    from engram_probe.hashaudit.jobs import open_contract
    from engram_probe.hashaudit.render import write_contract_html
    from engram_probe.hashaudit.report import build_report
    from engram_probe.overlays import OverlayFileError
    from engram_probe.scale.shards import ShardError

    if args.action == "show":
        return _show(args)
    signing = signing_arg(args, args.report)
    if getattr(args, "user", None) and not getattr(args, "store", None):
        raise CliError("--user picks users of a memory store: give --store DB too")
    bar = progress_bar("scan", unit="B")
    resume = _resume_dir(args)
    try:
        inputs = _job_inputs(args)
        contract = open_contract(inputs)
        if inputs.token_ids is not None:
            _check_tokens(args.tokens, contract, inputs.token_ids)
        doc = build_report(
            args.action, inputs, bar if args.action == "scan" else None, contract, _placement(args), resume
        )
    except (ContractError, OverlayFileError, ShardError, ValueError, OSError) as exc:
        raise CliError(str(exc)) from exc
    finally:
        bar.close()
    failed = doc["result"].get("failed_shards") or []
    if failed and len(failed) == doc["result"]["corpus"]["shards"]:
        f = failed[0]
        raise CliError(f"no shard could be read; first: {_where(f)}: {f['error']}")
    signed = write_report_files(
        doc, args.report, args.html, args.pdf, write_contract_html, signing, operator=operator_arg(args)
    )
    signed_line(signed, signing)
    if args.json:
        print(json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False))
    else:
        print(_human(doc))
    if failed:
        for f in failed:
            print(
                f"engram-probe contract scan: unreadable shard {_where(f)}: {f['error']}",
                file=sys.stderr,
            )
        print(
            f"engram-probe contract scan: {len(failed)} of {doc['result']['corpus']['shards']} shards not counted; "
            "fix them and rerun with the same --resume folder to scan only those",
            file=sys.stderr,
        )
        raise SystemExit(1)
    if resume and not args.resume and Path(resume).is_dir():
        shutil.rmtree(resume)  # the default parts folder: every shard is in the report now
    return None
