"""Opening the store's SQLite file: read-only for reading, never creating or converting by accident.

Rules, for every caller (CLI, UI, hash-only jobs, verify):
- ``read``: the file must exist and be a memory store; it is opened read-only (SQLite ``mode=ro``),
  so nothing is created, converted or written, and a read-only file or folder can still be read.
- ``change``: the file must exist, be a memory store and be writable; a read-only store is refused
  before any work is done.
- ``create``: as ``change``, except that a path where no file exists becomes a new, empty store.
  An existing file that is not a store (an empty file, another SQLite database, anything else) is
  refused, never converted.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path
from typing import Literal

Mode = Literal["read", "change", "create"]
STORE_TABLES = {"meta", "users", "facts", "ledger"}
SQLITE_MAGIC = b"SQLite format 3\x00"

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
    entry_hash TEXT NOT NULL,
    operator TEXT,
    detail TEXT
);
CREATE TRIGGER IF NOT EXISTS ledger_no_update BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS ledger_no_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
"""


class StoreOpenError(ValueError):
    """The path cannot be opened as a store in the asked mode; nothing was created or changed."""


def read_only_reason(path: Path) -> str | None:
    """Why a store file cannot be written, or None. No write bit counts as read-only even for root."""
    st = path.stat()
    if not st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(path, os.W_OK):
        return f"the store {path} is read-only (its file permissions allow no writes)"
    folder = path.parent
    if not os.access(folder, os.W_OK) or not folder.stat().st_mode & stat.S_IWUSR:
        return f"the folder of the store {path} is read-only (SQLite needs to write its journal beside the store)"
    return None


def _looks_like_sqlite(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(16) == SQLITE_MAGIC


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()}


def _connect_read_only(path: Path) -> sqlite3.Connection:
    uri = f"{path.resolve().as_uri()}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=30)
    try:
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        return conn
    except sqlite3.OperationalError:
        conn.close()
    # A WAL store in a folder we cannot write: SQLite cannot make its shared-memory file. Without a
    # pending write-ahead log the file alone is the whole store, so it can be read as immutable.
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise StoreOpenError(
            f"the store {path} has unsaved changes in {wal.name} and its folder is read-only; "
            "open it once where it can be written, or copy it with its -wal file to a writable folder"
        )
    return sqlite3.connect(f"{uri}&immutable=1", uri=True, isolation_level=None, check_same_thread=False)


def open_store_file(path: Path, mode: Mode) -> sqlite3.Connection:
    """A connection to the store at ``path`` in ``mode`` (see the module docstring)."""
    if path.exists() and not path.is_file():
        raise StoreOpenError(f"{path} is not a file, so it cannot be a memory store")
    if not path.exists():
        if mode != "create":
            raise StoreOpenError(f"no memory store at {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(SCHEMA)
        _writable_pragmas(conn)
        return conn
    try:
        if not _looks_like_sqlite(path):
            raise StoreOpenError(f"{path} is not a memory store (not an SQLite file)")
    except OSError as exc:
        raise StoreOpenError(f"{path} cannot be read ({exc.strerror})") from exc
    if mode != "read":
        reason = read_only_reason(path)
        if reason:
            raise StoreOpenError(reason + "; nothing was written")
    try:
        conn = (
            _connect_read_only(path)
            if mode == "read"
            else sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
        )
        missing = STORE_TABLES - _tables(conn)
    except sqlite3.DatabaseError as exc:
        raise StoreOpenError(f"{path} is not a memory store ({exc})") from exc
    if missing:
        conn.close()
        raise StoreOpenError(
            f"{path} is an SQLite database but not a memory store (it lacks the tables {', '.join(sorted(missing))})"
        )
    if mode != "read":
        conn.execute("PRAGMA journal_mode=WAL")
        _upgrade(conn)
        _writable_pragmas(conn)
    return conn


def _writable_pragmas(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")


def _upgrade(conn: sqlite3.Connection) -> None:
    """Stores written before operators were recorded get the two ledger columns (old entries keep NULL)."""
    have = {r[1] for r in conn.execute("PRAGMA table_info(ledger)").fetchall()}
    for column in ("operator", "detail"):
        if column not in have:
            conn.execute(f"ALTER TABLE ledger ADD COLUMN {column} TEXT")


def ledger_columns(conn: sqlite3.Connection) -> list[str]:
    return [r[1] for r in conn.execute("PRAGMA table_info(ledger)").fetchall()]
