"""MemoryStore: users, facts and rows in one SQLite file, with an append-only ledger.

Every write, erase and import is one transaction, so a process killed part-way leaves the
store exactly as it was before. How a path is opened (read-only, change, create) is decided in
``store_file``. The ledger (``ledger``) records each change with the user's memory digest
before and after and the operator; each entry hashes the one before it. Every read of a user
checks that user's part of the chain and that the stored facts still hash to the ledger's last
digest, so a change made outside the workbench is refused where the user is read. SQLite
triggers refuse UPDATE and DELETE on the ledger.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from engram_probe.memory.ids import check_user_id
from engram_probe.memory.ledger import EMPTY_MEMORY, GENESIS, LedgerEntry, chain_problems, entry_hash
from engram_probe.memory.store_file import Mode, StoreOpenError, ledger_columns, open_store_file
from engram_probe.memory.user_memory import Fact, UserMemory

__all__ = ["EMPTY_MEMORY", "GENESIS", "LedgerEntry", "MemoryStore", "StoreError", "entry_hash", "memory_digest"]

# Fault-injection point for the crash test: seconds to sleep inside the write transaction.
PAUSE_ENV = "ENGRAM_PROBE_PAUSE_IN_WRITE"


class StoreError(ValueError):
    """A store operation that cannot be done; the store is unchanged."""


class UnknownUserError(StoreError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class TamperedError(StoreError):
    """A user's facts or ledger entries were changed outside the workbench."""


def default_operator() -> str:
    """The OS user running this process (recorded when no operator is named)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def fact_blob(fact: Fact) -> bytes:
    return st_save({"row_ids": fact.row_ids.contiguous(), "values": fact.values.contiguous()})


def fact_from_row(meta_json: str, blob: bytes) -> Fact:
    try:
        meta = json.loads(meta_json)
        tensors = st_load(blob)
        meta.pop("rows", None)
        return Fact(row_ids=tensors["row_ids"], values=tensors["values"], **meta)
    except Exception as exc:  # any damage to a stored fact is the same finding for the reader
        msg = f"a stored fact is unreadable ({exc}): the store was changed outside the workbench"
        raise TamperedError(msg) from exc


def _fact_ids(text: str) -> list[str]:
    """A ledger row's fact ids; a value that is not a JSON list (edited by hand) is kept as it is, so that the entry
    fails its hash check where it stands instead of making the whole ledger unreadable."""
    try:
        ids = json.loads(text)
    except (TypeError, ValueError):
        return [str(text)]
    return ids if isinstance(ids, list) else [str(text)]


def memory_digest(mem: UserMemory | None) -> str:
    return EMPTY_MEMORY if mem is None or len(mem) == 0 else mem.digest()


class MemoryStore:
    """Persistent per-user memories bound to one base model.

    ``mode``: ``read`` (read-only; the default for every command that only reads), ``change``
    (must exist and be writable) or ``create`` (may create a new file where none exists).
    """

    def __init__(self, path: str | Path, base_sha256: str | None = None, mode: Mode = "create"):
        self.path = Path(path)
        self.mode = mode
        # one connection shared by threads (the web UI): every statement runs under this lock
        self._lock = threading.RLock()
        try:
            self._conn = open_store_file(self.path, mode)
        except StoreOpenError as exc:
            raise StoreError(str(exc)) from exc
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a memory store ({exc})") from exc
        self._columns = ledger_columns(self._conn)
        stored = self.meta("base_sha256")
        if base_sha256 is not None:
            if stored is None and mode != "read":
                with self._tx() as cur:
                    cur.execute("INSERT OR IGNORE INTO meta VALUES ('base_sha256', ?)", (base_sha256,))
            elif stored is not None and stored != base_sha256:
                self._conn.close()
                raise StoreError(
                    f"store {self.path} holds memories for base model {stored[:12]}…, "
                    f"not for the loaded model {base_sha256[:12]}…"
                )
        self.base_sha256 = self.meta("base_sha256")

    @property
    def writable(self) -> bool:
        return self.mode != "read"

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Cursor]:
        if not self.writable:
            raise StoreError(f"the store {self.path} was opened for reading only; nothing was written")
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

    def load(self, user_id: str, check: bool = True) -> UserMemory:
        """A user's memory; with ``check`` (the default) refused if it or its ledger entries were tampered with."""
        if not self.has_user(user_id):
            raise UnknownUserError(f"unknown user {user_id!r}; known users: {', '.join(self.user_ids()) or 'none'}")
        with self._lock:
            memory = self._load(self._conn.cursor(), user_id)
        if check:
            problems = self.problems(user_id, memory)
            if problems:
                raise TamperedError(
                    f"user {user_id!r} fails the ledger check: {'; '.join(problems[:3])}"
                    + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else "")
                    + ". The store was changed outside the workbench; its memory is not used."
                )
        return memory

    def _load(self, cur: sqlite3.Cursor, user_id: str) -> UserMemory:
        rows = cur.execute("SELECT meta, tensors FROM facts WHERE user_id = ? ORDER BY seq", (user_id,)).fetchall()
        return UserMemory(user_id, [fact_from_row(m, b) for m, b in rows])

    def users(self) -> list[dict[str, Any]]:
        """A summary per user, with the ledger check's problems (an empty list when intact)."""
        out = []
        for u in self.user_ids():
            try:
                memory = self.load(u, check=False)
                summary = memory.summary() | {"problems": self.problems(u, memory)}
            except TamperedError as exc:
                summary = {"user": u, "facts": None, "rows": None, "bytes": None, "digest": None}
                summary["problems"] = [str(exc)]
            out.append(summary)
        return out

    def ledger(self, user_id: str | None = None) -> list[LedgerEntry]:
        sql = "SELECT * FROM ledger" + (" WHERE user_id = ?" if user_id else "") + " ORDER BY seq"
        out = []
        for r in self._query(sql, (user_id,) if user_id else ()):
            row = dict(zip(self._columns, r, strict=True))
            detail = row.get("detail")
            out.append(
                LedgerEntry(
                    row["seq"],
                    row["at"],
                    row["user_id"],
                    row["action"],
                    _fact_ids(row["fact_ids"]),
                    row["digest_before"],
                    row["digest_after"],
                    row["prev_hash"],
                    row["entry_hash"],
                    row.get("operator"),
                    json.loads(detail) if detail else None,
                )
            )
        return out

    def problems(self, user_id: str, memory: UserMemory | None = None) -> list[str]:
        """What the ledger check finds for one user: its entries, the chain around them, its stored facts."""
        try:
            chain, per_user, last_after = chain_problems(self.ledger())
        except (ValueError, KeyError, TypeError) as exc:
            return [f"the ledger cannot be read ({exc})"]
        found = chain + per_user.get(user_id, [])
        if memory is None:
            try:
                memory = self.load(user_id, check=False) if self.has_user(user_id) else None
            except TamperedError as exc:
                return [*found, str(exc)]
        if memory_digest(memory) != last_after.get(user_id, EMPTY_MEMORY):
            found.append(f"user {user_id!r} memory does not match the ledger's last digest for it")
        return found

    def verify_ledger(self) -> list[str]:
        """Problems found in the whole store: a broken hash chain, or a user whose memory disagrees with the ledger."""
        chain, per_user, last_after = chain_problems(self.ledger())
        problems = list(chain) + [p for u in sorted(per_user) for p in per_user[u]]
        return problems + self.memory_problems(last_after)

    def memory_problems(self, last_after: dict[str, str]) -> list[str]:
        """Users whose stored facts do not hash to their last recorded digest (``last_after``, from the ledger)."""
        problems: list[str] = []
        for user in sorted(set(last_after) | set(self.user_ids())):
            try:
                current = memory_digest(self.load(user, check=False)) if self.has_user(user) else EMPTY_MEMORY
            except TamperedError as exc:
                problems.append(str(exc))
                continue
            if current != last_after.get(user, EMPTY_MEMORY):
                problems.append(f"user {user!r} memory does not match the ledger's last digest")
        return problems

    def head(self) -> str:
        """The hash of the newest ledger entry (the chain head), or the genesis value of an empty ledger."""
        rows = self._query("SELECT entry_hash FROM ledger ORDER BY seq DESC LIMIT 1")
        return rows[0][0] if rows else GENESIS

    # ------------------------------------------------------------------ writes
    def _append_ledger(
        self,
        cur: sqlite3.Cursor,
        user: str,
        action: str,
        fact_ids: list[str],
        before: str,
        after: str,
        operator: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> LedgerEntry:
        row = cur.execute("SELECT entry_hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
        prev = row[0] if row else GENESIS
        at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
        who = operator or default_operator()
        detail = detail or None
        h = entry_hash(prev, at, user, action, fact_ids, before, after, who, detail)
        cur.execute(
            "INSERT INTO ledger (at, user_id, action, fact_ids, digest_before, digest_after, prev_hash, entry_hash,"
            " operator, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (at, user, action, json.dumps(fact_ids), before, after, prev, h, who, json.dumps(detail) if detail else ""),
        )
        seq = int(cur.execute("SELECT last_insert_rowid()").fetchone()[0])
        return LedgerEntry(seq, at, user, action, fact_ids, before, after, prev, h, who, detail)

    def _checked_before(self, cur: sqlite3.Cursor, user_id: str) -> UserMemory:
        before = self._load(cur, user_id)
        problems = self.problems(user_id, before)
        if problems:
            raise TamperedError(
                f"user {user_id!r} fails the ledger check ({problems[0]}); nothing was written. "
                "Erase the user or restore the store from a copy."
            )
        return before

    def add_facts(
        self,
        user_id: str,
        facts: Sequence[Fact],
        action: str = "write",
        operator: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> LedgerEntry:
        """Append facts to a user (created if new) in one transaction."""
        if not facts:
            raise StoreError("no facts to store")
        with self._tx() as cur:
            return self._add(cur, user_id, facts, action, operator, detail)

    def supersede(
        self, user_id: str, replaced: Sequence[str], facts: Sequence[Fact], operator: str | None = None
    ) -> tuple[LedgerEntry, LedgerEntry]:
        """Erase the ``replaced`` facts and append ``facts`` in one transaction: both ledger entries, or neither.

        The write's entry names what it supersedes (``detail.supersedes``)."""
        if not facts:
            raise StoreError("no facts to store")
        with self._tx() as cur:
            erased = self._erase_facts(cur, user_id, replaced, operator)
            return erased, self._add(cur, user_id, facts, "write", operator, {"supersedes": list(replaced)})

    def _add(
        self,
        cur: sqlite3.Cursor,
        user_id: str,
        facts: Sequence[Fact],
        action: str,
        operator: str | None,
        detail: dict[str, Any] | None,
    ) -> LedgerEntry:
        if cur.execute("SELECT 1 FROM users WHERE user_id = ?", (user_id,)).fetchone() is None:
            try:
                check_user_id(user_id)
            except ValueError as exc:
                raise StoreError(str(exc)) from exc
            cur.execute("INSERT INTO users VALUES (?, ?)", (user_id, dt.datetime.now(dt.UTC).isoformat()))
            before_mem = UserMemory(user_id)
        else:
            before_mem = self._checked_before(cur, user_id)
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
            cur,
            user_id,
            action,
            [f.fact_id for f in facts],
            memory_digest(before_mem),
            memory_digest(after_mem),
            operator,
            detail,
        )

    def erase(self, user_id: str, fact_ids: Sequence[str] | None = None, operator: str | None = None) -> LedgerEntry:
        """Erase some facts of a user, or the whole user when ``fact_ids`` is None.

        Erasing a whole user is allowed even when its entries fail the ledger check (it is the remedy);
        erasing some facts of such a user is refused, since what remains could not be trusted.
        """
        with self._tx() as cur:
            if cur.execute("SELECT 1 FROM users WHERE user_id = ?", (user_id,)).fetchone() is None:
                raise UnknownUserError(f"unknown user {user_id!r}")
            if fact_ids is None:
                try:
                    before_digest = memory_digest(self._load(cur, user_id))
                    ids = [r[0] for r in cur.execute("SELECT fact_id FROM facts WHERE user_id = ?", (user_id,))]
                except TamperedError:
                    before_digest, ids = "unreadable", []
                cur.execute("DELETE FROM facts WHERE user_id = ?", (user_id,))
                cur.execute("DELETE FROM users WHERE user_id = ?", (user_id,))
                return self._append_ledger(cur, user_id, "erase_user", ids, before_digest, EMPTY_MEMORY, operator)
            return self._erase_facts(cur, user_id, fact_ids, operator)

    def _erase_facts(
        self, cur: sqlite3.Cursor, user_id: str, fact_ids: Sequence[str], operator: str | None
    ) -> LedgerEntry:
        if cur.execute("SELECT 1 FROM users WHERE user_id = ?", (user_id,)).fetchone() is None:
            raise UnknownUserError(f"unknown user {user_id!r}")
        before = self._checked_before(cur, user_id)
        ids = list(fact_ids)
        missing = set(ids) - {f.fact_id for f in before.facts}
        if missing or not ids:
            raise StoreError(f"user {user_id!r} has no facts {sorted(missing)}")
        cur.executemany("DELETE FROM facts WHERE fact_id = ?", [(i,) for i in ids])
        after_digest = memory_digest(before.without(set(ids)))
        return self._append_ledger(cur, user_id, "erase_facts", ids, memory_digest(before), after_digest, operator)

    def record_read(self, user_id: str, operator: str, what: str) -> LedgerEntry | None:
        """Record that an operator read a user's memory (the web UI's access log); None on a read-only store."""
        if not self.writable:
            return None
        with self._tx() as cur:
            digest = memory_digest(self._load(cur, user_id)) if self.has_user(user_id) else EMPTY_MEMORY
            return self._append_ledger(cur, user_id, "read", [], digest, digest, operator, {"view": what})

    def replace_user(
        self, memory: UserMemory, action: str, operator: str | None = None, detail: dict[str, Any] | None = None
    ) -> LedgerEntry:
        """Create a user holding exactly ``memory``'s facts (the user must not exist yet)."""
        if self.has_user(memory.user_id):
            raise StoreError(f"user {memory.user_id!r} already exists; erase it first or import under another id")
        return self.add_facts(memory.user_id, memory.facts, action=action, operator=operator, detail=detail)

    def snapshot(self) -> str:
        """Digest of the whole logical content (users, facts, ledger) for tests and audits."""
        h = hashlib.sha256()
        for table in ("meta", "users", "facts", "ledger"):
            for row in self._query(f"SELECT * FROM {table} ORDER BY 1"):
                h.update(repr(row).encode())
        return h.hexdigest()
