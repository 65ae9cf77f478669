"""The CLI's framework: the command registry, the one-line error, output and the argument helpers every group shares.

It imports no command group: groups import it, and ``engram_probe.cli`` builds the parser from the groups.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

Handler = Callable[[argparse.Namespace], Any]
ArgsBuilder = Callable[[argparse.ArgumentParser], None]
COMMANDS: dict[str, tuple[Handler, ArgsBuilder, str]] = {}


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def command(name: str, help_text: str) -> Callable[[ArgsBuilder], Callable[[Handler], Handler]]:
    """Register a top-level command: ``@command(name, help)(add_args)`` above its handler."""

    def register(add_args: ArgsBuilder) -> Callable[[Handler], Handler]:
        def bind(handler: Handler) -> Handler:
            COMMANDS[name] = (handler, add_args, help_text)
            return handler

        return bind

    return register


def emit(args: argparse.Namespace, payload: dict[str, Any], human: str) -> None:
    """Print ``payload`` as JSON under ``--json``, else the human-readable text."""
    if getattr(args, "json", False):
        print(json.dumps(payload, indent=2, sort_keys=True, default=str))
    else:
        print(human)


class _LazyHelp:
    """A help text made only when help is printed, so that building the parser imports nothing heavy."""

    def __init__(self, make: Callable[[], str]) -> None:
        self._make = make

    def __str__(self) -> str:
        return self._make()

    def __bool__(self) -> bool:
        return True

    def strip(self) -> str:
        return str(self).strip()

    def __mod__(self, params: object) -> str:  # argparse expands %(default)s and the like with ``help % params``
        return str(self) % params


def lazy_help(make: Callable[[], str]) -> str:
    """``help=lazy_help(lambda: ...)``: argparse reads it as text when (and only when) it prints help."""
    return cast(str, _LazyHelp(make))


def overlay_formats_help() -> str:
    """The overlay formats the registry knows, in one line (imported only when help is printed)."""
    from engram_probe.overlays.registry import formats_help

    return formats_help()


def add_model_arg(p: argparse.ArgumentParser) -> None:
    """``--model``, ``--engram`` and ``--trust-pickle``."""
    p.add_argument(
        "--model",
        default=None,
        help="model directory: a workbench model, a nanochat-engram checkpoint (model.pt + config.json + "
        "tokenizer.json), or a Hugging Face base folder with --engram; default: the shipped model",
    )
    p.add_argument(
        "--engram",
        default=None,
        metavar="ADAPTER_DIR",
        help="an engram-peft adapter folder (config.json + engram_adapters.safetensors) for the --model base folder",
    )
    p.add_argument(
        "--trust-pickle",
        action="store_true",
        help="allow pickled files: a nanochat checkpoint's engram_canonical_map.pkl, a base's .bin weights, an "
        "adapter's .pt or .bin files (loading a pickle can run code)",
    )


def load_model_arg(args: argparse.Namespace) -> Any:
    """The model ``--model`` names (the shipped one by default); a bad model directory is a one-line error."""
    from engram_probe.arch.loaded import ModelFileError
    from engram_probe.arch.loading import open_model

    try:
        engram = getattr(args, "engram", None)
        if engram is not None and args.model is None:
            raise CliError("--engram names an adapter for a Hugging Face base: give the base folder with --model")
        return open_model(args.model, getattr(args, "trust_pickle", False), engram=engram)
    except ModelFileError as exc:
        raise CliError(str(exc)) from exc


STORE_HELP = {
    "read": "SQLite memory store (opened read-only; it must exist)",
    "change": "SQLite memory store (it must exist)",
    "create": "SQLite memory store (created if no file is there; an existing file must be a store)",
}


def add_store_args(p: argparse.ArgumentParser, user: bool = True, mode: str = "read") -> None:
    """``--model``, ``--store`` (help per ``mode``), ``--user`` unless ``user`` is false, and ``--json``."""
    add_model_arg(p)
    p.add_argument("--store", required=True, help=STORE_HELP[mode])
    if user:
        p.add_argument("--user", required=True)
    if mode != "read":
        who = "who the ledger records for this change (default: the OS user)"
        p.add_argument("--operator", metavar="NAME", default=None, help=who)
    p.add_argument("--json", action="store_true", help="print JSON")


def open_store_arg(args: argparse.Namespace, mode: str = "read") -> tuple[Any, Any]:
    """The model and the store, opened in ``mode`` (read-only unless the command changes the store)."""
    from engram_probe.memory.operations import open_store
    from engram_probe.memory.store import StoreError

    lm = load_model_arg(args)
    try:
        return lm, open_store(args.store, lm, mode)  # type: ignore[arg-type]
    except StoreError as exc:
        raise CliError(str(exc)) from exc


def printable(text: str) -> str:
    """``text`` with terminal control characters escaped, safe to print."""
    from engram_probe.memory.ids import printable as shown

    return shown(text)


def user_errors() -> tuple[type[Exception], ...]:
    """The library's refusals of bad input, shown as one line."""
    from engram_probe.memory.store import StoreError

    return (StoreError, KeyError, ValueError)


def progress_bar(desc: str, unit: str = "step") -> Any:
    """A tqdm bar usable as a progress callback ``(done, total, message="")``.

    The bar appears on the first call, i.e. once work has started: an input error found before
    that prints one line and no bar.
    """
    state: dict[str, Any] = {}

    def update(done: int, total: int, message: str = "") -> None:
        from tqdm.auto import tqdm

        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = tqdm(
                total=total, desc=desc, unit=unit, unit_scale=unit == "B", leave=False, mininterval=0.5
            )
        if bar.total != total:
            bar.total = total
        bar.n = done
        if message:
            bar.set_postfix_str(message, refresh=False)
        now = time.monotonic()
        if done >= total or now - state.get("shown", 0.0) >= 0.5:  # at most two redraws a second
            state["shown"] = now
            bar.refresh()

    update.close = lambda: state["bar"].close() if "bar" in state else None  # type: ignore[attr-defined]
    return update


def add_sign_args(p: argparse.ArgumentParser) -> None:
    """``--sign KEY`` and ``--operator NAME``: sign the report written (the attestation goes beside its JSON)."""
    p.add_argument(
        "--sign",
        metavar="KEY",
        default=None,
        help="sign the report with this Ed25519 private key (engram-probe key generate): a signed attestation "
        "is written beside the JSON report as NAME.dsse.json, and the HTML/PDF carry a signature block",
    )
    p.add_argument(
        "--operator",
        metavar="NAME",
        default=None,
        help="who made the report: recorded in it, and in its signature when signed (default: the OS user)",
    )


def private_key_arg(path: str) -> Any:
    """The private key at ``path``; a warning on broad permissions is printed, any problem is a one-line error."""
    import warnings

    from engram_probe.attest.keys import KeyFileError, KeyPermissionWarning, load_private

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", KeyPermissionWarning)
        try:
            key = load_private(path)
        except KeyFileError as exc:
            raise CliError(str(exc)) from exc
    for w in seen:
        print(f"warning: {w.message}", file=sys.stderr)
    return key


def operator_arg(args: argparse.Namespace) -> str:
    """``--operator``, or the OS user running this process."""
    from engram_probe.memory.store import default_operator

    return str(getattr(args, "operator", None) or default_operator())


def signing_arg(args: argparse.Namespace, json_out: str | None) -> tuple[Any, str] | None:
    """(key, operator) when ``--sign`` is given, checked before any work: the key loads, the report has a file."""
    if not getattr(args, "sign", None):
        return None
    if not json_out or json_out == "-":
        raise CliError("a signed attestation is written beside the JSON report: name the report's file to sign it")
    return private_key_arg(args.sign), operator_arg(args)


def signed_line(signed: Path | None, signing: tuple[Any, str] | None) -> None:
    """Say where the signed attestation was written, by whom and with which key id (nothing when unsigned)."""
    if signed is None or signing is None:
        return
    from engram_probe.attest.keys import key_id

    print(f"signed by {signing[1]} with key {key_id(signing[0])}: {signed}", file=sys.stderr)


def write_report_files(
    doc: dict[str, Any],
    json_out: str | None,
    html_out: str | None,
    pdf_out: str | None,
    render_html: Callable[[dict[str, Any], str], Any] | None = None,
    signing: tuple[Any, str] | None = None,
    *,
    operator: str | None,
) -> Path | None:
    """Write a report as JSON ('-' prints it), HTML and PDF; ``render_html`` defaults to the audit report's.

    A new report records ``operator`` (``operator_arg``: ``--operator``, or the OS user) as who made it, in every
    output; None renders an existing report as it is (no JSON is written then).
    With ``signing`` (``signing_arg``'s key and operator) the signed attestation is made first (nothing is
    written when it cannot be), written beside the JSON report, and the HTML and PDF carry its signature block;
    returns the attestation's path.
    """
    from engram_probe.report.kernel import attribute
    from engram_probe.report.printing import PdfError, html_to_pdf, save_json_report

    who = signing[1] if signing is not None else operator
    if who is not None:
        attribute(doc, who)
    elif json_out:
        raise ValueError("a report file written records who made it: give the operator")
    if render_html is None:
        from engram_probe.report.render import write_html

        render_html = write_html
    envelope, signed = None, None
    if signing is not None and json_out:
        from engram_probe.attest.statement import StatementError
        from engram_probe.report.signed import envelope_path, sign_report

        try:
            envelope = sign_report(doc, *signing)
        except StatementError as exc:
            raise CliError(str(exc)) from exc
        signed = envelope_path(json_out)
    if json_out == "-":
        print(json.dumps(doc, indent=1, sort_keys=True))
    elif json_out:
        save_json_report(doc, json_out)
    if envelope is not None and signed is not None:
        from engram_probe.report.signed import write_envelope

        write_envelope(envelope, signed)
    html_path = html_out or (str(Path(pdf_out).with_suffix(".html")) if pdf_out else None)
    if html_path and envelope is not None and signed is not None:
        from engram_probe.report.html import write_page
        from engram_probe.report.signed import signed_html

        write_page(signed_html(envelope, signed.name), html_path)
    elif html_path:
        render_html(doc, html_path)
    if pdf_out and html_path:  # html_path is always set when pdf_out is
        try:
            html_to_pdf(html_path, pdf_out)
        except PdfError as exc:
            raise CliError(str(exc)) from exc
    return signed
