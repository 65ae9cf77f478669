"""``engram-probe serve``: start the workbench UI, found through an entry point so that the library never imports it.

A UI registers itself in its package metadata::

    [project.entry-points."engram_probe.apps"]
    workbench = "workbench.app:serve"
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from engram_probe.cli.framework import CliError, add_model_arg, command

APPS_GROUP = "engram_probe.apps"
APP_NAME = "workbench"


def find_app(name: str = APP_NAME) -> Callable[..., Any]:
    """The ``serve`` function the installed UI registered under ``name``; a one-line error if there is none."""
    from importlib.metadata import entry_points

    found = [e for e in entry_points(group=APPS_GROUP) if e.name == name]
    if not found:
        raise CliError(f"the {name} UI is not installed, so there is nothing to serve")
    try:
        return found[0].load()
    except ImportError as exc:
        raise CliError(f"the {name} UI is installed but cannot start: {exc}") from exc


def _serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (others than loopback need --auth-file)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument(
        "--workdir",
        default=None,
        help="where the memory store goes (default: engram-workbench/<model digest> in $XDG_DATA_HOME or "
        "~/.local/share, kept across restarts)",
    )
    p.add_argument("--auth-file", default=None, help="JSON file of operator accounts (see the README's Security model)")
    p.add_argument(
        "--sign-key",
        metavar="PATH",
        default=None,
        help="an Ed25519 private key (engram-probe key generate) the Export tab may sign reports with; it is read "
        "once at start-up and kept in memory only",
    )
    add_model_arg(p)


@command("serve", "serve the Gradio workbench")(_serve_args)
def cmd_serve(args: argparse.Namespace) -> None:
    """Serve the workbench UI until interrupted."""
    serve = find_app()
    try:
        if args.engram is not None and args.model is None:
            raise CliError("--engram names an adapter for a Hugging Face base: give the base folder with --model")
        extra: dict[str, Any] = {"engram": args.engram} if args.engram is not None else {}  # a UI without it serves
        if args.sign_key is not None:
            extra["sign_key"] = args.sign_key
        serve(
            host=args.host,
            port=args.port,
            model_dir=args.model,
            workdir=args.workdir,
            auth_file=args.auth_file,
            **extra,
        )
    except ValueError as exc:  # the UI's refusals of its settings (accounts, binding, model directory, signing key)
        raise CliError(str(exc)) from exc
