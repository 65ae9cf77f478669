"""An erasure certificate: a signed attestation that facts were erased from a user's memory, with the proof.

The certificate is a DSSE envelope (``attest/dsse.py``, Ed25519) over an in-toto Statement v1 of predicate type
``ERASURE_PREDICATE``. Its subjects: the ledger entry that recorded the erase (its entry hash), the user's memory
after the erase, and the base model the proof ran on. Its predicate holds the fact ids erased, who erased them and
when (from the ledger entry), the rows restored to the shared table, the residue (rows the erased facts shared with
facts that remain, each holding the remaining fact's value byte for byte), and the bit-exact proof of
``memory/erasure.erase_with_proof``: on each erased fact's trigger the model with the memory now stored gives logits
whose raw bytes equal those of the memory without the facts, built apart from the store.

Only an erase whose proof holds is certified: a certificate vouches for the erase, never for a failed proof.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from engram_probe.attest.dsse import (
    IN_TOTO_TYPE,
    EnvelopeError,
    SignatureError,
    payload_bytes,
    sign_envelope,
    verify_envelope,
)
from engram_probe.attest.keys import TrustedKey, key_id
from engram_probe.attest.statement import STATEMENT_TYPE
from engram_probe.contracts.base import canonical_bytes
from engram_probe.memory.ledger import LedgerEntry
from engram_probe.memory.store import MemoryStore
from engram_probe.report.checks import outcome

ERASURE_PREDICATE = "https://engram-workbench.dev/attestation/erasure/v1"


class CertificateError(ValueError):
    """An erase that cannot be certified, or a certificate that is not one; the message says why."""


def _digest_subject(name: str, value: Any) -> list[dict[str, Any]]:
    ok = isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    return [{"name": name, "digest": {"sha256": value}}] if ok else []


def erasure_statement(
    entry: LedgerEntry, proof: dict[str, Any], base_sha256: str | None, operator: str, signer_key_id: str
) -> dict[str, Any]:
    """The Statement of one erase (module doc); refused unless its proof is bit-exact."""
    if proof.get("bit_exact") is not True:
        why = "it has no proof" if proof.get("bit_exact") is None else "its proof is not bit-exact"
        raise CertificateError(f"the erase is stored, but {why}; no certificate is written")
    rows = proof["rows"]
    restored = [{"layer": r["layer"], "row": r["row"]} for r in rows if r["now"] == "shared table"]
    residue = [
        {"layer": r["layer"], "row": r["row"], "kept_by": r["kept_by"], "bit_exact": r["bit_exact"]}
        for r in rows
        if r["now"] == "remaining fact"
    ]
    subjects = _digest_subject(f"ledger entry {entry.seq}", entry.entry_hash)
    subjects += _digest_subject(f"memory of {entry.user_id} after the erase", proof["digests"]["after"])
    subjects += _digest_subject("model weights", base_sha256)
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": ERASURE_PREDICATE,
        "predicate": {
            "user": entry.user_id,
            "erased_fact_ids": list(entry.fact_ids),
            "whole_user": entry.action == "erase_user",
            "erased_by": entry.operator,
            "erased_at": entry.at,
            "ledger": {"seq": entry.seq, "entry_hash": entry.entry_hash, "prev_hash": entry.prev_hash},
            "digests": proof["digests"],
            "rows_restored": restored,
            "residue": residue,
            "proof": {
                "bit_exact": True,
                "method": proof["method"],
                "forwards": proof["forwards"],
                "values_compared": proof["values_compared"],
                "bytes_compared": proof["bytes_compared"],
            },
            "operator": {"name": operator, "key_id": signer_key_id},
            "signed_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        },
    }


def sign_certificate(
    entry: LedgerEntry, proof: dict[str, Any], base_sha256: str | None, operator: str, private: Ed25519PrivateKey
) -> dict[str, Any]:
    """The signed certificate (a DSSE envelope) of one erase."""
    stmt = erasure_statement(entry, proof, base_sha256, operator, key_id(private))
    return sign_envelope(canonical_bytes(stmt), private, IN_TOTO_TYPE)


def verify_certificate(envelope: dict[str, Any], trusted: dict[str, TrustedKey]) -> dict[str, Any]:
    """The Statement of a certificate whose signature holds for a trusted key (``dsse.SignatureError`` otherwise),
    checked to be an erasure certificate whose ledger subject is the entry its predicate names."""
    verified = verify_envelope(envelope, trusted)
    try:
        stmt = json.loads(verified.payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CertificateError(f"the signed payload is not JSON ({exc})") from exc
    if not isinstance(stmt, dict) or stmt.get("predicateType") != ERASURE_PREDICATE:
        raise CertificateError("this is not an erasure certificate (its statement is of another kind)")
    pred = stmt.get("predicate") or {}
    ledger = pred.get("ledger") or {}
    want = f"ledger entry {ledger.get('seq')}"
    named = {s.get("name"): (s.get("digest") or {}).get("sha256") for s in stmt.get("subject") or []}
    if named.get(want) != ledger.get("entry_hash"):
        raise CertificateError("the certificate's ledger subject is not the entry its predicate names")
    return stmt


def write_certificate(
    out: str | Path,
    entry: LedgerEntry,
    proof: dict[str, Any],
    base_sha256: str | None,
    private: Ed25519PrivateKey,
) -> Path:
    """Sign the certificate of one erase (by the operator the ledger entry records) and write it whole: to a
    temporary file, then renamed. CertificateError when the erase cannot be certified or the file not written."""
    envelope = sign_certificate(entry, proof, base_sha256, entry.operator or "", private)
    target = Path(out)
    tmp = target.with_name(target.name + ".part")
    try:
        tmp.write_text(json.dumps(envelope, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CertificateError(f"cannot write {target}: {exc.strerror}") from exc
    return target


def is_certificate(envelope: dict[str, Any]) -> bool:
    """Whether an envelope's (unverified) payload says it is an erasure certificate; the signature decides later."""
    try:
        stmt = json.loads(payload_bytes(envelope).decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(stmt, dict) and stmt.get("predicateType") == ERASURE_PREDICATE


def check_certificate(
    envelope: dict[str, Any], trusted: dict[str, TrustedKey], store: MemoryStore | None = None
) -> dict[str, Any]:
    """{ok, checks, signers, certificate}: the signature, then (with ``store``) that the store's ledger still
    holds the entry the certificate names, with the same hash, and that the erased facts are not in the store."""
    checks: list[dict[str, Any]] = []
    try:
        verified = verify_envelope(envelope, trusted)
        stmt = verify_certificate(envelope, trusted)
    except (SignatureError, EnvelopeError, CertificateError) as exc:
        return {"ok": False, "checks": [outcome("signature", False, "", str(exc))], "signers": [], "certificate": None}
    pred = stmt["predicate"]
    facts = ", ".join(pred["erased_fact_ids"]) or "every fact"
    said = f"a signed erasure certificate: {pred['user']}'s {facts}, erased {pred['erased_at']}"
    checks.append(outcome("signature", True, said, said))
    if store is not None:
        seq, want = pred["ledger"]["seq"], pred["ledger"]["entry_hash"]
        held = next((e for e in store.ledger() if e.seq == seq), None)
        checks.append(
            outcome(
                "ledger entry",
                held is not None and held.entry_hash == want,
                f"the store's ledger holds entry {seq:,} with the certified hash ({want[:16]}…)",
                f"the store's ledger has no entry {seq:,} with the certified hash ({want[:16]}…): it is not the "
                "store the erase was made in, or its log was changed",
            )
        )
        still = (
            {f.fact_id for f in store.load(pred["user"], check=False).facts} & set(pred["erased_fact_ids"])
            if store.has_user(pred["user"])
            else set()
        )
        checks.append(
            outcome(
                "facts gone",
                not still,
                "none of the erased facts is in the store",
                f"the store holds erased facts again: {', '.join(sorted(still))}",
            )
        )
    signers = [
        {
            "name": (sg.approval or {}).get("name") or sg.name,
            "role": "approver" if sg.approval else "operator",
            "key_id": sg.key_id,
            "signed_at": (sg.approval or {}).get("signed_at") or pred["signed_at"],
        }
        for sg in verified.signers
    ]
    return {"ok": all(c["ok"] for c in checks), "checks": checks, "signers": signers, "certificate": stmt}
