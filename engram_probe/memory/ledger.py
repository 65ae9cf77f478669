"""The store's modification log: hash-chained entries, and the checks that walk the chain.

Each entry records who changed which user's memory, how, and the memory digest before and
after; its hash covers all of that and the previous entry's hash. Editing, deleting or
reordering a row breaks the chain at a place the checks name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
EMPTY_MEMORY = "empty"
ACTIONS = ("write", "erase_facts", "erase_user", "import", "read")
ACTION_WORDS = {
    "write": "wrote",
    "erase_facts": "erased",
    "erase_user": "erased the whole user",
    "import": "imported",
    "read": "read",
}


@dataclass(frozen=True)
class LedgerEntry:
    seq: int
    at: str
    user_id: str
    action: str
    fact_ids: list[str]
    digest_before: str
    digest_after: str
    prev_hash: str
    entry_hash: str
    operator: str | None = None
    detail: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()

    def recomputed_hash(self) -> str:
        return entry_hash(
            self.prev_hash,
            self.at,
            self.user_id,
            self.action,
            self.fact_ids,
            self.digest_before,
            self.digest_after,
            self.operator,
            self.detail,
        )


def entry_hash(
    prev: str,
    at: str,
    user: str,
    action: str,
    fact_ids: Sequence[str],
    before: str,
    after: str,
    operator: str | None = None,
    detail: dict[str, Any] | None = None,
) -> str:
    """SHA-256 of one entry and its predecessor's hash.

    Entries written before operators were recorded (no operator, no detail) hash exactly as they did then.
    """
    fields: list[Any] = [prev, at, user, action, list(fact_ids), before, after]
    if operator is not None or detail is not None:
        fields += [operator, detail]
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()
    return hashlib.sha256(json.dumps(fields).encode()).hexdigest()


@dataclass(frozen=True)
class LedgerFault:
    """One broken place in the chain: the entry where it shows, what kind of break, and the finding in words.

    ``kind``: ``missing`` (a gap in the sequence numbers: entries were deleted), ``reordered`` (the entry names
    another entry of the chain as its predecessor), ``unlinked`` (it names a predecessor the chain does not hold:
    the entry before it was removed or rewritten), ``altered`` (its fields no longer hash to its recorded hash) or
    ``digest`` (its memory digest before is not the one its user's previous entry ended with).
    ``scope``: ``chain`` when nobody can tell whose entry it was, else ``user``.
    """

    entry: LedgerEntry
    kind: str
    scope: str
    text: str


def ledger_faults(entries: Iterable[LedgerEntry]) -> Iterator[LedgerFault]:
    """Every break in the chain, in ledger order (the first one is the first broken entry)."""
    listed = list(entries)
    by_hash = {e.entry_hash: e for e in listed}
    last_after: dict[str, str] = {}
    prev, prev_seq = GENESIS, 0
    for e in listed:
        if e.prev_hash != prev:
            named = by_hash.get(e.prev_hash)
            if e.seq != prev_seq + 1:
                gap = f"entry {prev_seq + 1}" if e.seq == prev_seq + 2 else f"entries {prev_seq + 1} to {e.seq - 1}"
                yield LedgerFault(
                    e,
                    "missing",
                    "chain",
                    f"ledger entry {e.seq} does not follow the entry before it: "
                    f"{gap} {'is' if e.seq == prev_seq + 2 else 'are'} missing (deleted)",
                )
            elif named is not None and named is not e:
                yield LedgerFault(
                    e,
                    "reordered",
                    "chain",
                    f"ledger entry {e.seq} does not follow the entry before "
                    f"it: it names entry {named.seq} as its predecessor (the entries were reordered)",
                )
            else:
                yield LedgerFault(
                    e,
                    "unlinked",
                    "chain",
                    f"ledger entry {e.seq} does not follow the entry before "
                    "it: the entry it names as its predecessor is not in the log (removed or rewritten)",
                )
        if e.recomputed_hash() != e.entry_hash:
            yield LedgerFault(
                e,
                "altered",
                "user",
                f"ledger entry {e.seq} has been altered: its fields no longer hash to its recorded hash",
            )
        if e.digest_before != last_after.get(e.user_id, EMPTY_MEMORY):
            yield LedgerFault(
                e, "digest", "user", f"ledger entry {e.seq} starts from a digest the previous entry did not end with"
            )
        last_after[e.user_id] = e.digest_after
        prev, prev_seq = e.entry_hash, e.seq


def last_digests(entries: Iterable[LedgerEntry]) -> dict[str, str]:
    """Each user's last recorded memory digest."""
    return {e.user_id: e.digest_after for e in entries}


def chain_problems(entries: Iterable[LedgerEntry]) -> tuple[list[str], dict[str, list[str]], dict[str, str]]:
    """Walk the chain once.

    Returns the problems that concern the whole chain (a missing or reordered entry: nobody can
    tell whose it was), the problems per user (an altered entry, a digest that does not continue),
    and each user's last recorded memory digest.
    """
    listed = list(entries)
    chain: list[str] = []
    per_user: dict[str, list[str]] = {e.user_id: [] for e in listed}
    for fault in ledger_faults(listed):
        (chain if fault.scope == "chain" else per_user[fault.entry.user_id]).append(fault.text)
    return chain, per_user, last_digests(listed)


def action_words(entry: LedgerEntry) -> str:
    """One entry in words: "alice wrote 1 fact (3f2a…), replacing 9c01…", "bob erased the whole user (6 facts)"."""
    verb = ACTION_WORDS.get(entry.action, entry.action.replace("_", " "))
    who = entry.operator or "someone"
    n = len(entry.fact_ids)
    if entry.action == "read":
        view = (entry.detail or {}).get("view")
        return f"{who} read the memory" + (f" ({view})" if view else "")
    facts = f"{n} fact{'s' if n != 1 else ''}"
    listed = ", ".join(entry.fact_ids[:3]) + (f" and {n - 3} more" if n > 3 else "")
    if entry.action == "erase_user":
        out = f"{who} {verb} ({facts})"
    else:
        out = f"{who} {verb} {facts}" + (f": {listed}" if n else "")
    replaced = (entry.detail or {}).get("supersedes")
    if replaced:
        out += f", replacing {', '.join(replaced)}"
    fmt = (entry.detail or {}).get("file_format")
    if fmt:
        out += f" from a {fmt} file"
    return out
