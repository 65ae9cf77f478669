"""``engram-probe verify``: re-derive a report of any kind, signed or not, and print each check."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from engram_probe.cli.framework import CliError, add_model_arg, command, emit


def _verify_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("report", help="JSON report to verify")
    add_model_arg(p)
    p.add_argument(
        "--store",
        default=None,
        help="the memory store to re-run against, e.g. one that has moved (read-only; it must hold the report's user "
        "with the memory digest the report records; default: the store the report names, if it is there)",
    )
    p.add_argument("--memory", default=None, help="an exported memory file to re-run against (instead of a store)")
    p.add_argument("--adapter", default=None, help="layered reports: the shared adapter file the report was made with")
    p.add_argument("--config", default=None, help="population reports: the contract's config (default: its preset)")
    p.add_argument("--tokenizer", default=None, help="population reports: the contract's tokenizer")
    p.add_argument(
        "--heldout",
        default=None,
        help="audit reports: the held-out texts file the contrasts used (default: the pinned set, or the file at the "
        "path the report names, matched by digest)",
    )
    p.add_argument("--key", metavar="PUB", default=None, help="a signed report: the signer's public key file")
    p.add_argument(
        "--trusted-keys",
        metavar="FILE",
        default=None,
        help="a signed report: a JSON list of trusted keys (name, key_id, public_key_pem), or one public key file",
    )
    p.add_argument("--json", action="store_true")


@command("verify", "re-run a report's audit and check every digest and claim (exit 1 on any mismatch)")(_verify_args)
def cmd_verify(args: argparse.Namespace) -> int:
    """Re-derive a report of any kind (audit, contract, layered, population) and print each check; 1 when any fails."""
    from engram_probe.report.checks import made_by_note, result_lines
    from engram_probe.report.kinds import verify_file
    from engram_probe.report.signed import is_envelope, verify_signed

    trusted = _trusted_arg(args)
    if trusted is None and is_envelope(args.report):
        raise CliError(
            f"{Path(args.report).name} is a signed attestation: give the signer's public key (--key PUB) or a "
            "trusted-keys file (--trusted-keys FILE) to check it"
        )
    if trusted is not None and is_envelope(args.report):
        from engram_probe.cli.key import certificate_result

        certificate = certificate_result(args, trusted)
        if certificate is not None:
            return certificate
    verify = verify_file if trusted is None else lambda path, **o: verify_signed(path, trusted, **o)
    result = verify(
        args.report,
        model_dir=args.model,
        store_path=args.store,
        memory_path=args.memory,
        adapter_path=args.adapter,
        config_path=args.config,
        tokenizer_path=args.tokenizer,
        heldout_path=args.heldout,
        engram_dir=args.engram,
    )
    signers = [
        f"signed by {s['name']} ({s['role']}) with key {s['key_id']} at {s['signed_at']}"
        for s in result.get("signers", [])
    ]
    lines = signers + result_lines(result)
    if trusted is None:  # before the verdict, which stays the last line
        lines.insert(len(lines) - 1, made_by_note(_json_or_none(args.report)))
    emit(args, result, "\n".join(lines))
    return 0 if result["ok"] else 1


def _json_or_none(path: str) -> Any:
    """The report's JSON, or None when it cannot be read (verify has already said why)."""
    from engram_probe.report.kernel import ReportError, read_json_file

    try:
        return read_json_file(Path(path))
    except ReportError:
        return None


def _trusted_arg(args: argparse.Namespace) -> Any:
    """The keys ``--key`` and ``--trusted-keys`` name, by key id; None when neither is given."""
    from engram_probe.attest.keys import KeyFileError, load_trusted

    named = [p for p in (args.key, args.trusted_keys) if p]
    if not named:
        return None
    try:
        return {kid: k for p in named for kid, k in load_trusted(p).items()}
    except KeyFileError as exc:
        raise CliError(str(exc)) from exc
