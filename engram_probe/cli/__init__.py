"""``engram-probe``: the command line, a thin layer over the library.

Each command group is one module that registers its commands with the framework (``engram_probe.cli.framework``);
this package imports the groups, in the order ``engram-probe --help`` lists them, and builds the parser.
The framework imports no group, and no group imports this package, so there is no import circle.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from engram_probe.cli.framework import COMMANDS, CliError, command
from engram_probe.cli.population import POPULATION_HELP, population_args, run_population

DESCRIPTION = "``engram-probe``: the command line, a thin layer over the library."
GROUPS = (
    "model",
    "memory",
    "generate",
    "audit",
    "verify",
    "serve",
    "contract",
    "layered",
    "isolation",
    "ledger",
    "key",
    "overlay_sign",
)

for _group in GROUPS:
    importlib.import_module(f"{__name__}.{_group}")
# the census's old top-level name, kept as an alias of ``contract population`` (same flags, same handler)
command("population", POPULATION_HELP)(population_args)(run_population)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``engram-probe`` parser. Given ``argv``, only the commands it names get their flags: a faster start,
    and the same parse, since argparse hands the arguments to the one command named."""
    named = None if argv is None else set(argv)
    parser = argparse.ArgumentParser(prog="engram-probe", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (handler, add_args, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if named is None or name in named:
            add_args(p)
        p.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a refused input prints one line and returns 2."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    from engram_probe.extras import MissingExtra

    try:
        code = args.handler(args)
    except (CliError, MissingExtra) as exc:
        print(f"engram-probe {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (``| head``): stop quietly, as other command-line tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return int(code or 0)
