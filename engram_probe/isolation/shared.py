"""A shared table as a deployment builds it: N users' memories merged into one overlay, under an explicit policy.

The merge is :class:`~engram_probe.memory.overlay.MemoryOverlay` (memories listed later win a row, and every row
owned by more than one user is one of its ``collisions``). A policy says what a row two users write means:

- ``refuse``: an error naming the users, their facts and the rows (a table where tenants never share a row);
- ``last-write-wins``: the paper's server. Users are written into the table in the order given, so the user
  listed last wins a shared row.

Keeping users in separate namespaces (the hash salted with a user id) is not a merge policy: it changes the
addresses themselves, so it is an option of the address contract and is handled there (docs/isolation.md).

Every row written by more than one user is reported and classified: **by content** when two of its users' facts
read it through the same n-gram (the same hashed token ids at the window), **by hash collision** when they read it
through different n-grams, or **unattributed** when a writer's triggers do not read it at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engram_probe.arch.loaded import LoadedModel
from engram_probe.contracts.base import RowKey
from engram_probe.memory.overlay import MemoryOverlay
from engram_probe.memory.store import MemoryStore, memory_digest
from engram_probe.memory.transfer import file_sha256
from engram_probe.memory.user_memory import Fact, UserMemory
from engram_probe.overlays.bridge import read_user_memory
from engram_probe.overlays.edited_rows import fact_reads
from engram_probe.overlays.rowset import FactTrigger

POLICIES = ("refuse", "last-write-wins")
POLICY_RULES = {
    "refuse": "a row written by two users is refused: the table is built only when no two users share a row",
    "last-write-wins": "users are written into the table in the order listed; on a row that several users write, "
    "the user listed last wins (the paper's server)",
}
CONTENT, COLLISION, UNATTRIBUTED = "content", "hash collision", "unattributed"
SHARING_RULE = (
    "content: two users' facts read the row through the same n-gram (the same hashed token ids at the window); "
    "hash collision: they read it through different n-grams that hash to the same row; unattributed: a writer's "
    "triggers do not read the row at its teacher-forced positions"
)
MAX_NAMED = 5  # shared rows named in a refusal's message


class MergeRefused(ValueError):
    """The ``refuse`` policy met rows that more than one user writes."""


@dataclass(frozen=True)
class Window:
    """One n-gram through which a fact reads one of its rows: the hashed ids, and the raw tokens of the window."""

    user: str
    fact_id: str
    column: int
    order: int
    hashed: tuple[int, ...]  # what the hash sees, newest first
    tokens: tuple[int, ...]  # the raw token ids of the window, oldest first

    def as_dict(self, lm: LoadedModel) -> dict[str, Any]:
        return {
            "user": self.user,
            "fact": self.fact_id,
            "column": self.column,
            "order": self.order,
            "tokens": list(self.tokens),
            "text": lm.tokenizer.decode(list(self.tokens)),
        }


def fact_windows(lm: LoadedModel, user: str, fact: Fact) -> dict[RowKey, list[Window]]:
    """For each row the fact owns, the windows of its triggers' teacher-forced positions that read it.

    The reads are ``edited_rows.fact_reads`` (the census's and bridge's), one trigger at a time."""
    own = set(fact.rows)
    contract = lm.model.hasher
    out: dict[RowKey, list[Window]] = {}
    if fact.layer not in contract.layers:
        return out
    for trigger in fact.triggers:
        ids = tuple(lm.tokenizer.encode(trigger))
        if not ids or len(ids) + len(fact.answer_token_ids) - 1 > lm.model.max_tokens:
            continue
        ft = FactTrigger(user, fact.fact_id, ids, (fact.layer,), trigger, tuple(fact.answer_token_ids))
        seq, positions = ft.continuation()
        for rd in fact_reads(contract, ft, [fact.layer]):
            key = (rd.layer, rd.row)
            if key not in own:
                continue
            at = positions[rd.answer_token]
            raw = tuple(seq[max(0, at - rd.order + 1) : at + 1])
            out.setdefault(key, []).append(Window(user, fact.fact_id, rd.column, rd.order, rd.ngram, raw))
    return out


@dataclass(frozen=True)
class SharedRow:
    """A row of the merged table that more than one user writes, with whose value wins and how it came shared."""

    layer: int
    row: int
    owners: tuple[tuple[str, tuple[str, ...]], ...]  # (user, fact ids) in merge order
    winner: str
    sharing: str
    windows: tuple[Window, ...]

    def as_dict(self, lm: LoadedModel) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "row": self.row,
            "owners": [{"user": u, "facts": list(f)} for u, f in self.owners],
            "winner": self.winner,
            "sharing": self.sharing,
            "ngrams": [w.as_dict(lm) for w in self.windows],
        }


def sharing_of(windows: Sequence[Window], users: Sequence[str]) -> str:
    """How a row several users write came shared (see :data:`SHARING_RULE`)."""
    readers: dict[tuple[int, ...], set[str]] = {}
    for w in windows:
        readers.setdefault(w.hashed, set()).add(w.user)
    if any(len(who) > 1 for who in readers.values()):
        return CONTENT
    return COLLISION if {w.user for w in windows} >= set(users) else UNATTRIBUTED


@dataclass
class SharedTable:
    """The merged overlay of several users, under a policy, with every row more than one user writes."""

    lm: LoadedModel
    overlay: MemoryOverlay
    policy: str  # one of POLICIES
    shared: list[SharedRow]
    _windows: dict[str, dict[RowKey, list[Window]]]  # per user, per row they own: the windows that read it
    _window_texts: dict[tuple[str, RowKey], list[dict[str, Any]]] = field(default_factory=dict)
    _by_user: dict[str, UserMemory] = field(default_factory=dict)

    def windows(self, user: str) -> dict[RowKey, list[Window]]:
        """Per row ``user`` owns, the windows of their facts' teacher-forced positions that read it (computed once)."""
        if user not in self._windows:
            per_row: dict[RowKey, list[Window]] = {}
            for f in self.memory(user).facts:
                for key, found in fact_windows(self.lm, user, f).items():
                    per_row.setdefault(key, []).extend(found)
            self._windows[user] = per_row
        return self._windows[user]

    def window_texts(self, user: str, key: RowKey) -> list[dict[str, Any]]:
        """The windows through which ``user``'s facts read a row, as report entries (decoded once per table)."""
        if (user, key) not in self._window_texts:
            self._window_texts[(user, key)] = [w.as_dict(self.lm) for w in self.windows(user).get(key, [])]
        return self._window_texts[(user, key)]

    @property
    def users(self) -> list[str]:
        return self.overlay.users

    def memory(self, user: str) -> UserMemory:
        """The user's memory in the table; a user the table does not hold is refused, naming its users."""
        if not self._by_user:
            self._by_user.update((m.user_id, m) for m in self.overlay.memories)
        if user in self._by_user:
            return self._by_user[user]
        raise KeyError(f"the shared table has no user {user!r}; its users are {', '.join(self.users)}")

    def winner(self, key: RowKey) -> tuple[str, tuple[str, ...]] | None:
        """(user, fact ids) whose value the merged table holds at a row, or None for a row no user writes."""
        owners = self.overlay.owners_of(key)
        return owners[-1] if owners else None  # the memory listed last wins (MemoryOverlay's rule)

    def only(self, user: str) -> MemoryOverlay:
        """A table holding only ``user``'s rows (the other side of the isolation proof)."""
        return MemoryOverlay([self.memory(user)])

    def digest(self) -> str:
        """SHA-256 of the policy, the users in merge order with their memory digests, and every merged row's value."""
        h = hashlib.sha256(f"{self.policy}\0".encode())
        for m in self.overlay.memories:
            h.update(f"{m.user_id}\0{memory_digest(m)}\0".encode())
        h.update(self.overlay.keys.contiguous().numpy().tobytes())
        for layer in sorted(self.overlay.layers):
            ids, vals = self.overlay.layers[layer]
            h.update(f"\1{layer}".encode())
            h.update(ids.contiguous().numpy().tobytes())
            h.update(vals.detach().float().contiguous().numpy().tobytes())
        return h.hexdigest()

    def summary(self) -> dict[str, Any]:
        """JSON-ready account: the users, the rows, every shared row with its owners, winner and n-grams."""
        counts = {k: sum(r.sharing == k for r in self.shared) for k in (CONTENT, COLLISION, UNATTRIBUTED)}
        return {
            "policy": self.policy,
            "policy_rule": POLICY_RULES[self.policy],
            "salting": "per-user namespaces are an option of the address contract, not a merge policy",
            "users": [m.summary() for m in self.overlay.memories],
            "rows": int(self.overlay.keys.numel()),
            "shared_rows": [r.as_dict(self.lm) for r in self.shared],
            "shared_count": len(self.shared),
            "by_content": counts[CONTENT],
            "by_hash_collision": counts[COLLISION],
            "unattributed": counts[UNATTRIBUTED],
            "sharing_rule": SHARING_RULE,
            "sha256": self.digest(),
        }


def _refusal(collisions: Sequence[Any]) -> MergeRefused:
    named = []
    for c in collisions[:MAX_NAMED]:
        who = "; ".join(f"{u} (facts {', '.join(f)})" for u, f in c.owners)
        named.append(f"row {c.row:,} of layer {c.layer} is written by {who}")
    more = f"; and {len(collisions) - MAX_NAMED:,} more rows" if len(collisions) > MAX_NAMED else ""
    users = sorted({u for c in collisions for u, _ in c.owners})
    return MergeRefused(
        f"{len(collisions):,} rows are written by more than one user ({', '.join(users)}): " + "; ".join(named) + more
    )


def merge(lm: LoadedModel, memories: Sequence[UserMemory], policy: str = "refuse") -> SharedTable:
    """Merge the users' memories, in the order given, into one shared table under ``policy``."""
    if policy not in POLICIES:
        raise ValueError(f"merge policy must be one of {', '.join(POLICIES)}, got {policy!r}")
    if not memories:
        raise ValueError("a shared table needs at least one user")
    overlay = MemoryOverlay(memories)
    if policy == "refuse" and overlay.collisions:
        raise _refusal(overlay.collisions)
    table = SharedTable(lm, overlay, policy, [], {})
    for c in overlay.collisions:
        key = (c.layer, c.row)
        users = [u for u, _ in c.owners]
        found = tuple(w for u in users for w in table.windows(u).get(key, []))
        table.shared.append(SharedRow(c.layer, c.row, c.owners, c.winner, sharing_of(found, users), found))
    return table


def load_memories(store: MemoryStore, users: Sequence[str] | None = None) -> list[UserMemory]:
    """The named users' memories from the store, in the order named (default: every user, in id order)."""
    chosen = list(users) if users else store.user_ids()
    if len(set(chosen)) != len(chosen):
        raise ValueError(f"a user is named twice: {', '.join(chosen)}")
    return [store.load(u) for u in chosen]


def table_from(
    lm: LoadedModel,
    store: MemoryStore | None,
    users: Sequence[str] | None,
    overlays: Sequence[str | Path] = (),
    policy: str = "refuse",
) -> tuple[SharedTable, dict[str, Any]]:
    """The shared table of the store's users (default: all of them) followed by any foreign overlay files (each
    through the overlay bridge, as its file's user), and a record of where it came from (for a report)."""
    memories = load_memories(store, users) if store is not None else []
    files = []
    for path in overlays:
        memory = read_user_memory(path, lm).memory
        memories.append(memory)
        files.append({"path": str(path), "sha256": file_sha256(path), "user": memory.user_id})
    source = {
        "path": None if store is None else str(store.path),  # the store; None when every user is an overlay file
        "users": [m.user_id for m in memories],
        "overlays": files,
    }
    return merge(lm, memories, policy), source
