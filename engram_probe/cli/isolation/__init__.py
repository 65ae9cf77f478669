"""``engram-probe isolation``: cross-tenant proofs for a shared table, one module per action.

Each module of this package that defines ``ACTION`` (the action's name), ``HELP`` (one line), ``add_args(p)`` and
``run(args)`` is an action of the group; the group lists them in ``ORDER`` first, then any other in name order.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from types import ModuleType
from typing import Any

from engram_probe.cli.framework import command

ORDER = ("merge", "prove", "probe", "exposure", "erase-plan")
GROUP_HELP = "cross-tenant isolation in a shared table: what one user's requests can get from another's rows"


def actions() -> dict[str, ModuleType]:
    """Every action module of the group, by action name, in the order the help lists them."""
    found: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        name = getattr(module, "ACTION", None)
        if isinstance(name, str):
            found[name] = module
    rank = {name: i for i, name in enumerate(ORDER)}
    return dict(sorted(found.items(), key=lambda kv: (rank.get(kv[0], len(ORDER)), kv[0])))


def _isolation_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    for name, module in actions().items():
        q = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_args(q)


@command("isolation", GROUP_HELP)(_isolation_args)
def cmd_isolation(args: argparse.Namespace) -> Any:
    """Run the chosen action."""
    return actions()[args.action].run(args)
