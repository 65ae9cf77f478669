"""``engram-probe isolation probe``: the paper's cross-user probe with the shared table, each leak attributed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engram_probe.cli.framework import CliError, add_model_arg, emit, load_model_arg, progress_bar, user_errors

ACTION = "probe"
HELP = "ask each user the other users' questions with the shared table, and attribute every answer served from another"


def add_args(p: argparse.ArgumentParser) -> None:
    add_model_arg(p)
    p.add_argument("--users-dir", required=True, help="folder of user files in the paper's format (or one file)")
    p.add_argument("--users", type=int, default=None, help="use the first N users (default: all)")
    p.add_argument("--facts", type=int, default=50, help="facts per user, at most (default 50)")
    p.add_argument("--strategy", default="opt", choices=["unembed", "opt"], help="write strategy (default opt)")
    p.add_argument(
        "--store",
        default=None,
        help="SQLite memory store: users' facts already in it are reused, the others are written and kept there",
    )
    p.add_argument("--no-paraphrases", action="store_true", help="ask only the prompts the facts were written with")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--report", default=None, help="write the whole result, every leak included, to this JSON file")


def _positive(value: int | None, name: str) -> None:
    if value is not None and value < 1:
        raise CliError(f"{name} must be at least 1, got {value}")


def run(args: argparse.Namespace) -> None:
    from engram_probe.data.synthetic_users import load_users
    from engram_probe.isolation.probe import cross_user_probe
    from engram_probe.isolation.probe_summary import summary_lines
    from engram_probe.isolation.probe_users import probe_memories
    from engram_probe.memory.operations import open_store
    from engram_probe.memory.store import StoreError

    _positive(args.users, "--users")
    _positive(args.facts, "--facts")
    try:
        records = load_users(args.users_dir)[: args.users]
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    if len(records) < 2:
        raise CliError(f"{args.users_dir}: the probe needs at least two users, found {len(records)}")
    lm = load_model_arg(args)
    try:
        store = open_store(args.store, lm, "create") if args.store else None
    except StoreError as exc:
        raise CliError(str(exc)) from exc
    writing, asking = progress_bar("writing facts", "fact"), progress_bar("asking", "probe")
    try:
        memories, paraphrases, written = probe_memories(lm, records, args.facts, args.strategy, store, progress=writing)
        writing.close()  # type: ignore[attr-defined]
        if sum(len(m) for m in memories) == 0:
            raise CliError(
                f"{args.users_dir}: this model can hold none of these users' facts (its tokenizer cannot spell "
                "their answers in at most 32 tokens, or its context is too short)"
            )
        result = cross_user_probe(
            lm.model, lm.tokenizer, memories, None if args.no_paraphrases else paraphrases, progress=asking
        )
        asking.close()  # type: ignore[attr-defined]
    except user_errors() as exc:
        raise CliError(str(exc)) from exc
    finally:
        if store is not None:
            store.close()
    result |= {
        "users_source": str(args.users_dir),
        "model_sha256": lm.weights_sha256,
        "strategy": args.strategy,
        "facts_per_user_cap": args.facts,
        "facts_written_now": written,
    }
    if args.report:
        try:
            Path(args.report).write_text(json.dumps(result, indent=1, sort_keys=True))
        except OSError as exc:
            raise CliError(f"cannot write the report {args.report}: {exc.strerror or exc}") from exc
    short = {k: v for k, v in result.items() if k != "leaks"}
    emit(args, short, "\n".join(summary_lines(result)))
