"""The store's modification log as evidence: its first broken entry, its export for log retention, its signed head.

The chain walk is the store's (``memory/ledger.py`` ``ledger_faults``, ``MemoryStore.memory_problems``); this
module names the first break in words, exports the entries as JSON Lines, and signs or checks the chain head.

A signed head is a DSSE envelope (``attest/dsse.py``, Ed25519) over an in-toto Statement v1 whose subject is the
head entry's hash, named after the number of entries it closes (``ledger head after N entries``), and whose
predicate (``HEAD_PREDICATE``) records that count, the head entry's sequence number and time, the store's base
model and the signer. Since each entry hashes the one before it, a signed head vouches for every entry up to it:
a log with fewer entries, or one whose entry at that place has another hash, was truncated or rewritten.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from engram_probe.attest.dsse import IN_TOTO_TYPE, sign_envelope, verify_envelope
from engram_probe.attest.keys import TrustedKey, key_id
from engram_probe.attest.statement import STATEMENT_TYPE
from engram_probe.contracts.base import canonical_bytes
from engram_probe.memory.ledger import GENESIS, LedgerEntry, LedgerFault, last_digests, ledger_faults
from engram_probe.memory.store import MemoryStore

HEAD_PREDICATE = "https://engram-workbench.dev/attestation/ledger-head/v1"
EXPORT_FORMAT = "engram-workbench/ledger-export/v1"
# the store's action names, in the words of the export (a write that replaces facts is a supersede, see below)
EXPORT_ACTIONS = {"write": "write", "import": "import", "erase_facts": "erase", "erase_user": "erase", "read": "read"}


class LedgerAttestError(ValueError):
    """A signed head or a ``--since`` that cannot be used; the message names the file or the value."""


@dataclass
class LedgerCheck:
    """What walking the log found: its size and head, the first broken entry, users whose memory disagrees, and,
    against a signed head, whether the log still holds every entry that was signed."""

    entries: int
    head: str
    first: LedgerFault | None = None
    breaks: int = 0
    memory: list[str] = field(default_factory=list)
    truncation: str | None = None
    signed: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.first is None and not self.memory and self.truncation is None


def fault_words(fault: LedgerFault) -> str:
    """The first broken entry in plain words: where it is, whose it was, what it did, and what is wrong."""
    e = fault.entry
    by = f", by {e.operator}" if e.operator else ""
    return f"{fault.text}. That entry: {e.at[:19].replace('T', ' ')} UTC, user {e.user_id}, {export_action(e)}{by}"


def check_log(store: MemoryStore, signed_head: dict[str, Any] | None = None) -> LedgerCheck:
    """Walk the whole chain once; with ``signed_head`` (a verified head statement's predicate) check truncation."""
    entries = store.ledger()
    faults = list(ledger_faults(entries))
    out = LedgerCheck(len(entries), entries[-1].entry_hash if entries else GENESIS)
    out.first, out.breaks = (faults[0] if faults else None), len(faults)
    out.memory = store.memory_problems(last_digests(entries))
    if signed_head is not None:
        out.signed = signed_head
        out.truncation = truncation(entries, signed_head)
    return out


def truncation(entries: list[LedgerEntry], head: dict[str, Any]) -> str | None:
    """Why the log no longer holds what the signed head covers, or None when it does."""
    n, want = int(head["entries"]), str(head["head"])
    if len(entries) < n:
        return (
            f"the log holds {len(entries):,} entries but the signed head covers {n:,}: "
            f"{n - len(entries):,} were removed (the log was truncated)"
        )
    if n and entries[n - 1].entry_hash != want:
        where = next((e.seq for e in entries if e.entry_hash == want), None)
        if where is None:
            return (
                f"the signed head (entry {head.get('seq', n)}, hash {want[:16]}…) is not in the log: "
                "the entries it closed were removed or rewritten"
            )
        return (
            f"the signed head is entry {where} of the log, not its entry number {n:,}: entries before it were removed"
        )
    return None


# ------------------------------------------------------------------ export for log retention
def parse_since(text: str) -> dt.datetime:
    """``--since``: an ISO 8601 date or time (``2025-01-31``, ``2025-01-31T12:00``, with or without a zone; UTC when
    none), as an aware datetime. Anything else is a LedgerAttestError naming the value."""
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise LedgerAttestError(
            f"the start date {text!r} is not a date: give it as YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC unless a zone "
            "is given)"
        ) from exc
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def export_action(entry: LedgerEntry) -> str:
    """The export's word for an entry: write, erase, import, supersede or read.

    A supersede is recorded by the store as two entries: the erase of the replaced facts, then the write whose
    detail names them (``supersedes``). The write is exported as ``supersede``; the erase stays ``erase`` and
    carries ``reason: supersede``.
    """
    if entry.action == "write" and (entry.detail or {}).get("supersedes"):
        return "supersede"
    return EXPORT_ACTIONS.get(entry.action, entry.action)


def _supersede_erases(entries: list[LedgerEntry]) -> set[int]:
    """The sequence numbers of the erases a supersede made (the erase just before its write, of the same facts)."""
    out = set()
    last_by_user: dict[str, LedgerEntry] = {}
    for e in entries:
        replaced = sorted((e.detail or {}).get("supersedes") or [])
        before = last_by_user.get(e.user_id)
        if e.action == "write" and replaced and before is not None and before.action == "erase_facts":
            out |= {before.seq} if sorted(before.fact_ids) == replaced else set()
        last_by_user[e.user_id] = e
    return out


def export_record(entry: LedgerEntry, reason: str | None = None) -> dict[str, Any]:
    """One JSON Lines record of the export (fields in ``docs/attestations.md``, "The modification log")."""
    detail = entry.detail or {}
    record: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "seq": entry.seq,
        "time": entry.at,
        "actor": entry.operator,
        "action": export_action(entry),
        "user": entry.user_id,
        "fact_ids": list(entry.fact_ids),
        "digest_before": entry.digest_before,
        "digest_after": entry.digest_after,
        "entry_hash": entry.entry_hash,
        "prev_hash": entry.prev_hash,
        "store_action": entry.action,
    }
    if entry.action == "erase_user":
        record["scope"] = "user"
    elif entry.action == "erase_facts":
        record["scope"] = "facts"
    if reason:
        record["reason"] = reason
    if detail.get("supersedes"):
        record["replaces"] = list(detail["supersedes"])
    if detail:
        record["detail"] = detail
    return record


def export_records(store: MemoryStore, since: dt.datetime | None = None) -> Iterator[dict[str, Any]]:
    """The log's entries as export records, oldest first; with ``since``, those at or after that time only."""
    entries = store.ledger()
    erases = _supersede_erases(entries)
    for e in entries:
        if since is not None and dt.datetime.fromisoformat(e.at) < since:
            continue
        yield export_record(e, "supersede" if e.seq in erases else None)


def write_export(records: Iterator[dict[str, Any]], out: TextIO) -> int:
    """Write one compact JSON object per line; the number written."""
    n = 0
    for r in records:
        out.write(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n")
        n += 1
    return n


# ------------------------------------------------------------------ the signed head
def head_statement(store: MemoryStore, operator: str, signer_key_id: str, signed_at: str) -> dict[str, Any]:
    """The in-toto Statement of the store's chain head (module doc)."""
    entries = store.ledger()
    if not entries:
        raise LedgerAttestError(f"the store {store.path} has an empty log: there is no head to sign")
    last = entries[-1]
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": f"ledger head after {len(entries)} entries", "digest": {"sha256": last.entry_hash}}],
        "predicateType": HEAD_PREDICATE,
        "predicate": {
            "entries": len(entries),
            "head": last.entry_hash,
            "seq": last.seq,
            "head_time": last.at,
            "base_sha256": store.base_sha256,
            "store": store.path.name,
            "operator": {"name": operator, "key_id": signer_key_id},
            "signed_at": signed_at,
        },
    }


def sign_head(store: MemoryStore, private: Ed25519PrivateKey, operator: str) -> dict[str, Any]:
    """A DSSE envelope over the head statement, signed now by ``private``."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    stmt = head_statement(store, operator, key_id(private), now)
    return sign_envelope(canonical_bytes(stmt), private, IN_TOTO_TYPE)


def verified_head(envelope: dict[str, Any], trusted: dict[str, TrustedKey], name: str) -> dict[str, Any]:
    """The predicate of a signed head whose signature holds for a trusted key, checked to be a head statement whose
    subject and predicate agree. Raises ``SignatureError`` (from ``dsse``) or LedgerAttestError naming ``name``."""
    verified = verify_envelope(envelope, trusted)
    try:
        stmt = json.loads(verified.payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LedgerAttestError(f"{name}: the signed payload is not JSON ({exc})") from exc
    if not isinstance(stmt, dict) or stmt.get("_type") != STATEMENT_TYPE or stmt.get("predicateType") != HEAD_PREDICATE:
        raise LedgerAttestError(f"{name} is not a signed ledger head (its statement is of another kind)")
    pred: Any = stmt.get("predicate")
    subject: Any = stmt.get("subject")
    ok = isinstance(pred, dict) and isinstance(pred.get("entries"), int) and isinstance(pred.get("head"), str)
    ok = ok and isinstance(subject, list) and len(subject) == 1 and isinstance(subject[0], dict)
    if not ok or subject[0].get("digest", {}).get("sha256") != pred["head"]:
        raise LedgerAttestError(f"{name}: its subject and its recorded head disagree")
    return pred | {"signers": [s.name for s in verified.signers], "key_ids": [s.key_id for s in verified.signers]}
