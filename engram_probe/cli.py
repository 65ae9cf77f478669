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
