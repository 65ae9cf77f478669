"""``engram-probe ledger verify|export|sign``: the store's modification log, checked, exported and signed.

None of these loads a model: the log is read from the store file alone (opened read-only).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from engram_probe.cli.framework import CliError, command, emit, printable

GROUP_HELP = "the store's modification log: verify its hash chain, export it for log retention, sign its head"


def _open(path: str) -> Any:
    from engram_probe.memory.store import MemoryStore, StoreError

    try:
        return MemoryStore(path, mode="read")
    except StoreError as exc:
        raise CliError(str(exc)) from exc


def _verify_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", required=True, help="SQLite memory store (opened read-only; it must exist)")
    p.add_argument("--head", default=None, help="a signed head (from ledger sign): check that no entry was cut off")
    p.add_argument("--key", default=None, help="the public key, or a trusted-keys file, that signed the head")
    p.add_argument("--json", action="store_true", help="print JSON")


def run_verify(args: argparse.Namespace) -> int:
    """Walk the chain; name the first broken entry. Exit 1 when anything is broken."""
    from engram_probe.attest.dsse import EnvelopeError, SignatureError, read_envelope
    from engram_probe.attest.keys import KeyFileError, load_trusted
    from engram_probe.attest.ledger import LedgerAttestError, check_log, fault_words, verified_head

    if bool(args.head) != bool(args.key):
        raise CliError("a signed head is checked against a key: give both --head and --key")
    signed = None
    if args.head:
        try:
            trusted = load_trusted(args.key)
            signed = verified_head(read_envelope(args.head), trusted, Path(args.head).name)
        except (KeyFileError, EnvelopeError, LedgerAttestError) as exc:
            raise CliError(str(exc)) from exc
        except SignatureError as exc:
            raise CliError(f"the signed head {args.head}: {exc}") from exc
    store = _open(args.store)
    with store:
        found = check_log(store, signed)
    lines = []
    if found.first is not None:
        more = f" ({found.breaks - 1:,} more breaks after it)" if found.breaks > 1 else ""
        lines.append(f"BROKEN: the first broken entry: {printable(fault_words(found.first))}{more}")
    for problem in found.memory:
        lines.append(f"BROKEN: {printable(problem)}")
    if found.truncation:
        lines.append(f"TRUNCATED: {found.truncation}")
    if found.ok:
        lines.append(f"the log is intact: {found.entries:,} entries, each following the one before; head {found.head}")
        if signed is not None:
            by = ", ".join(signed["signers"])
            lines.append(
                f"it holds every entry of the head signed by {printable(by)} at {signed['signed_at']} "
                f"({signed['entries']:,} entries)"
            )
    payload: dict[str, Any] = {
        "intact": found.ok,
        "entries": found.entries,
        "head": found.head,
        "first_break": None,
        "breaks": found.breaks,
        "memory_problems": found.memory,
        "truncation": found.truncation,
        "signed_head": signed,
    }
    if found.first is not None:
        e = found.first.entry
        payload["first_break"] = {
            "seq": e.seq,
            "time": e.at,
            "user": e.user_id,
            "action": e.action,
            "operator": e.operator,
            "kind": found.first.kind,
            "problem": found.first.text,
        }
    emit(args, payload, "\n".join(lines))
    return 0 if found.ok else 1


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", required=True, help="SQLite memory store (opened read-only; it must exist)")
    p.add_argument("--since", default=None, help="only entries at or after this date (YYYY-MM-DD, or with a time)")
    p.add_argument("--out", default=None, help="JSON Lines file to write (default: print to the terminal)")


def run_export(args: argparse.Namespace) -> int:
    """Write the log as JSON Lines, one entry a line, oldest first."""
    from engram_probe.attest.ledger import LedgerAttestError, export_records, parse_since, write_export

    try:
        since = parse_since(args.since) if args.since else None
    except LedgerAttestError as exc:
        raise CliError(str(exc)) from exc
    store = _open(args.store)
    with store:
        records = list(export_records(store, since))
        problems = store.verify_ledger()
    for p in problems[:3]:
        print(f"WARNING: the log fails its check ({printable(p)}); run ledger verify", file=sys.stderr)
    if args.out is None:
        write_export(iter(records), sys.stdout)
        return 0
    out = Path(args.out)
    tmp = out.with_name(out.name + ".part")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            n = write_export(iter(records), fh)
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CliError(f"cannot write {out}: {exc.strerror}") from exc
    print(f"wrote {n:,} log entries to {out}", file=sys.stderr)
    return 0


def _sign_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", required=True, help="SQLite memory store (opened read-only; it must exist)")
    p.add_argument("--key", required=True, help="the Ed25519 private key file (from key generate)")
    p.add_argument("--out", default=None, help="where to write the signed head (default: STORE.head.json)")
    p.add_argument("--operator", default=None, help="the signer's name (default: the operating-system user)")
    p.add_argument("--json", action="store_true", help="print JSON")


def run_sign(args: argparse.Namespace) -> int:
    """Sign the chain head; refused when the log is broken (a signature would vouch for the break)."""
    from engram_probe.attest.keys import KeyFileError, load_private
    from engram_probe.attest.ledger import LedgerAttestError, check_log, fault_words, sign_head
    from engram_probe.memory.store import default_operator

    try:
        private = load_private(args.key)
    except KeyFileError as exc:
        raise CliError(str(exc)) from exc
    store = _open(args.store)
    with store:
        found = check_log(store)
        if not found.ok:
            why = fault_words(found.first) if found.first else "; ".join(found.memory)
            raise CliError(f"the log is broken, so its head is not signed: {printable(why)}")
        try:
            envelope = sign_head(store, private, args.operator or default_operator())
        except LedgerAttestError as exc:
            raise CliError(str(exc)) from exc
    out = Path(args.out) if args.out else Path(args.store).with_name(Path(args.store).name + ".head.json")
    tmp = out.with_name(out.name + ".part")
    try:
        tmp.write_text(json.dumps(envelope, indent=1) + "\n", encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CliError(f"cannot write {out}: {exc.strerror}") from exc
    human = f"signed the head of {found.entries:,} entries ({found.head[:16]}…) to {out}"
    emit(args, {"out": str(out), "entries": found.entries, "head": found.head}, human)
    return 0


ACTIONS = {
    "verify": ("walk the hash chain and name the first broken entry (exit 1 when broken)", _verify_args, run_verify),
    "export": ("write the log as JSON Lines for log retention", _export_args, run_export),
    "sign": ("sign the chain head with an Ed25519 key, so that a cut-off log is detected", _sign_args, run_sign),
}


def _ledger_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    for name, (help_text, add_args, _) in ACTIONS.items():
        add_args(sub.add_parser(name, help=help_text, description=help_text))


@command("ledger", GROUP_HELP)(_ledger_args)
def cmd_ledger(args: argparse.Namespace) -> int:
    """Run the chosen action."""
    return int(ACTIONS[args.action][2](args))
