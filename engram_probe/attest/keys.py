"""Ed25519 signing keys (through the ``cryptography`` library): generate, load, the key id, trusted keys.

A private key is a PKCS8 PEM file created with mode 0600 (never readable by others, not even for a moment);
its public key is the PEM file beside it, ``<path>.pub``. A key is named everywhere by ``key_id``: the first
16 hex digits of the SHA-256 of its 32 raw public bytes. A verifier trusts either one public key PEM file or
a trusted-keys file: a JSON list of ``{"name", "key_id", "public_key_pem"}``.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "KeyFileError",
    "KeyPermissionWarning",
    "TrustedKey",
    "generate_key",
    "key_id",
    "load_private",
    "load_public",
    "load_trusted",
    "public_pem",
    "public_path",
    "trusted_entry",
]

KEY_ID_HEX = 16  # hex digits of the key id


class KeyFileError(ValueError):
    """A key file that is missing, unreadable, of the wrong type or malformed; the message names the file."""


class KeyPermissionWarning(UserWarning):
    """A private key file that others may read (its mode is broader than 0600)."""


@dataclass(frozen=True)
class TrustedKey:
    """A public key a verifier trusts: the name it is shown under, its key id and the key."""

    name: str
    key_id: str
    public: Ed25519PublicKey


def key_id(public: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """The stable id of a key: the first 16 hex digits of SHA-256 of its raw public key bytes."""
    if isinstance(public, Ed25519PrivateKey):
        public = public.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:KEY_ID_HEX]


def public_pem(public: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """A public key as PEM text (SubjectPublicKeyInfo); given a private key, its public half."""
    if isinstance(public, Ed25519PrivateKey):
        public = public.public_key()
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def public_path(path: str | Path) -> Path:
    """Where the public key of the private key at ``path`` is written: ``<path>.pub``."""
    p = Path(path)
    return p.with_name(p.name + ".pub")


def generate_key(path: str | Path) -> tuple[str, Path, Path]:
    """Write a new Ed25519 private key to ``path`` (PKCS8 PEM, mode 0600) and its public key to ``<path>.pub``.

    Returns (key id, private path, public path). An existing file at either path is refused (a key is never
    overwritten). The private file is created with mode 0600, so it is never readable by others.
    """
    p, pub = Path(path), public_path(path)
    for q in (p, pub):
        if q.exists():
            raise KeyFileError(f"{q} already exists: a key is never overwritten; choose another path")
    if not p.parent.is_dir():
        raise KeyFileError(f"{p.parent} is not a folder: the key cannot be written there")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise KeyFileError(f"cannot create the key file {p}: {exc.strerror}") from exc
    try:
        os.fchmod(fd, 0o600)  # the umask can only narrow the mode; this keeps it exactly 0600
        os.write(fd, pem)
    finally:
        os.close(fd)
    tmp = pub.with_name(pub.name + ".tmp")
    tmp.write_text(public_pem(key), encoding="ascii")
    os.replace(tmp, pub)
    return key_id(key), p, pub


def _read(path: str | Path, what: str) -> bytes:
    p = Path(path)
    try:
        return p.read_bytes()
    except FileNotFoundError as exc:
        raise KeyFileError(f"no {what} at {p}") from exc
    except IsADirectoryError as exc:
        raise KeyFileError(f"{p} is a folder, not a {what}") from exc
    except OSError as exc:
        raise KeyFileError(f"cannot read the {what} {p}: {exc.strerror}") from exc


def load_private(path: str | Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in the PEM file at ``path``.

    Warns (``KeyPermissionWarning``, naming the file and its mode) when others may read or write it (a mode
    broader than 0600). A missing, unreadable or malformed file, or a key of another type, is a
    ``KeyFileError`` naming the file.
    """
    p = Path(path)
    data = _read(p, "private key file")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError as exc:  # a key encrypted with a passphrase
        raise KeyFileError(f"{p} is a passphrase-protected key; give an unencrypted Ed25519 key") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        hint = " (it is a public key: signing needs the private key)" if b"PUBLIC KEY" in data else ""
        raise KeyFileError(f"{p} is not a PEM private key file{hint}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{p} holds a {type(key).__name__.removesuffix('PrivateKey')} key, not an Ed25519 key")
    mode = stat.S_IMODE(p.stat().st_mode)
    if mode & 0o077:
        warnings.warn(
            f"the private key file {p} has mode {mode:04o}: others on this machine may read it; "
            f"restrict it with chmod 600 {p}",
            KeyPermissionWarning,
            stacklevel=2,
        )
    return key


def _public_from_pem(data: bytes, where: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        hint = " (it is a private key: give its .pub file)" if b"PRIVATE KEY" in data else ""
        raise KeyFileError(f"{where} is not a PEM public key{hint}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{where} holds a {type(key).__name__.removesuffix('PublicKey')} key, not an Ed25519 key")
    return key


def load_public(path: str | Path) -> Ed25519PublicKey:
    """The Ed25519 public key in the PEM file at ``path``; any problem is a ``KeyFileError`` naming the file."""
    return _public_from_pem(_read(path, "public key file"), str(path))


def trusted_entry(name: str, public: Ed25519PublicKey | Ed25519PrivateKey) -> dict[str, str]:
    """One entry of a trusted-keys file: ``{"name", "key_id", "public_key_pem"}``."""
    return {"name": name, "key_id": key_id(public), "public_key_pem": public_pem(public)}


def load_trusted(path: str | Path) -> dict[str, TrustedKey]:
    """The keys a verifier trusts, by key id: a trusted-keys JSON file, or a single public key PEM file.

    A single PEM key is named after its file. In a trusted-keys file every entry needs ``name``, ``key_id``
    and ``public_key_pem``, and the key id must be the key's own; any problem names the file and the entry.
    """
    p = Path(path)
    data = _read(p, "trusted keys file")
    if data.lstrip().startswith(b"-----BEGIN"):
        public = _public_from_pem(data, str(p))
        return {key_id(public): TrustedKey(p.name.removesuffix(".pub"), key_id(public), public)}
    try:
        entries: Any = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KeyFileError(f"{p} is neither a PEM public key nor a JSON trusted-keys file ({exc})") from exc
    if not isinstance(entries, list) or not entries:
        raise KeyFileError(f"{p}: a trusted-keys file is a non-empty JSON list of {{name, key_id, public_key_pem}}")
    out: dict[str, TrustedKey] = {}
    for i, e in enumerate(entries):
        where = f"{p} entry {i + 1}"
        if not isinstance(e, dict):
            raise KeyFileError(f"{where} is not an object with name, key_id and public_key_pem")
        for field in ("name", "key_id", "public_key_pem"):
            if not isinstance(e.get(field), str) or not e[field]:
                raise KeyFileError(f"{where} lacks the text field '{field}'")
        public = _public_from_pem(e["public_key_pem"].encode("ascii", "replace"), where)
        if key_id(public) != e["key_id"]:
            raise KeyFileError(f"{where}: key_id {e['key_id']} is not the id of its key ({key_id(public)})")
        out[e["key_id"]] = TrustedKey(e["name"], e["key_id"], public)
    return out
