"""Signing in the Export tab: a report signed with a key the operator uploads for one export, or with the key the
server was started with; an uploaded signed report verified against an uploaded public key or trusted-keys file.

An uploaded private key is read into memory, its upload deleted at once (whether it loads or not), and it is
never written anywhere: not to the store, the work folder or the downloads. The signature is the library's
(``engram_probe.report.signed``); this module only takes the files in and says the outcome in plain words.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from engram_probe.attest.dsse import EnvelopeError, SignatureError, payload_bytes
from engram_probe.attest.keys import KeyFileError, KeyPermissionWarning, TrustedKey, key_id, load_private, load_trusted
from engram_probe.attest.statement import StatementError, parse_statement
from engram_probe.report.html import when, write_page
from engram_probe.report.signed import envelope_path, sign_report, signed_html, write_envelope
from workbench.state import WorkbenchState

OK_COLOUR, BAD_COLOUR = "#15803d", "#b91c1c"
SIGN_ERRORS = (KeyFileError, StatementError, EnvelopeError, SignatureError)


def upload_path(upload: Any) -> Path | None:
    """The server-side path of a Gradio upload (a path text, or a file object with a name), or None."""
    path = upload if isinstance(upload, str) else getattr(upload, "name", None)
    return Path(path) if path else None


def _plain(exc: BaseException, path: Path, name: str) -> str:
    """A key error's message with the upload's temporary path replaced by what the operator calls the file."""
    return str(exc).replace(str(path), name)


def startup_key(path: str | Path) -> Ed25519PrivateKey:
    """The private key the server signs with, loaded at start-up: a missing file, or one that is not an Ed25519
    private key, is a ``KeyFileError`` naming it; a file others may read is warned about on the console."""
    with warnings.catch_warnings(record=True) as seen:  # start-up runs on one thread
        warnings.simplefilter("always", KeyPermissionWarning)
        key = load_private(path)
    for w in seen:
        print(f"[workbench] warning: {w.message}", file=sys.stderr, flush=True)
    return key


def forget_upload(path: Path) -> None:
    """Delete an uploaded file and the folder Gradio made for it (when that is now empty)."""
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # the folder holds other files, or is already gone
        path.parent.rmdir()


def uploaded_key(upload: Any) -> Ed25519PrivateKey:
    """The private key in an uploaded file, read into memory; the upload is deleted whether it loads or not."""
    path = upload_path(upload)
    if path is None:
        raise KeyFileError("upload a private key file to sign with")
    name = f"the uploaded key file {path.name}"
    try:
        os.chmod(path, 0o600)  # the upload's mode says nothing of the operator's own key file
        return load_private(path)
    except KeyFileError as exc:
        raise KeyFileError(_plain(exc, path, name)) from exc
    except OSError as exc:
        raise KeyFileError(f"{name} cannot be read ({exc.strerror})") from exc
    finally:
        forget_upload(path)


def signing_key(state: WorkbenchState, upload: Any, use_server_key: bool) -> tuple[Ed25519PrivateKey, str] | None:
    """The key an export is signed with and where it came from: an uploaded key first, else the server's own
    when asked for (and configured); None when the export is not to be signed."""
    if upload_path(upload) is not None:
        return uploaded_key(upload), "the uploaded key"
    if use_server_key and state.sign_key is not None:
        return state.sign_key, "this server's key"
    return None


def sign_export(
    state: WorkbenchState, doc: dict[str, Any], json_path: Path, html_path: Path, key: Ed25519PrivateKey
) -> tuple[Path, str]:
    """Sign ``doc`` for the current operator, write its envelope beside the JSON and the signed page (the report
    with its signature block) over the HTML; returns the envelope's path and a sentence of who signed with which key."""
    operator = state.access.current.name
    envelope = sign_report(doc, key, operator)
    signed = write_envelope(envelope, envelope_path(json_path))
    write_page(signed_html(envelope, signed.name), html_path)
    return signed, f"Signed by {operator} with key {key_id(key)}"


def uploaded_trust(upload: Any) -> dict[str, TrustedKey]:
    """The keys a verifier trusts, from an uploaded public key file or trusted-keys file."""
    path = upload_path(upload)
    if path is None:
        raise KeyFileError(
            "this report is signed: upload the signer's public key or a trusted-keys file with it to check the "
            "signature"
        )
    try:
        return load_trusted(path)
    except KeyFileError as exc:
        raise KeyFileError(_plain(exc, path, f"the uploaded key file {path.name}")) from exc


def signed_report(path: Path) -> dict[str, Any] | None:
    """The report inside an envelope, unchecked (to know whose memory it names before verifying); None if unreadable."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        report = parse_statement(payload_bytes(doc))["predicate"]["report"]
    except (OSError, UnicodeDecodeError, ValueError, EnvelopeError, StatementError, KeyError, TypeError):
        return None
    return report if isinstance(report, dict) else None


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def signature_html(result: dict[str, Any] | None, message: str | None = None) -> str:
    """The signature's outcome as a block: green with each signer (name, role, key id, time) when every signature
    holds, red with the reason when one does not; ``message`` alone (red) when nothing could be checked."""
    if result is None and not message:
        return ""
    sig = next((c for c in (result or {}).get("checks", []) if c.get("check") == "signature"), None)
    if message:
        return _block(BAD_COLOUR, "✘ The signature was not checked", [_sentence(message.removeprefix("⚠ ").strip())])
    if sig is None or not sig.get("ok"):
        why = str((sig or {}).get("detail") or "the signature could not be checked")
        return _block(BAD_COLOUR, "✘ The signature does not hold", [_sentence(why)])
    lines = []
    for s in (result or {}).get("signers", []):
        role = "approved" if s.get("role") == "approver" else "signed"
        lines.append(f"{_sentence(role)} by {s.get('name')} with key {s.get('key_id')} at {when(s.get('signed_at'))}")
    subjects = next((c for c in (result or {}).get("checks", []) if c.get("check") == "attested subjects"), None)
    if subjects is not None and not subjects.get("ok"):
        lines.append(_sentence(str(subjects.get("detail"))))
    title = "✔ The signature holds" + ("" if subjects is None or subjects.get("ok") else ", but for other inputs")
    return _block(OK_COLOUR if subjects is None or subjects.get("ok") else BAD_COLOUR, title, lines)


def _block(colour: str, title: str, lines: list[str]) -> str:
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return (
        f'<div class="signature-verdict" style="border-left:4px solid {colour};padding:4px 12px;color:{colour}">'
        f"<strong>{html.escape(title)}</strong><ul>{items}</ul></div>"
    )
