"""``engram-probe overlay-key|sign-overlay|verify-overlay``: signatures on memory exports, ``.pleo`` and V4.1 row files,
in OpenSSF model-signing's format (``model_signing verify key`` accepts them). No model is loaded."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from engram_probe.cli.framework import CliError, command, emit


def _key_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="where to write the private key (its public key goes to OUT.pub)")
    p.add_argument("--json", action="store_true", help="print JSON")


@command("overlay-key", "write a new ECDSA P-256 key pair for signing overlay and memory files")(_key_args)
def cmd_overlay_key(args: argparse.Namespace) -> None:
    """Write the key pair; the private key is created readable by its owner only and never printed."""
    from engram_probe.attest.keys import KeyFileError
    from engram_probe.attest.overlay import generate_overlay_key

    try:
        kid, private, public = generate_overlay_key(args.out)
    except KeyFileError as exc:
        raise CliError(str(exc)) from exc
    human = f"wrote overlay key {kid}: private key {private} (owner only), public key {public} (give this one out)"
    emit(args, {"key_id": kid, "private_key": str(private), "public_key": str(public)}, human)


def _sign_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="the memory export, .pleo or V4.1 row file to sign")
    p.add_argument("--key", required=True, help="the overlay private key (from overlay-key)")
    p.add_argument("--out", default=None, help="where to write the signature (default: FILE.sig, beside the file)")
    p.add_argument("--json", action="store_true", help="print JSON")


@command("sign-overlay", "sign a memory export, .pleo or V4.1 row file (OpenSSF model-signing format)")(_sign_args)
def cmd_sign_overlay(args: argparse.Namespace) -> None:
    """Sign the file's bytes; the signature goes beside it, so that importing or auditing a changed copy is refused."""
    from engram_probe.attest.keys import KeyFileError, KeyPermissionWarning
    from engram_probe.attest.overlay import OverlaySignatureError, load_overlay_private, overlay_key_id, sign_overlay
    from engram_probe.memory.signed_file import sha256_of
    from engram_probe.overlays.registry import detect

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"no file to sign at {path}")
    if detect(path) is None:
        raise CliError(f"{path.name} is not a memory export, .pleo or V4.1 row file; only those are signed here")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", KeyPermissionWarning)
            private = load_overlay_private(args.key)
        for w in caught:
            print(f"WARNING: {w.message}")
        out = sign_overlay(path, private, args.out)
    except (KeyFileError, OverlaySignatureError) as exc:
        raise CliError(str(exc)) from exc
    kid, digest = overlay_key_id(private), sha256_of(path)
    human = f"signed {path.name} (SHA-256 {digest[:16]}…) with overlay key {kid}: {out}"
    emit(args, {"file": str(path), "sha256": digest, "key_id": kid, "signature": str(out)}, human)


def _verify_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="the signed file")
    p.add_argument("--key", required=True, help="the signer's overlay public key (KEY.pub)")
    p.add_argument("--signature", default=None, help="the signature file (default: FILE.sig, beside the file)")
    p.add_argument("--json", action="store_true", help="print JSON")


@command("verify-overlay", "check a signed memory export, .pleo or V4.1 row file against the signer's key")(
    _verify_args
)
def cmd_verify_overlay(args: argparse.Namespace) -> int:
    """Exit 0 when the signature holds for the key and the bytes are the ones signed; 1 with the reason otherwise."""
    from engram_probe.attest.keys import KeyFileError
    from engram_probe.attest.overlay import OverlaySignatureError, load_overlay_public, verify_overlay

    try:
        public = load_overlay_public(args.key)
    except KeyFileError as exc:
        raise CliError(str(exc)) from exc
    try:
        ok = verify_overlay(args.file, public, args.signature)
    except OverlaySignatureError as exc:
        emit(args, {"verified": False, "file": args.file, "reason": str(exc)}, f"NOT VERIFIED: {exc}")
        return 1
    human = f"VERIFIED: {ok.path.name} is the file signed by overlay key {ok.key_id} (SHA-256 {ok.sha256[:16]}…)"
    emit(args, {"verified": True, "file": str(ok.path), "sha256": ok.sha256, "key_id": ok.key_id}, human)
    return 0
