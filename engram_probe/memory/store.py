"""MemoryStore: users, facts and rows in one SQLite file, with an append-only ledger.

Every write, erase and import is one transaction, so a process killed part-way leaves the
store exactly as it was before. The ledger records each change with the user's memory
digest before and after, and each entry hashes the one before it, so the chain can be
re-verified at any time. SQLite triggers refuse UPDATE and DELETE on the ledger.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from engram_probe.memory.user_memory import Fact, UserMemory

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (user_id TEXT PRIMARY KEY, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS facts (
    fact_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(user_id),
    seq INTEGER NOT NULL,
    meta TEXT NOT NULL,
    tensors BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS facts_by_user ON facts(user_id, seq);
CREATE TABLE IF NOT EXISTS ledger (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    user_id TEXT NOT NULL,
    action TEXT NOT NULL,
    fact_ids TEXT NOT NULL,
    digest_before TEXT NOT NULL,
    digest_after TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    entry_hash TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS ledger_no_update BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS ledger_no_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
"""

GENESIS = "0" * 64
EMPTY_MEMORY = "empty"
# Fault-injection point for the crash test: seconds to sleep inside the write transaction.
PAUSE_ENV = "ENGRAM_PROBE_PAUSE_IN_WRITE"


class StoreError(ValueError):
    """A store operation that cannot be done; the store is unchanged."""


class UnknownUserError(StoreError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


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

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def entry_hash(prev: str, at: str, user: str, action: str, fact_ids: Sequence[str], before: str, after: str) -> str:
    body = json.dumps([prev, at, user, action, list(fact_ids), before, after])
    return hashlib.sha256(body.encode()).hexdigest()


def fact_blob(fact: Fact) -> bytes:
    return st_save({"row_ids": fact.row_ids.contiguous(), "values": fact.values.contiguous()})


def fact_from_row(meta_json: str, blob: bytes) -> Fact:
    meta = json.loads(meta_json)
    tensors = st_load(blob)
    meta.pop("rows", None)
    return Fact(row_ids=tensors["row_ids"], values=tensors["values"], **meta)


def memory_digest(mem: UserMemory | None) -> str:
    return EMPTY_MEMORY if mem is None or len(mem) == 0 else mem.digest()


class MemoryStore:
    """Persistent per-user memories bound to one base model."""

    def __init__(self, path: str | Path, base_sha256: str | None = None):
        self.path = Path(path)
        if self.path.exists() and self.path.is_dir():
            raise StoreError(f"{self.path} is a directory, not a store file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # one connection shared by threads (the web UI): every statement runs under this lock
        self._lock = threading.RLock()
        try:
            self._conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=30)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a memory store ({exc})") from exc
        stored = self.meta("base_sha256")
        if base_sha256 is not None:
            if stored is None:
                with self._tx() as cur:
                    cur.execute("INSERT OR IGNORE INTO meta VALUES ('base_sha256', ?)", (base_sha256,))
            elif stored != base_sha256:
                raise StoreError(
                    f"store {self.path} holds memories for base model {stored[:12]}…, "
                    f"not for the loaded model {base_sha256[:12]}…"
                )
        self.base_sha256 = self.meta("base_sha256")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return None if not rows else str(rows[0][0])

    # ------------------------------------------------------------------ reads
    def user_ids(self) -> list[str]:
        return [r[0] for r in self._query("SELECT user_id FROM users ORDER BY user_id")]

    def has_user(self, user_id: str) -> bool:
        return bool(self._query("SELECT 1 FROM users WHERE user_id = ?", (user_id,)))

    def load(self, user_id: str) -> UserMemory:
        if not self.has_user(user_id):
            raise UnknownUserError(f"unknown user {user_id!r}; known users: {', '.join(self.user_ids()) or 'none'}")
        with self._lock:
            return self._load(self._conn.cursor(), user_id)

    def _load(self, cur: sqlite3.Cursor, user_id: str) -> UserMemory:
        rows = cur.execute("SELECT meta, tensors FROM facts WHERE user_id = ? ORDER BY seq", (user_id,)).fetchall()
        return UserMemory(user_id, [fact_from_row(m, b) for m, b in rows])

    def users(self) -> list[dict[str, Any]]:
        return [self.load(u).summary() for u in self.user_ids()]

    def ledger(self, user_id: str | None = None) -> list[LedgerEntry]:
        sql = "SELECT * FROM ledger" + (" WHERE user_id = ?" if user_id else "") + " ORDER BY seq"
        out = []
        for r in self._query(sql, (user_id,) if user_id else ()):
            out.append(LedgerEntry(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6], r[7], r[8]))
        return out

    def verify_ledger(self) -> list[str]:
        """Problems found: a broken hash chain, or a user whose memory disagrees with the ledger."""
        problems: list[str] = []
        prev = GENESIS
        last_after: dict[str, str] = {}
        for e in self.ledger():
            if e.prev_hash != prev:
                problems.append(f"ledger entry {e.seq} does not follow entry before it")
            want = entry_hash(e.prev_hash, e.at, e.user_id, e.action, e.fact_ids, e.digest_before, e.digest_after)
            if want != e.entry_hash:
                problems.append(f"ledger entry {e.seq} has been altered")
            if e.digest_before != last_after.get(e.user_id, EMPTY_MEMORY):
                problems.append(f"ledger entry {e.seq} starts from a digest the previous entry did not end with")
            last_after[e.user_id] = e.digest_after
            prev = e.entry_hash
        for user in set(last_after) | set(self.user_ids()):
            current = memory_digest(self.load(user)) if self.has_user(user) else EMPTY_MEMORY
            if current != last_after.get(user, EMPTY_MEMORY):
                problems.append(f"user {user!r} memory does not match the ledger's last digest")
        return problems

    # ------------------------------------------------------------------ writes
    def _append_ledger(
        self, cur: sqlite3.Cursor, user: str, action: str, fact_ids: list[str], before: str, after: str
    ) -> LedgerEntry:
        row = cur.execute("SELECT entry_hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
        prev = row[0] if row else GENESIS
        at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
        h = entry_hash(prev, at, user, action, fact_ids, before, after)
        cur.execute(
            "INSERT INTO ledger (at, user_id, action, fact_ids, digest_before, digest_after, prev_hash, entry_hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (at, user, action, json.dumps(fact_ids), before, after, prev, h),
        )
        seq = int(cur.execute("SELECT last_insert_rowid()").fetchone()[0])
        return LedgerEntry(seq, at, user, action, fact_ids, before, after, prev, h)

    def add_facts(self, user_id: str, facts: Sequence[Fact], action: str = "write") -> LedgerEntry:
        """Append facts to a user (created if new) in one transaction."""
        if not user_id or not user_id.strip():
            raise StoreError("user id must be a non-empty string")
        if not facts:
            raise StoreError("no facts to store")
        with self._tx() as cur:
            if cur.execute("SELECT 1 FROM users WHERE user_id = ?", (user_id,)).fetchone() is None:
                cur.execute("INSERT INTO users VALUES (?, ?)", (user_id, dt.datetime.now(dt.UTC).isoformat()))
                before_mem = UserMemory(user_id)
            else:
                before_mem = self._load(cur, user_id)
            seq = cur.execute("SELECT COALESCE(MAX(seq), -1) FROM facts WHERE user_id = ?", (user_id,)).fetchone()[0]
            after_mem = UserMemory(user_id, list(before_mem.facts))
            for i, f in enumerate(facts):
                try:
                    after_mem.add(f)
                    cur.execute(
                        "INSERT INTO facts VALUES (?, ?, ?, ?, ?)",
                        (f.fact_id, user_id, seq + 1 + i, json.dumps(f.meta()), fact_blob(f)),
                    )
                except (sqlite3.IntegrityError, ValueError) as exc:
                    raise StoreError(f"fact id {f.fact_id} already exists in the store") from exc
            pause = float(os.environ.get(PAUSE_ENV, "0") or 0)
            if pause:
                time.sleep(pause)
            return self._append_ledger(
                cur, user_id, action, [f.fact_id for f in facts], memory_digest(before_mem), memory_digest(after_mem)
            )

    def erase(self, user_id: str, fact_ids: Sequence[str] | None = None) -> LedgerEntry:
        """Erase some facts of a user, or the whole user when ``fact_ids`` is None."""
        with self._tx() as cur:
            if cur.execute("SELECT 1 FROM users WHERE user_id = ?", (user_id,)).fetchone() is None:
                raise UnknownUserError(f"unknown user {user_id!r}")
            before = self._load(cur, user_id)
            if fact_ids is None:
                ids = [f.fact_id for f in before.facts]
                cur.execute("DELETE FROM facts WHERE user_id = ?", (user_id,))
                cur.execute("DELETE FROM users WHERE user_id = ?", (user_id,))
                after_digest, action = EMPTY_MEMORY, "erase_user"
            else:
                ids = list(fact_ids)
                missing = set(ids) - {f.fact_id for f in before.facts}
                if missing or not ids:
                    raise StoreError(f"user {user_id!r} has no facts {sorted(missing)}")
                cur.executemany("DELETE FROM facts WHERE fact_id = ?", [(i,) for i in ids])
                after_digest, action = memory_digest(before.without(set(ids))), "erase_facts"
            return self._append_ledger(cur, user_id, action, ids, memory_digest(before), after_digest)

    def replace_user(self, memory: UserMemory, action: str) -> LedgerEntry:
        """Create a user holding exactly ``memory``'s facts (the user must not exist yet)."""
        if self.has_user(memory.user_id):
            raise StoreError(f"user {memory.user_id!r} already exists; erase it first or import under another id")
        return self.add_facts(memory.user_id, memory.facts, action=action)

    def snapshot(self) -> str:
        """Digest of the whole logical content (users, facts, ledger) for tests and audits."""
        h = hashlib.sha256()
        for table in ("meta", "users", "facts", "ledger"):
            for row in self._query(f"SELECT * FROM {table} ORDER BY 1"):
                h.update(repr(row).encode())
        return h.hexdigest()
