"""``engram-probe key generate|show`` and ``engram-probe approve``: signing keys and countersigned reports."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from engram_probe.cli.framework import CliError, command, emit, operator_arg, private_key_arg


def _key_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    g = sub.add_parser(
        "generate",
        help="write a new Ed25519 signing key (mode 0600) and its public key beside it (PATH.pub)",
        description="write a new Ed25519 signing key (mode 0600) and its public key beside it (PATH.pub); "
        "the private key is never printed",
    )
    g.add_argument("path", help="where the private key is written (it must not exist)")
    g.add_argument("--name", default=None, help="the signer's name in the trusted-keys entry (default: the OS user)")
    g.add_argument("--json", action="store_true", help="print the key id, paths and trusted-keys entry as JSON")
    s = sub.add_parser("show", help="the key id and trusted-keys entry of a public or private key file")
    s.add_argument("path", help="a public key (.pub) or private key file")
    s.add_argument("--name", default=None, help="the name in the trusted-keys entry (default: the file's name)")


@command("key", "signing keys for signed reports: generate one, or show a key's id")(_key_args)
def cmd_key(args: argparse.Namespace) -> None:
    """Generate a key pair, or show a key's id and the trusted-keys entry a verifier adds."""
    from engram_probe.attest.keys import KeyFileError, generate_key, load_public, trusted_entry

    if args.action == "generate":
        try:
            kid, private, public = generate_key(args.path)
        except KeyFileError as exc:
            raise CliError(str(exc)) from exc
        entry = trusted_entry(args.name or operator_arg(argparse.Namespace()), load_public(public))
        emit(
            args,
            {"key_id": kid, "private_key": str(private), "public_key": str(public), "trusted_entry": entry},
            f"key id {kid}\nprivate key (mode 0600, keep it to yourself): {private}\n"
            f"public key (hand it to verifiers): {public}",
        )
        return
    try:
        text = Path(args.path).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {args.path}: {exc.strerror or exc}") from exc
    try:
        key = private_key_arg(args.path).public_key() if b"PRIVATE KEY" in text else load_public(args.path)
    except KeyFileError as exc:
        raise CliError(str(exc)) from exc
    print(json.dumps(trusted_entry(args.name or Path(args.path).name.removesuffix(".pub"), key), indent=1))


def _approve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("envelope", help="a signed report (NAME.dsse.json) to countersign in place")
    p.add_argument("--key", required=True, metavar="KEY", help="the approver's Ed25519 private key")
    p.add_argument("--operator", metavar="NAME", default=None, help="the approver's name (default: the OS user)")
    p.add_argument(
        "--trusted-keys",
        metavar="FILE",
        default=None,
        help="check the signatures already there against these keys (a trusted-keys file or a public key) first",
    )


@command("approve", "countersign a signed report: a second signature by an approver")(_approve_args)
def cmd_approve(args: argparse.Namespace) -> None:
    """Add the approver's signature to a signed report (the first signature and the report are unchanged)."""
    from engram_probe.attest.dsse import EnvelopeError, SignatureError, read_envelope, verify_envelope
    from engram_probe.attest.keys import KeyFileError, key_id, load_trusted
    from engram_probe.attest.statement import StatementError
    from engram_probe.report.signed import approve_file

    key = private_key_arg(args.key)
    approver = operator_arg(args)
    try:
        if args.trusted_keys:
            verify_envelope(read_envelope(args.envelope), load_trusted(args.trusted_keys))
        approve_file(args.envelope, key, approver)
    except (EnvelopeError, SignatureError, StatementError, KeyFileError) as exc:
        raise CliError(str(exc)) from exc
    print(f"approved by {approver} with key {key_id(key)}: {args.envelope}")


def certificate_result(args: argparse.Namespace, trusted: Any) -> int | None:
    """``verify`` of a signed erasure certificate (with ``--store``, against the store's ledger); None for any other
    envelope, which ``verify`` checks as a report."""
    from engram_probe.attest.dsse import EnvelopeError, read_envelope
    from engram_probe.attest.erasure import check_certificate, is_certificate
    from engram_probe.memory.store import MemoryStore, StoreError
    from engram_probe.report.checks import result_lines

    try:
        envelope = read_envelope(args.report)
    except EnvelopeError:
        return None  # the report verify names what is wrong with it
    if not is_certificate(envelope):
        return None
    try:
        store = MemoryStore(args.store, None, mode="read") if args.store else None
    except StoreError as exc:
        raise CliError(str(exc)) from exc
    result = check_certificate(envelope, trusted, store)
    said = [
        f"signed by {s['name']} ({s['role']}) with key {s['key_id']} at {s['signed_at']}" for s in result["signers"]
    ]
    emit(args, result, "\n".join(said + result_lines(result)))
    return 0 if result["ok"] else 1
