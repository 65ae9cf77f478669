"""The signature beside a memory or overlay file, as the doors that open such files check it.

A signed file ``F`` has its signature at ``F.sig``: an OpenSSF model-signing bundle (a Sigstore bundle v0.3 holding
a DSSE envelope over an in-toto Statement whose predicate lists the file's SHA-256; ``attest/overlay.py`` writes
and verifies it). Every door that reads a memory export, a ``.pleo`` file or a V4.1 row file
(``memory/transfer.read_memory_file``, ``overlays/registry.read_rows``) calls ``check_unchanged`` first: where a
signature sits beside the file, a file whose bytes are not the ones signed is refused, and with ``require`` a file
without a signature is refused too. This check needs no key: it compares the bytes with the digest the signature
lists. Who signed them is checked with the signer's public key by ``engram-probe verify-overlay``.

It lives here, below the overlay readers, so that both doors can call it; it imports no crypto.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SIG_SUFFIX = ".sig"
BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
MODEL_SIGNING_PREDICATE = "https://model_signing/signature/v1.0"
IN_TOTO_STATEMENT = "https://in-toto.io/Statement/v1"
WHOLE_FILE = "."  # model-signing's name for the one resource when the signed path is a single file


class SignedFileError(ValueError):
    """A signed file that is refused (changed since it was signed, or not signed where a signature is required),
    or a signature file that cannot be read; the message names the file."""


@dataclass(frozen=True)
class SignedDigest:
    """What a signature file says was signed: the file's name and SHA-256, the key hint, and the envelope."""

    name: str
    sha256: str
    key_hint: str
    envelope: dict[str, Any]
    statement: dict[str, Any]
    payload: bytes


def signature_path(path: str | Path) -> Path:
    """Where the signature of ``path`` sits: ``<path>.sig``."""
    p = Path(path)
    return p.with_name(p.name + SIG_SUFFIX)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_signature(sig: str | Path) -> SignedDigest:
    """Parse a model-signing bundle for one file; anything else is a SignedFileError naming the file and field."""
    p = Path(sig)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SignedFileError(f"no signature file at {p}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SignedFileError(f"the signature file {p.name} is not a readable signature (truncated or edited)") from exc
    if not isinstance(doc, dict) or doc.get("mediaType") != BUNDLE_MEDIA_TYPE:
        raise SignedFileError(f"the signature file {p.name} is not a model-signing bundle (mediaType)")
    env = doc.get("dsseEnvelope")
    sigs = env.get("signatures") if isinstance(env, dict) else None
    if not isinstance(env, dict) or not isinstance(env.get("payload"), str) or not isinstance(sigs, list) or not sigs:
        raise SignedFileError(f"the signature file {p.name} holds no signed envelope (dsseEnvelope)")
    try:
        payload = base64.b64decode(env["payload"], validate=True)
        stmt = json.loads(payload)
    except (binascii.Error, ValueError) as exc:
        raise SignedFileError(f"the signature file {p.name}: its payload is not a statement") from exc
    pred: Any = stmt.get("predicate") if isinstance(stmt, dict) else None
    ok = isinstance(stmt, dict) and stmt.get("_type") == IN_TOTO_STATEMENT and isinstance(pred, dict)
    if not ok or stmt.get("predicateType") != MODEL_SIGNING_PREDICATE:
        raise SignedFileError(f"the signature file {p.name} is not a model-signing statement (predicateType)")
    resources = pred.get("resources")
    if not isinstance(resources, list) or len(resources) != 1 or not isinstance(resources[0], dict):
        raise SignedFileError(f"the signature file {p.name} does not sign exactly one file (predicate.resources)")
    res = resources[0]
    if res.get("name") != WHOLE_FILE or res.get("algorithm") != "sha256" or not isinstance(res.get("digest"), str):
        raise SignedFileError(f"the signature file {p.name} does not sign one whole file by SHA-256")
    subject = stmt.get("subject")
    name = subject[0].get("name") if isinstance(subject, list) and subject and isinstance(subject[0], dict) else None
    material: Any = doc.get("verificationMaterial")
    key: Any = material.get("publicKey") if isinstance(material, dict) else None
    hint = key.get("hint") if isinstance(key, dict) else None
    return SignedDigest(str(name or ""), res["digest"], str(hint or ""), env, stmt, payload)


def check_unchanged(path: str | Path, require: bool = False) -> SignedDigest | None:
    """Refuse ``path`` when the signature beside it lists other bytes (or, with ``require``, when it has none).

    Returns what the signature lists, or None for an unsigned file when no signature is required.
    """
    p = Path(path)
    sig = signature_path(p)
    if not sig.is_file():
        if require:
            raise SignedFileError(
                f"{p.name} has no signature beside it ({sig.name}) and a signed file is required; it is not used"
            )
        return None
    signed = read_signature(sig)
    actual = sha256_of(p)
    if actual != signed.sha256:
        raise SignedFileError(
            f"{p.name} has changed since it was signed: its SHA-256 is {actual[:16]}…, the signature "
            f"{sig.name} lists {signed.sha256[:16]}…; it is not used"
        )
    return signed
