"""DSSE envelopes (https://github.com/secure-systems-lab/dsse, v1.0.0) signed with Ed25519 keys.

An envelope is ``{"payload": base64(body), "payloadType": type, "signatures": [{"keyid", "sig"}]}``; each
signature is over the pre-authentication encoding ``PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP
LEN(body) SP body`` (LEN: the byte length in ASCII decimal), so the body is signed byte for byte and needs
no canonical JSON. Standard and URL-safe base64 are both read. The signing and checking are the
``cryptography`` library's Ed25519; this module only frames the bytes.

A countersignature (``add_signature``) is a second signature over the same PAE. An approver's name and time
ride in the signature entry as ``approval`` and are signed too, by the same key, over
``PAE(APPROVAL_TYPE, canonical JSON of {name, signed_at, payload_sha256})``; DSSE readers that do not know
the field ignore it and still check the signature itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from engram_probe.attest.keys import TrustedKey, key_id
from engram_probe.contracts.base import canonical_bytes

__all__ = [
    "APPROVAL_TYPE",
    "IN_TOTO_TYPE",
    "EnvelopeError",
    "SignatureError",
    "Signer",
    "Verified",
    "add_signature",
    "pae",
    "parse_envelope",
    "payload_bytes",
    "read_envelope",
    "sign_envelope",
    "verify_envelope",
]

IN_TOTO_TYPE = "application/vnd.in-toto+json"
APPROVAL_TYPE = "application/vnd.engram-workbench.approval+json"


class EnvelopeError(ValueError):
    """A file that is not a well-formed DSSE envelope (truncated, not JSON, a field missing or not base64)."""


class SignatureError(ValueError):
    """An envelope whose signatures do not hold: a changed payload, an unknown key, no signature at all."""


@dataclass(frozen=True)
class Signer:
    """One signature that holds: who (the trusted key's name), the key id, and for an approver its record."""

    name: str
    key_id: str
    approval: dict[str, Any] | None = None


@dataclass(frozen=True)
class Verified:
    """An envelope whose every signature holds against a trusted key: its payload and its signers, in order."""

    payload_type: str
    payload: bytes
    signers: list[Signer] = field(default_factory=list)


def pae(payload_type: str, body: bytes) -> bytes:
    """DSSE v1's pre-authentication encoding of ``payload_type`` (UTF-8) and ``body``."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


def _b64decode(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise EnvelopeError(f"{what} is not base64 text")
    try:
        padded = text + "=" * (-len(text) % 4)
        alt = b"-_" if ("-" in text or "_" in text) else b"+/"
        return base64.b64decode(padded, altchars=alt, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EnvelopeError(f"{what} is not valid base64 ({exc})") from exc


def sign_envelope(body: bytes, private: Ed25519PrivateKey, payload_type: str = IN_TOTO_TYPE) -> dict[str, Any]:
    """A new envelope of ``body`` with one signature by ``private`` (its key id as ``keyid``)."""
    sig = private.sign(pae(payload_type, body))
    return {
        "payload": base64.b64encode(body).decode("ascii"),
        "payloadType": payload_type,
        "signatures": [{"keyid": key_id(private), "sig": base64.b64encode(sig).decode("ascii")}],
    }


def _approval_bytes(name: str, signed_at: str, payload: bytes) -> bytes:
    record = {"name": name, "signed_at": signed_at, "payload_sha256": hashlib.sha256(payload).hexdigest()}
    return pae(APPROVAL_TYPE, canonical_bytes(record))


def add_signature(
    envelope: dict[str, Any], private: Ed25519PrivateKey, approver: str, signed_at: str
) -> dict[str, Any]:
    """The envelope with a countersignature by ``private``, recording ``approver`` and ``signed_at``.

    The payload is not changed, so the signatures already there still hold. A key that already signed is
    refused. The envelope given is left as it is; a new one is returned.
    """
    env = parse_envelope(envelope)
    kid = key_id(private)
    if any(s.get("keyid") == kid for s in env["signatures"]):
        raise SignatureError(f"the key {kid} has already signed this envelope")
    body = payload_bytes(env)
    sig = private.sign(pae(env["payloadType"], body))
    approval = {
        "name": approver,
        "signed_at": signed_at,
        "sig": base64.b64encode(private.sign(_approval_bytes(approver, signed_at, body))).decode("ascii"),
    }
    entry = {"keyid": kid, "sig": base64.b64encode(sig).decode("ascii"), "approval": approval}
    return {**env, "signatures": [*env["signatures"], entry]}


def parse_envelope(doc: Any, name: str = "the envelope") -> dict[str, Any]:
    """``doc`` checked to be a DSSE envelope (payload, payloadType, a non-empty signatures list); else EnvelopeError."""
    if not isinstance(doc, dict):
        raise EnvelopeError(f"{name} is not a DSSE envelope (a JSON object with payload, payloadType, signatures)")
    for key in ("payload", "payloadType"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise EnvelopeError(f"{name} lacks the '{key}' field of a DSSE envelope")
    sigs = doc.get("signatures")
    if not isinstance(sigs, list) or not sigs:
        raise EnvelopeError(f"{name} has no signatures")
    for i, s in enumerate(sigs):
        if not isinstance(s, dict) or not isinstance(s.get("sig"), str):
            raise EnvelopeError(f"{name}: signature {i + 1} lacks its 'sig' field")
    return doc


def read_envelope(path: str | Path) -> dict[str, Any]:
    """The DSSE envelope in the JSON file at ``path``; a missing, truncated or malformed file is an EnvelopeError."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise EnvelopeError(f"no signed attestation at {p}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise EnvelopeError(f"{p.name} cannot be read as a signed attestation ({exc})") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EnvelopeError(
            f"{p.name} is not a complete signed attestation: its JSON ends or breaks at character {exc.pos:,} "
            "(the file was truncated or edited)"
        ) from exc
    env = parse_envelope(doc, p.name)
    payload_bytes(env, p.name)
    return env


def payload_bytes(envelope: dict[str, Any], name: str = "the envelope") -> bytes:
    """The envelope's payload, decoded from base64 (standard or URL-safe)."""
    return _b64decode(envelope.get("payload"), f"{name}'s payload")


def verify_envelope(envelope: dict[str, Any], trusted: dict[str, TrustedKey]) -> Verified:
    """Check every signature of ``envelope`` against the ``trusted`` keys (by key id); the payload when all hold.

    The ``keyid`` only narrows which key is tried first (it is not signed): a signature whose key id is not
    trusted is still tried against every trusted key. Raises ``SignatureError``: "signature does not match"
    when a trusted key's signature fails (the payload was changed), or the key id of a signer that no trusted
    key matches.
    """
    env = parse_envelope(envelope)
    if not trusted:
        raise SignatureError("no trusted key was given to check the signatures against")
    body, kind = payload_bytes(env), env["payloadType"]
    message = pae(kind, body)
    signers: list[Signer] = []
    for i, s in enumerate(env["signatures"]):
        sig = _b64decode(s["sig"], f"signature {i + 1}")
        kid = s.get("keyid") if isinstance(s.get("keyid"), str) else ""
        order = [trusted[kid]] if kid in trusted else []
        order += [t for t in trusted.values() if t.key_id != kid]
        holds = next((t for t in order if _holds(t, sig, message)), None)
        if holds is None:
            if kid in trusted:
                raise SignatureError(
                    f"signature does not match: the signature by {trusted[kid].name} (key {kid}) does not hold "
                    "for this content; the attestation was changed after it was signed"
                )
            raise SignatureError(
                f"signed by an unknown key {kid or '(no key id)'}: no trusted key matches signature {i + 1}"
            )
        approval = s.get("approval")
        if approval is not None:
            _check_approval(approval, holds, body, i)
        signers.append(Signer(holds.name, holds.key_id, approval))
    return Verified(kind, body, signers)


def _holds(key: TrustedKey, sig: bytes, message: bytes) -> bool:
    try:
        key.public.verify(sig, message)
    except InvalidSignature:
        return False
    return True


def _check_approval(approval: Any, key: TrustedKey, body: bytes, i: int) -> None:
    ok = isinstance(approval, dict) and all(isinstance(approval.get(k), str) for k in ("name", "signed_at", "sig"))
    if ok:
        sig = _b64decode(approval["sig"], f"signature {i + 1}'s approval")
        ok = _holds(key, sig, _approval_bytes(approval["name"], approval["signed_at"], body))
    if not ok:
        raise SignatureError(
            f"signature does not match: the approval record of signature {i + 1} (key {key.key_id}) was changed "
            "after it was signed"
        )
