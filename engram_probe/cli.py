"""``engram-probe``: the command line, a thin layer over the library."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

Handler = Callable[[argparse.Namespace], Any]
COMMANDS: dict[str, tuple[Handler, Callable[[argparse.ArgumentParser], None], str]] = {}


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def command(name: str, help_text: str) -> Callable[[Callable[[argparse.ArgumentParser], None]], Any]:
    def register(add_args: Callable[[argparse.ArgumentParser], None]) -> Any:
        def bind(handler: Handler) -> Handler:
            COMMANDS[name] = (handler, add_args, help_text)
            return handler

        return bind

    return register


def emit(args: argparse.Namespace, payload: dict[str, Any], human: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(payload, indent=2, sort_keys=True, default=str))
    else:
        print(human)


def load_model_arg(args: argparse.Namespace) -> Any:
    from engram_probe.checkpoint import ModelFileError, load_checkpoint

    try:
        return load_checkpoint(args.model)
    except ModelFileError as exc:
        raise CliError(str(exc)) from exc


def add_model_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None, help="model directory (default: the shipped model)")


# ---------------------------------------------------------------------------- train
def _train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="directory to write the model into")
    p.add_argument("--steps", type=int, default=2500)
    p.add_argument("--docs", type=int, default=60000, help="documents to generate for the corpus")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--no-twin", action="store_true", help="skip the no-Engram twin")
    p.add_argument("--json", action="store_true")


@command("train", "train the default Engram model (and its no-Engram twin) from a generated corpus")(_train_args)
def cmd_train(args: argparse.Namespace) -> None:
    from engram_probe.config import EngramConfig
    from engram_probe.pretrain import PretrainPlan, build_default_model
    from engram_probe.training import TrainSettings

    plan = PretrainPlan(
        n_docs=args.docs,
        settings=TrainSettings(steps=args.steps, batch_size=args.batch_size),
        train_twin=not args.no_twin,
    )
    facts = build_default_model(args.out, EngramConfig(), plan)
    emit(args, facts["heldout"], f"saved to {args.out}; held-out loss {facts['heldout']}")


# ---------------------------------------------------------------------------- info
def _info_args(p: argparse.ArgumentParser) -> None:
    add_model_arg(p)
    p.add_argument("--json", action="store_true")


@command("info", "describe a model: digest, config, parameters, held-out loss")(_info_args)
def cmd_info(args: argparse.Namespace) -> None:
    from engram_probe.describe import model_info

    info = model_info(load_model_arg(args))
    human = "\n".join(
        [
            f"model     {info['model']['path']}",
            f"sha256    {info['model']['sha256']}",
            f"layers    {info['config']['n_layers']} (Engram at {info['config']['engram_layers']})",
            f"params    {info['params']['total']:,} ({info['params']['engram_tables']:,} in Engram tables)",
            f"held-out  {info['heldout']['loss']:.4f} nats/token (no-Engram twin {info['heldout']['loss_no_engram']})",
        ]
    )
    emit(args, info, human)


# ---------------------------------------------------------------------------- memory
def add_store_args(p: argparse.ArgumentParser, user: bool = True) -> None:
    add_model_arg(p)
    p.add_argument("--store", required=True, help="SQLite memory store (created if missing)")
    if user:
        p.add_argument("--user", required=True)
    p.add_argument("--json", action="store_true", help="print JSON")


def open_store_arg(args: argparse.Namespace) -> tuple[Any, Any]:
    from engram_probe.api import open_store
    from engram_probe.memory.store import StoreError

    lm = load_model_arg(args)
    try:
        return lm, open_store(args.store, lm)
    except StoreError as exc:
        raise CliError(str(exc)) from exc


def user_errors() -> tuple[type[Exception], ...]:
    from engram_probe.memory.store import StoreError

    return (StoreError, KeyError, ValueError)


def _write_args(p: argparse.ArgumentParser) -> None:
    add_store_args(p)
    p.add_argument("--prompt", action="append", help="trigger prompt (repeat for paraphrases)")
    p.add_argument("--answer")
    p.add_argument("--facts", help="JSON file of facts (list of {prompt, answer}, or a user file)")
    p.add_argument("--strategy", default=None, choices=["unembed", "opt", "joint"],
                   help="default: opt for one fact, joint for --facts")
    p.add_argument("--layer", default="late", help="early, late, or an Engram layer index")
    p.add_argument("--steps", type=int, default=None, help="optimisation steps (opt/joint)")


@command("write", "write one fact (or a facts file, jointly) into a user's memory")(_write_args)
def cmd_write(args: argparse.Namespace) -> None:
    from dataclasses import replace

    from engram_probe.api import specs_from_file, write_facts, write_summary
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
            settings = replace(settings, opt_steps=args.steps, joint_steps=args.steps)
        lm, store = open_store_arg(args)
        bar = progress_bar(f"{strategy} write")
        result, entry = write_facts(lm, store, args.user, specs, strategy, args.layer, settings, bar)
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


def progress_bar(desc: str) -> Any:
    """A tqdm bar usable as a ``Progress`` callback (step, total, message)."""
    from tqdm.auto import tqdm

    bar = tqdm(total=0, desc=desc, unit="step", leave=False, mininterval=0.5)

    def update(step: int, total: int, message: str) -> None:
        if bar.total != total:
            bar.reset(total=total)
        bar.n = step
        bar.set_postfix_str(message, refresh=False)
        bar.refresh()

    update.close = bar.close  # type: ignore[attr-defined]
    return update


def _erase_args(p: argparse.ArgumentParser) -> None:
    add_store_args(p)
    p.add_argument("--fact", action="append", help="fact id to erase (repeat); omit to erase the whole user")


@command("erase", "erase facts, or a whole user, exactly")(_erase_args)
def cmd_erase(args: argparse.Namespace) -> None:
    _, store = open_store_arg(args)
    try:
        entry = store.erase(args.user, args.fact)
    except user_errors() as exc:
        raise CliError(str(exc)) from exc
    emit(args, entry.as_dict(), f"erased {len(entry.fact_ids)} fact(s) of {args.user}; memory now {entry.digest_after}")


def _users_args(p: argparse.ArgumentParser) -> None:
    add_store_args(p, user=False)


@command("users", "list the users in a store")(_users_args)
def cmd_users(args: argparse.Namespace) -> None:
    _, store = open_store_arg(args)
    users = store.users()
    human = "\n".join(f"{u['user']:<16} {u['facts']:>4} facts {u['rows']:>6} rows {u['bytes']:>8} B" for u in users)
    emit(args, {"users": users, "ledger_problems": store.verify_ledger()}, human or "no users")


def _facts_args(p: argparse.ArgumentParser) -> None:
    add_store_args(p)


@command("facts", "list a user's facts")(_facts_args)
def cmd_facts(args: argparse.Namespace) -> None:
    _, store = open_store_arg(args)
    try:
        mem = store.load(args.user)
    except user_errors() as exc:
        raise CliError(str(exc)) from exc
    facts = [f.meta() for f in mem.facts]
    human = "\n".join(f"{f['fact_id']}  {f['strategy']:<7} L{f['layer']}  {f['triggers'][0]!r} -> {f['answer']!r}"
                      for f in facts)
    emit(args, {"user": args.user, "facts": facts, **mem.summary()}, human or "no facts")


def _export_args(p: argparse.ArgumentParser) -> None:
    add_store_args(p)
    p.add_argument("--out", required=True, help="safetensors file to write")


@command("export", "export a user's memory as one safetensors file")(_export_args)
def cmd_export(args: argparse.Namespace) -> None:
    from engram_probe.memory.transfer import export_memory

    lm, store = open_store_arg(args)
    try:
        out = export_memory(store.load(args.user), args.out, lm.weights_sha256)
    except user_errors() as exc:
        raise CliError(str(exc)) from exc
    emit(args, out, f"wrote {out['facts']} facts of {args.user} to {args.out}")


def _import_args(p: argparse.ArgumentParser) -> None:
    add_store_args(p, user=False)
    p.add_argument("--file", required=True, help="safetensors memory file")
    p.add_argument("--as-user", default=None, help="import under another user id")


@command("import", "import a user's memory file after validating it against the model")(_import_args)
def cmd_import(args: argparse.Namespace) -> None:
    from engram_probe.memory.transfer import import_memory

    lm, store = open_store_arg(args)
    try:
        entry = import_memory(store, args.file, lm.model, lm.weights_sha256, args.as_user)
    except user_errors() as exc:
        raise CliError(str(exc)) from exc
    emit(args, entry.as_dict(), f"imported {len(entry.fact_ids)} facts for {entry.user_id}")


# ---------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="engram-probe", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (handler, add_args, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_args(p)
        p.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except CliError as exc:
        print(f"engram-probe {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
