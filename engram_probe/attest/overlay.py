"""Signing the artefacts themselves: memory exports, ``.pleo`` files and V4.1 row files, in OpenSSF model-signing's
format, so that ``model_signing verify key FILE --signature FILE.sig --public_key KEY.pub`` accepts them offline.

The format (model-signing 1.1's key-based method): ``FILE.sig`` is a Sigstore bundle v0.3 (``mediaType``
``application/vnd.dev.sigstore.bundle.v0.3+json``) whose ``verificationMaterial.publicKey.hint`` is the SHA-256 of
the signer's public key PEM and whose ``dsseEnvelope`` holds an in-toto Statement v1: its subject is the file's
name with the SHA-256 of its resource digests, its ``predicateType`` is ``https://model_signing/signature/v1.0``,
its predicate lists the one resource (``"."``, the whole file, by SHA-256) and how it was serialised. The DSSE
signature is ECDSA over the pre-authentication encoding (``attest/dsse.pae``), DER-encoded.

The key: model-signing's key-based method takes elliptic-curve keys only (P-256, P-384, P-521), not the Ed25519
keys that sign reports, so overlays are signed with an ECDSA P-256 key (``generate_overlay_key``; the private
key 0600, its public key at ``KEY.pub``). A key is named by its id: the first 16 hex digits of the key hint.
Everything cryptographic is the ``cryptography`` library's; the door check that needs no key is
``memory/signed_file.py``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from engram_probe.attest.dsse import IN_TOTO_TYPE, pae
from engram_probe.attest.keys import KEY_ID_HEX, KeyFileError, KeyPermissionWarning, public_path
from engram_probe.memory.signed_file import (
    BUNDLE_MEDIA_TYPE,
    IN_TOTO_STATEMENT,
    MODEL_SIGNING_PREDICATE,
    WHOLE_FILE,
    SignedFileError,
    read_signature,
    sha256_of,
    signature_path,
)

SERIALIZATION = {"method": "files", "hash_type": "sha256", "allow_symlinks": False, "ignore_paths": []}


class OverlaySignatureError(ValueError):
    """A signed file that does not verify: changed bytes, another key, a broken signature. Names the file."""


@dataclass(frozen=True)
class OverlayVerified:
    """A file whose signature holds for the given key: its name, SHA-256 and the signer's key id."""

    path: Path
    sha256: str
    key_id: str


def _public_pem(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_hint(key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) -> str:
    """model-signing's key hint: the SHA-256 (hex) of the public key's PEM."""
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return hashlib.sha256(_public_pem(public)).hexdigest()


def overlay_key_id(key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) -> str:
    return key_hint(key)[:KEY_ID_HEX]


def generate_overlay_key(path: str | Path) -> tuple[str, Path, Path]:
    """Write a new ECDSA P-256 private key to ``path`` (PKCS8 PEM, created 0600) and its public key to
    ``<path>.pub``; an existing file at either path is refused. Returns (key id, private path, public path)."""
    p, pub = Path(path), public_path(path)
    for q in (p, pub):
        if q.exists():
            raise KeyFileError(f"{q} already exists: a key is never overwritten; choose another path")
    if not p.parent.is_dir():
        raise KeyFileError(f"{p.parent} is not a folder: the key cannot be written there")
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise KeyFileError(f"cannot create the key file {p}: {exc.strerror}") from exc
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, pem)
    finally:
        os.close(fd)
    tmp = pub.with_name(pub.name + ".tmp")
    tmp.write_bytes(_public_pem(key.public_key()))
    os.replace(tmp, pub)
    return overlay_key_id(key), p, pub


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise KeyFileError(f"no {what} at {path}") from exc
    except OSError as exc:
        raise KeyFileError(f"cannot read the {what} {path}: {exc.strerror}") from exc


def _curve_ok(public: Any, where: Path) -> None:
    if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name != "secp256r1":
        kind = type(public).__name__.removesuffix("PublicKey").removesuffix("PrivateKey")
        hint = " (a report-signing key; overlays are signed with an overlay key)" if "Ed25519" in kind else ""
        raise KeyFileError(f"{where} holds a {kind} key, not an ECDSA P-256 overlay key{hint}")


def load_overlay_private(path: str | Path) -> ec.EllipticCurvePrivateKey:
    """The P-256 private key at ``path``; warns when others may read it (mode broader than 0600)."""
    p = Path(path)
    data = _read(p, "private key file")
    mode = stat.S_IMODE(p.stat().st_mode)
    if mode & 0o077:
        warnings.warn(
            f"the private key file {p} has mode {mode:04o}: others on this machine may read it; "
            f"restrict it with chmod 600 {p}",
            KeyPermissionWarning,
            stacklevel=2,
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError as exc:
        raise KeyFileError(f"{p} is a passphrase-protected key; give an unencrypted overlay key") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        hint = " (it is a public key: signing needs the private key)" if b"PUBLIC KEY" in data else ""
        raise KeyFileError(f"{p} is not a PEM private key file{hint}") from exc
    _curve_ok(key.public_key(), p)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def load_overlay_public(path: str | Path) -> ec.EllipticCurvePublicKey:
    """The P-256 public key PEM at ``path``."""
    p = Path(path)
    data = _read(p, "public key file")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        hint = " (it is a private key: give its .pub file)" if b"PRIVATE KEY" in data else ""
        raise KeyFileError(f"{p} is not a PEM public key{hint}") from exc
    _curve_ok(key, p)
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def overlay_statement(path: Path, digest: str) -> dict[str, Any]:
    """model-signing's Statement for one file: the whole file as the one resource, the subject its root digest."""
    root = hashlib.sha256(bytes.fromhex(digest)).hexdigest()
    return {
        "_type": IN_TOTO_STATEMENT,
        "subject": [{"name": path.name, "digest": {"sha256": root}}],
        "predicateType": MODEL_SIGNING_PREDICATE,
        "predicate": {
            "serialization": SERIALIZATION,
            "resources": [{"name": WHOLE_FILE, "algorithm": "sha256", "digest": digest}],
        },
    }


def sign_overlay(path: str | Path, private: ec.EllipticCurvePrivateKey, out: str | Path | None = None) -> Path:
    """Sign the file at ``path``; write the bundle to ``out`` (default ``<path>.sig``) whole or not at all."""
    p = Path(path)
    if not p.is_file():
        raise OverlaySignatureError(f"no file to sign at {p}")
    payload = json.dumps(overlay_statement(p, sha256_of(p)), indent=2).encode("utf-8")
    sig = private.sign(pae(IN_TOTO_TYPE, payload), ec.ECDSA(hashes.SHA256()))
    bundle = {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {"publicKey": {"hint": key_hint(private)}, "tlogEntries": []},
        "dsseEnvelope": {
            "payload": base64.b64encode(payload).decode("ascii"),
            "payloadType": IN_TOTO_TYPE,
            "signatures": [{"sig": base64.b64encode(sig).decode("ascii"), "keyid": ""}],
        },
    }
    target = Path(out) if out else signature_path(p)
    tmp = target.with_name(target.name + ".part")
    try:
        tmp.write_text(json.dumps(bundle, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OverlaySignatureError(f"cannot write the signature {target}: {exc.strerror}") from exc
    return target


def verify_overlay(
    path: str | Path, public: ec.EllipticCurvePublicKey, sig: str | Path | None = None
) -> OverlayVerified:
    """Check the file's signature against ``public``, then its bytes against the signed digest.

    Refused, naming the file: a signature by another key (its key id), a signature that does not hold (the bundle
    was edited), a file whose bytes changed since it was signed.
    """
    p = Path(path)
    sig_path = Path(sig) if sig else signature_path(p)
    if not p.is_file():
        raise OverlaySignatureError(f"no file at {p}")
    try:
        signed = read_signature(sig_path)
    except SignedFileError as exc:
        raise OverlaySignatureError(str(exc)) from exc
    kid = overlay_key_id(public)
    if signed.key_hint and signed.key_hint != key_hint(public):
        raise OverlaySignatureError(
            f"{sig_path.name} was signed by an unknown key {signed.key_hint[:KEY_ID_HEX]}, not by the given key {kid}"
        )
    env = signed.envelope
    try:
        raw = base64.b64decode(env["signatures"][0]["sig"], validate=True)
        public.verify(raw, pae(str(env.get("payloadType")), signed.payload), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise OverlaySignatureError(
            f"signature does not match: {sig_path.name} does not hold for key {kid}; the signature was changed "
            "after it was made"
        ) from exc
    root = hashlib.sha256(bytes.fromhex(signed.sha256)).hexdigest()
    subject = signed.statement.get("subject") or [{}]
    if (subject[0].get("digest") or {}).get("sha256") != root:
        raise OverlaySignatureError(f"{sig_path.name}: its subject does not match the file digest it lists")
    actual = sha256_of(p)
    if actual != signed.sha256:
        raise OverlaySignatureError(
            f"{p.name} has changed since it was signed: its SHA-256 is {actual[:16]}…, the signature lists "
            f"{signed.sha256[:16]}…"
        )
    return OverlayVerified(p, actual, kid)
