"""Signed reports: a report of any kind as a signed in-toto Statement (DSSE), written, countersigned and verified.

``sign_report`` wraps a finished report; ``write_envelope`` writes it beside the report as ``<name>.dsse.json``
(through a temporary file, so nothing is ever half-written). ``verify_signed`` checks the signatures first,
then that the statement's subjects are the report's, then re-derives the report with ``verify_file`` as an
unsigned one is; a re-derivation that finds another model, memory or contract than the signed one says so
("replayed for another model", "swapped subject"). ``signature_block`` is the HTML block the page and PDF of
a signed report carry.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from engram_probe.attest.dsse import (
    EnvelopeError,
    SignatureError,
    add_signature,
    payload_bytes,
    read_envelope,
    sign_envelope,
    verify_envelope,
)
from engram_probe.attest.keys import TrustedKey, key_id
from engram_probe.attest.statement import (
    StatementError,
    parse_statement,
    statement,
    statement_bytes,
    subject_problems,
)
from engram_probe.report.checks import outcome
from engram_probe.report.html import escape, table, when
from engram_probe.report.kernel import body_digest, created_at
from engram_probe.report.kinds import kind_of, render_html, verify_file

ENVELOPE_SUFFIX = ".dsse.json"
# re-derivation checks that compare a re-loaded input's digest with the report's, by what they mean when a
# signed report fails them
_MODEL_CHECKS = {"model digest", "model"}
_SUBJECT_CHECKS = {"memory digest", "table digest", "adapter", "contract digest", "input files", "held-out digest"}


def envelope_path(report_path: str | Path) -> Path:
    """Where the signed attestation of a report is written: ``audit.json`` → ``audit.dsse.json``."""
    p = Path(report_path)
    return p.with_name(p.name.removesuffix(".json") + ENVELOPE_SUFFIX)


def sign_report(
    doc: dict[str, Any], private: Ed25519PrivateKey, operator: str, approver: str | None = None
) -> dict[str, Any]:
    """The DSSE envelope of ``doc``'s in-toto Statement, signed by ``private`` for ``operator``, now."""
    kind = kind_of(doc).name
    stmt = statement(doc, kind, operator, key_id(private), created_at(), approver)
    return sign_envelope(statement_bytes(stmt), private)


def approve(envelope: dict[str, Any], private: Ed25519PrivateKey, approver: str) -> dict[str, Any]:
    """``envelope`` countersigned by ``approver`` with ``private``, now (the payload and first signature unchanged)."""
    parse_statement(payload_bytes(envelope))  # only a report attestation is approved
    return add_signature(envelope, private, approver, created_at())


def write_envelope(envelope: dict[str, Any], path: str | Path) -> Path:
    """Write ``envelope`` as JSON at ``path`` through a temporary file in the same folder, renamed into place."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(envelope, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def is_envelope(path: str | Path) -> bool:
    """Whether the file at ``path`` looks like a DSSE envelope (a JSON object with a payload and signatures)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return Path(path).name.endswith(ENVELOPE_SUFFIX)  # a truncated envelope is still read as one
    return isinstance(doc, dict) and "payload" in doc and "signatures" in doc


def signers_of(envelope: dict[str, Any]) -> dict[str, Any]:
    """What an envelope says of its signing, unchecked: the statement's operator and time, each signature's key id."""
    stmt = parse_statement(payload_bytes(envelope))
    pred = stmt["predicate"]
    sigs = [
        {
            "key_id": s.get("keyid"),
            "role": "approver" if "approval" in s else "operator",
            "name": (s.get("approval") or {}).get("name") or pred["operator"]["name"],
            "signed_at": (s.get("approval") or {}).get("signed_at") or pred["signed_at"],
        }
        for s in envelope["signatures"]
    ]
    return {
        "operator": pred["operator"],
        "signed_at": pred["signed_at"],
        "approver": pred.get("approver"),
        "signatures": sigs,
        "payload_sha256": hashlib.sha256(payload_bytes(envelope)).hexdigest(),
        "report_sha256": body_digest(pred["report"]),
        "subjects": [[str(x.get("name")), str(x.get("digest", {}).get("sha256"))] for x in stmt["subject"]],
    }


def _failed(checks: list[dict[str, Any]], name: str, detail: str) -> dict[str, Any]:
    return {"ok": False, "checks": [*checks, outcome(name, False, "", detail)], "mismatches": []}


def verify_signed(path: str | Path, trusted: dict[str, TrustedKey], **options: Any) -> dict[str, Any]:
    """Verify a signed report: the signatures, the subjects, then the report re-derived (``verify_file``'s options).

    ``path`` is an envelope, or a plain report whose envelope lies beside it (``envelope_path``); a plain
    report must then be the very one signed. Returns ``verify_file``'s ``{ok, checks, mismatches}`` with the
    attestation's checks first and ``signers``: each signature that holds, by name, role, key id and time.
    """
    p = Path(path)
    plain = None if is_envelope(p) else p
    where = envelope_path(p) if plain is not None else p
    checks: list[dict[str, Any]] = []
    if plain is not None and not where.is_file():
        return _failed(checks, "signature", f"{p.name} is not signed: no signed attestation beside it ({where.name})")
    try:
        env = read_envelope(where)
        verified = verify_envelope(env, trusted)
        stmt = parse_statement(verified.payload)
    except (EnvelopeError, SignatureError, StatementError) as exc:
        return _failed(checks, "signature", str(exc))
    info = signers_of(env)
    operator = stmt["predicate"]["operator"]
    if operator["key_id"] not in {s.key_id for s in verified.signers if s.approval is None}:
        return _failed(
            checks,
            "signature",
            f"the statement names the key {operator['key_id']} as its signer, and it is not signed by it",
        )
    signers = [
        {
            "name": (s.approval or {}).get("name") or operator["name"],
            "key_id": s.key_id,
            "key_name": s.name,
            "role": "approver" if s.approval else "operator",
            "signed_at": (s.approval or {}).get("signed_at") or info["signed_at"],
        }
        for s in verified.signers
    ]
    names = ", ".join(f"{s['name']} ({s['role']}, key {s['key_id']}, {s['signed_at']})" for s in signers)
    checks.append(outcome("signature", True, f"every signature holds: {names}", ""))
    problems = subject_problems(stmt)
    if problems:
        return _failed(checks, "attested subjects", "swapped subject: " + "; ".join(problems[:3]))
    checks.append(
        outcome("attested subjects", True, f"the {len(stmt['subject']):,} signed subjects are the report's", "")
    )
    report = stmt["predicate"]["report"]
    if plain is not None:
        try:
            here = json.loads(plain.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            return _failed(checks, "signed report", f"{plain.name} is not a readable JSON report ({exc})")
        mine, signed = body_digest(here), info["report_sha256"]
        if mine != signed:
            return _failed(
                checks,
                "signed report",
                f"signature does not match: {plain.name}'s body hashes to {mine[:16]}…, the signed report's to "
                f"{signed[:16]}…; the report was changed after it was signed",
            )
        checks.append(outcome("signed report", True, f"{plain.name} is the report that was signed", ""))
    result = _rederive(plain, report, options)
    result["checks"] = checks + result["checks"] + _what_failed(result["checks"], stmt)
    result["ok"] = all(c["ok"] for c in result["checks"])
    result["signers"] = signers
    result["attestation"] = info
    return result


def _rederive(plain: Path | None, report: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    if plain is not None:
        return verify_file(plain, **options)
    with tempfile.TemporaryDirectory(prefix="engram-signed-") as d:
        path = Path(d) / "report.json"
        path.write_text(json.dumps(report), encoding="utf-8")
        return verify_file(path, **options)


def _what_failed(checks: list[dict[str, Any]], stmt: dict[str, Any]) -> list[dict[str, Any]]:
    """A failed digest check of a signed report, said as the attack it is: a replay, or a swapped subject."""
    signed = {s["name"]: s["digest"]["sha256"] for s in stmt["subject"]}
    out: list[dict[str, Any]] = []
    for c in checks:
        if c["ok"] or "hash" not in str(c.get("detail")):
            continue
        if c["check"] in _MODEL_CHECKS:
            weights = str(signed.get("model weights", "?"))[:16]
            out.append(
                outcome(
                    "attested for",
                    False,
                    "",
                    f"replayed for another model: the attestation is signed for model weights {weights}…, "
                    "and the model given here is another",
                )
            )
        elif c["check"] in _SUBJECT_CHECKS:
            out.append(
                outcome(
                    "attested for",
                    False,
                    "",
                    f"swapped subject: the {c['check'].removesuffix(' digest')} given here is not the one the "
                    "attestation signs",
                )
            )
    return out[:1]


def signature_block(info: dict[str, Any], verify_command: str) -> str:
    """The signature block of a signed report's page and PDF: signer, role, key id, time, the digests signed,
    and the command that verifies it."""
    rows = [[s["name"], s["role"], s["key_id"], when(s["signed_at"])] for s in info["signatures"]]
    return (
        "<h2>Signatures</h2>"
        + table(["signed by", "as", "key id", "time"], rows)
        + "<p class='cap'>Signed: the in-toto statement of this report (SHA-256 "
        f"<code>{escape(info['payload_sha256'])}</code>), which holds the whole report and the digests of what "
        "it was made from:</p>"
        + table(["subject", "SHA-256"], info["subjects"])
        + "<p class='cap'>Anyone with the signer's public key can check the signature, offline:</p>"
        f"<p><code>{escape(verify_command)}</code></p>"
    )


def signed_html(envelope: dict[str, Any], envelope_name: str) -> str:
    """The page of a signed report: the report's own page with the signature block at its end."""
    info = signers_of(envelope)
    page = render_html(parse_statement(payload_bytes(envelope))["predicate"]["report"])
    block = signature_block(info, f"engram-probe verify {envelope_name} --key SIGNER.pub")
    at = page.rfind("</body>")
    return page[:at] + block + page[at:] if at >= 0 else page + block


def approve_file(path: str | Path, private: Ed25519PrivateKey, approver: str) -> dict[str, Any]:
    """Countersign the envelope at ``path`` in place (written through a temporary file); returns the new envelope."""
    env = approve(read_envelope(path), private, approver)
    write_envelope(env, path)
    return env
