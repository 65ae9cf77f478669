"""Issue 25, the modification log that proves itself: ``engram-probe ledger verify`` names the first broken entry of
a real SQLite store edited with ``sqlite3`` (a changed digest, a changed fact id, a deleted row, two rows swapped),
``ledger export`` writes the entries as JSON Lines, and a signed head catches a log cut short."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engram_probe.attest.keys import generate_key
from engram_probe.cli import main
from engram_probe.memory.store import MemoryStore
from tests.helpers import random_fact

pytestmark = pytest.mark.integration

BASE = "c" * 64


def cli(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    """The real command line in this process (the log commands load no model); its exit status and output."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(args))
    assert rc == code, out.getvalue() + err.getvalue()
    return subprocess.CompletedProcess(list(args), rc, out.getvalue(), err.getvalue())


def cli_process(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    """The installed entry point in a process of its own, as an operator runs it."""
    out = subprocess.run([sys.executable, "-m", "engram_probe.cli", *args], capture_output=True, text=True, timeout=300)
    assert out.returncode == code, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    return out


def fact(fid: str, seed: int) -> Any:
    return random_fact(fid, 2, [seed, seed + 11], 8, seed)


def make_store(path: Path) -> Path:
    """Six entries: ada writes f1, bob writes g1, ada writes f2, ada supersedes f1 with f3 (erase, then write)."""
    with MemoryStore(path, BASE) as store:
        store.add_facts("ada", [fact("f1", 1)], operator="olga")
        store.add_facts("bob", [fact("g1", 2)], operator="olga")
        store.add_facts("ada", [fact("f2", 3)], operator="piet")
        store.erase("ada", ["f1"], operator="piet")
        store.add_facts("ada", [fact("f3", 4)], operator="piet", detail={"supersedes": ["f1"]})
        store.erase("bob", None, operator="olga")
    return path


def edit(path: Path, *sql: str) -> None:
    """What someone with the file and the sqlite3 module does: drop the append-only triggers, then change rows."""
    with sqlite3.connect(path) as conn:
        conn.executescript("DROP TRIGGER IF EXISTS ledger_no_update; DROP TRIGGER IF EXISTS ledger_no_delete;")
        for statement in sql:
            conn.execute(statement)


def verify(db: Path, *extra: str, code: int) -> dict[str, Any]:
    out = cli("ledger", "verify", "--store", str(db), "--json", *extra, code=code)
    return json.loads(out.stdout)


def test_an_untouched_log_verifies_and_says_so(tmp_path: Path) -> None:
    db = make_store(tmp_path / "m.db")
    out = cli("ledger", "verify", "--store", str(db))
    assert "the log is intact: 6 entries" in out.stdout
    doc = verify(db, code=0)
    assert doc["intact"] and doc["first_break"] is None and doc["entries"] == 6


TAMPERING = {
    # an edited digest: the entry no longer hashes to itself, and ada's next entry starts from another digest
    "changed digest": (("UPDATE ledger SET digest_after = '" + "e" * 64 + "' WHERE seq = 3",), 3, "altered", "ada"),
    "changed fact id": (("UPDATE ledger SET fact_ids = '[\"forged\"]' WHERE seq = 2",), 2, "altered", "bob"),
    "fact id not JSON": (("UPDATE ledger SET fact_ids = 'f1, f9' WHERE seq = 1",), 1, "altered", "ada"),
    "deleted row": (("DELETE FROM ledger WHERE seq = 4",), 5, "missing", "ada"),
    "swapped contents": (
        (
            "UPDATE ledger SET seq = 100 WHERE seq = 2",
            "UPDATE ledger SET seq = 2 WHERE seq = 3",
            "UPDATE ledger SET seq = 3 WHERE seq = 100",
        ),
        2,
        "reordered",
        "ada",
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_an_edit_made_with_sqlite3_is_caught_and_its_first_broken_entry_named(tmp_path: Path, case: str) -> None:
    sql, seq, kind, user = TAMPERING[case]
    db = make_store(tmp_path / "m.db")
    edit(db, *sql)
    doc = verify(db, code=1)
    first = doc["first_break"]
    assert not doc["intact"] and first["seq"] == seq and first["kind"] == kind and first["user"] == user
    assert first["time"] and first["operator"] in ("olga", "piet")
    human = cli_process("ledger", "verify", "--store", str(db), code=1).stdout
    assert f"ledger entry {seq} " in human and f"user {user}" in human
    words = {"altered": "has been altered", "missing": "is missing (deleted)", "reordered": "were reordered"}
    assert words[kind] in human


def test_a_deleted_last_entry_is_caught_by_the_memory_it_leaves_behind(tmp_path: Path) -> None:
    db = make_store(tmp_path / "m.db")
    edit(db, "DELETE FROM ledger WHERE seq = 6")  # bob's erase: the chain before it is whole
    doc = verify(db, code=1)
    assert doc["first_break"] is None and any("bob" in p for p in doc["memory_problems"])


def test_the_export_has_every_entry_in_the_words_of_log_retention(tmp_path: Path) -> None:
    db = make_store(tmp_path / "m.db")
    out = tmp_path / "log.jsonl"
    cli("ledger", "export", "--store", str(db), "--out", str(out))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    with MemoryStore(db, mode="read") as store:
        entries = store.ledger()
    assert [r["seq"] for r in rows] == [e.seq for e in entries]
    assert [r["action"] for r in rows] == ["write", "write", "write", "erase", "supersede", "erase"]
    assert rows[3]["reason"] == "supersede" and rows[4]["replaces"] == ["f1"] and rows[5]["scope"] == "user"
    for r, e in zip(rows, entries, strict=True):
        assert (r["actor"], r["time"], r["user"], r["fact_ids"]) == (e.operator, e.at, e.user_id, e.fact_ids)
        assert (r["digest_before"], r["digest_after"]) == (e.digest_before, e.digest_after)
        assert (r["entry_hash"], r["prev_hash"]) == (e.entry_hash, e.prev_hash)
    # each exported entry links to the one before it, so the retention system can re-check the chain itself
    assert all(b["prev_hash"] == a["entry_hash"] for a, b in zip(rows, rows[1:], strict=False))
    later = cli("ledger", "export", "--store", str(db), "--since", rows[4]["time"]).stdout.splitlines()
    assert [json.loads(line)["seq"] for line in later] == [5, 6]
    assert cli("ledger", "export", "--store", str(db), "--since", "2999-01-01").stdout == ""


def test_a_bad_since_is_refused_in_one_line_and_nothing_is_written(tmp_path: Path) -> None:
    db = make_store(tmp_path / "m.db")
    out = tmp_path / "log.jsonl"
    args = ("ledger", "export", "--store", str(db), "--since", "last tuesday", "--out", str(out))
    err = cli_process(*args, code=2).stderr
    assert "'last tuesday' is not a date" in err and "YYYY-MM-DD" in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_a_signed_head_catches_a_log_cut_short_and_a_rewritten_one(tmp_path: Path) -> None:
    db = make_store(tmp_path / "m.db")
    kid, key, pub = generate_key(tmp_path / "k")
    head = tmp_path / "head.json"
    cli("ledger", "sign", "--store", str(db), "--key", str(key), "--out", str(head), "--operator", "olga")
    stmt = json.loads(base64.b64decode(json.loads(head.read_text())["payload"]))
    with MemoryStore(db, mode="read") as store:
        assert stmt["subject"][0]["digest"]["sha256"] == store.head() and stmt["predicate"]["entries"] == 6
    doc = verify(db, "--head", str(head), "--key", str(pub), code=0)
    assert doc["intact"] and doc["signed_head"]["key_ids"] == [kid]
    # the head signed by another key is refused, naming the key
    _, other, _ = generate_key(tmp_path / "other")
    forged = tmp_path / "forged.json"
    cli("ledger", "sign", "--store", str(db), "--key", str(other), "--out", str(forged))
    err = cli("ledger", "verify", "--store", str(db), "--head", str(forged), "--key", str(pub), code=2).stderr
    assert "unknown key" in err
    # more entries since the head was signed: still every signed one is there
    with MemoryStore(db, BASE, mode="change") as store:
        store.add_facts("ada", [fact("f4", 5)], operator="piet")
    assert verify(db, "--head", str(head), "--key", str(pub), code=0)["intact"]
    # the last two entries cut off: the chain left is whole, the signed head is not
    edit(db, "DELETE FROM ledger WHERE seq >= 6", "DELETE FROM facts WHERE fact_id = 'f4'")
    cut = verify(db, "--head", str(head), "--key", str(pub), code=1)
    assert cut["first_break"] is None and "holds 5 entries but the signed head covers 6" in cut["truncation"]


def test_a_broken_log_is_not_signed(tmp_path: Path) -> None:
    db = make_store(tmp_path / "m.db")
    _, key, _ = generate_key(tmp_path / "k")
    edit(db, "DELETE FROM ledger WHERE seq = 2")
    err = cli("ledger", "sign", "--store", str(db), "--key", str(key), code=2).stderr
    assert "the log is broken, so its head is not signed" in err and "ledger entry 3" in err
    assert not (tmp_path / "m.db.head.json").exists()
