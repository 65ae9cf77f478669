"""``engram-probe write|erase|users|facts|export|import|init``: a memory store and the users' facts in it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engram_probe.cli.framework import (
    CliError,
    add_model_arg,
    add_store_args,
    command,
    emit,
    lazy_help,
    open_store_arg,
    overlay_formats_help,
    printable,
    progress_bar,
    user_errors,
)


def warn_problems(store: Any, user_ids: list[str]) -> list[str]:
    """Print the ledger check's findings loudly (stderr) and return them."""
    found = [p for u in user_ids for p in store.problems(u)]
    for p in dict.fromkeys(found):
        print(f"WARNING: ledger check failed: {printable(p)}", file=sys.stderr)
    return list(dict.fromkeys(found))


def _write_args(p: argparse.ArgumentParser) -> None:
    from engram_probe.contracts.workbench_config import DEFAULT_LAYER

    add_store_args(p, mode="create")
    p.add_argument("--prompt", action="append", help="trigger prompt (repeat for paraphrases)")
    p.add_argument("--answer")
    p.add_argument("--facts", help="JSON file of facts (list of {prompt, answer}, or a user file)")
    p.add_argument(
        "--strategy",
        default=None,
        choices=["unembed", "opt", "joint"],
        help="default: opt for one fact, joint for --facts",
    )
    p.add_argument(
        "--layer", default=DEFAULT_LAYER, help=f"early, late, or an Engram layer index (default {DEFAULT_LAYER})"
    )
    p.add_argument("--steps", type=int, default=None, help="optimisation steps (opt/joint)")


@command("write", "write one fact (or a facts file, jointly) into a user's memory")(_write_args)
def cmd_write(args: argparse.Namespace) -> None:
    """Write ``--prompt``/``--answer`` (or every fact of ``--facts``) into the user's memory."""
    from dataclasses import replace

    from engram_probe.memory.operations import specs_from_file, write_facts, write_summary
    from engram_probe.memory.writing import FactSpec, WriteSettings

    if bool(args.facts) == bool(args.prompt):
        raise CliError("give either --prompt/--answer or --facts")
    try:
        if args.facts:
            specs = specs_from_file(args.facts)
            strategy = args.strategy or "joint"
        else:
            if args.answer is None:
                raise CliError("--answer is required with --prompt")
            specs = [FactSpec.of(args.prompt, args.answer)]
            strategy = args.strategy or "opt"
        settings = WriteSettings()
        if args.steps is not None:
            # an explicit budget is exact: no continuation past it
            settings = replace(settings, opt_steps=args.steps, joint_steps=args.steps, opt_max_steps=0)
        lm, store = open_store_arg(args, "create")
        bar = progress_bar(f"{strategy} write")
        try:
            result, entry = write_facts(lm, store, args.user, specs, strategy, args.layer, settings, bar)
        finally:
            bar.close()
    except user_errors() as exc:
        raise CliError(str(exc)) from exc
    out = write_summary(result, entry)
    human = "\n".join(
        f"{f['fact_id']}  {f['triggers'][0]!r} -> {f['answer']!r}  rank {f['recall']['rank_before']} -> "
        f"{f['recall']['rank_after']}  ({len(f['rows'])} rows, {f['bytes']} B)"
        for f in out["facts"]
    )
    emit(args, out, human)


def _erase_args(p: argparse.ArgumentParser) -> None:
    add_store_args(p, mode="change")
    p.add_argument("--fact", action="append", help="fact id to erase (repeat); omit to erase the whole user")


@command("erase", "erase facts, or a whole user, exactly")(_erase_args)
def cmd_erase(args: argparse.Namespace) -> None:
    """Erase the named facts, or the whole user."""
    _, store = open_store_arg(args, "change")
    try:
        entry = store.erase(args.user, args.fact)
    except user_errors() as exc:
        raise CliError(str(exc)) from exc
    emit(args, entry.as_dict(), f"erased {len(entry.fact_ids)} fact(s) of {args.user}; memory now {entry.digest_after}")


def _users_args(p: argparse.ArgumentParser) -> None:
    add_store_args(p, user=False)


@command("users", "list the users in a store")(_users_args)
def cmd_users(args: argparse.Namespace) -> None:
    """List the store's users, naming any that fail the ledger check."""
    _, store = open_store_arg(args)
    users = store.users()
    problems = store.verify_ledger()
    for p in problems:
        print(f"WARNING: ledger check failed: {printable(p)}", file=sys.stderr)
    human = "\n".join(
        f"{printable(u['user']):<16} "
        + (f"{u['facts']:>4} facts {u['rows']:>6} rows {u['bytes']:>8} B" if u["facts"] is not None else "unreadable")
        + ("  TAMPERED: fails the ledger check" if u["problems"] else "")
        for u in users
    )
    emit(args, {"users": users, "ledger_problems": problems}, human or "no users")


def _facts_args(p: argparse.ArgumentParser) -> None:
    add_store_args(p)


@command("facts", "list a user's facts")(_facts_args)
def cmd_facts(args: argparse.Namespace) -> None:
    """List the user's facts, flagged when they fail the ledger check."""
    _, store = open_store_arg(args)
    try:
        mem = store.load(args.user, check=False)
    except user_errors() as exc:
        raise CliError(str(exc)) from exc
    problems = warn_problems(store, [args.user])
    facts = [f.meta() for f in mem.facts]
    human = "\n".join(
        f"{f['fact_id']}  {f['strategy']:<7} L{f['layer']}  {printable(repr(f['triggers'][0]))} -> "
        f"{printable(repr(f['answer']))}"
        for f in facts
    )
    if problems:
        human = "TAMPERED: these facts fail the ledger check and are not used by any audit\n" + human
    summary = mem.summary()
    payload = {"user": args.user, "digest": summary["digest"], "summary": summary, "facts": facts}
    emit(args, payload | {"problems": problems}, human or "no facts")


def _export_args(p: argparse.ArgumentParser) -> None:
    add_store_args(p)
    p.add_argument("--out", required=True, help="safetensors file to write")


@command("export", "export a user's memory as one safetensors file")(_export_args)
def cmd_export(args: argparse.Namespace) -> None:
    """Write the user's memory (checked against the ledger) as one safetensors file."""
    from engram_probe.memory.transfer import export_memory

    lm, store = open_store_arg(args)
    try:
        memory = store.load(args.user)  # refused if it fails the ledger check: an export must not launder it
        entries = store.ledger(args.user)
        provenance = {"ledger_head": store.head(), "user_entry": entries[-1].entry_hash if entries else ""}
        out = export_memory(memory, args.out, lm.weights_sha256, lm.model.hasher, provenance)
    except user_errors() as exc:
        raise CliError(str(exc)) from exc
    emit(args, out, f"wrote {out['facts']} facts of {args.user} to {args.out}")


def _import_args(p: argparse.ArgumentParser) -> None:
    add_store_args(p, user=False, mode="create")
    p.add_argument(
        "--file",
        required=True,
        help=lazy_help(
            lambda: (
                f"the memory file: {overlay_formats_help()}; an overlay of another tool needs this model's "
                "contract and facts (FILE.facts.json beside it) for every row"
            )
        ),
    )
    p.add_argument("--as-user", default=None, help="import under another user id")


@command("import", "import a user's memory file after validating it against the model")(_import_args)
def cmd_import(args: argparse.Namespace) -> None:
    """Validate a memory file (or another tool's overlay for this model's contract) and add it to the store."""
    from engram_probe.overlays.bridge import import_file

    lm, store = open_store_arg(args, "create")
    try:
        entry = import_file(store, args.file, lm, args.as_user)
    except user_errors() as exc:
        raise CliError(str(exc)) from exc
    emit(args, entry.as_dict(), f"imported {len(entry.fact_ids)} facts for {entry.user_id}")


def _init_args(p: argparse.ArgumentParser) -> None:
    add_model_arg(p)
    p.add_argument("--store", required=True, help="path of the new store (no file may be there yet)")
    p.add_argument("--json", action="store_true", help="print JSON")


@command("init", "create an empty memory store bound to a model")(_init_args)
def cmd_init(args: argparse.Namespace) -> None:
    """Create an empty store bound to the model, only where no file is."""
    if Path(args.store).exists():
        raise CliError(f"{args.store} already exists; a store is only created where no file is")
    lm, store = open_store_arg(args, "create")
    emit(args, {"store": str(store.path), "base_sha256": store.base_sha256}, f"created an empty store at {args.store}")
