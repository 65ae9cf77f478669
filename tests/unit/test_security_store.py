"""Issue 20, stores and imports: read commands never create or convert, tampering is caught where a user is read,
imports refuse what would crash later. Every test runs on a real SQLite file."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sqlite3
import stat
import tempfile
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from engram_probe.memory import UserMemory
from engram_probe.memory.ids import check_text, check_user_id, printable
from engram_probe.memory.store import MemoryStore, StoreError, TamperedError
from engram_probe.memory.transfer import ImportRejected, export_memory, import_memory, read_memory_file
from engram_probe.memory.writing import FactSpec
from tests.helpers import random_fact, tiny_lm

BASE = "b" * 64


@pytest.fixture(scope="module")
def lm() -> Any:
    return tiny_lm(seed=2)


def fact(lm: Any, fid: str, seed: int) -> Any:
    return random_fact(fid, max(lm.cfg.engram_layers), [seed, seed + 7, seed + 50], lm.cfg.dim_per_head, seed)


def two_users(path: Path, lm: Any) -> MemoryStore:
    store = MemoryStore(path, BASE)
    store.add_facts("alice", [fact(lm, "f1", 1), fact(lm, "f2", 2)])
    store.add_facts("bob", [fact(lm, "g1", 3)])
    return store


# ------------------------------------------------------------------ 4. read commands never create or convert
@pytest.mark.parametrize("mode", ["read", "change"])
def test_reading_or_changing_a_missing_path_creates_nothing(tmp_path: Path, mode: str) -> None:
    target = tmp_path / "new" / "m.db"
    with pytest.raises(StoreError, match="no memory store"):
        MemoryStore(target, BASE, mode=mode)  # type: ignore[arg-type]
    assert not target.parent.exists()


@pytest.mark.parametrize("mode", ["read", "change", "create"])
def test_an_empty_file_is_not_converted_into_a_store(tmp_path: Path, mode: str) -> None:
    target = tmp_path / "empty.db"
    target.write_bytes(b"")
    with pytest.raises(StoreError, match="not a memory store"):
        MemoryStore(target, BASE, mode=mode)  # type: ignore[arg-type]
    assert target.read_bytes() == b"" and sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


@pytest.mark.parametrize("mode", ["read", "change", "create"])
def test_an_unrelated_sqlite_database_is_refused_and_left_as_it_was(tmp_path: Path, mode: str) -> None:
    target = tmp_path / "other.db"
    with sqlite3.connect(target) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('keep me')")
    before = target.read_bytes()
    with pytest.raises(StoreError, match="not a memory store"):
        MemoryStore(target, BASE, mode=mode)  # type: ignore[arg-type]
    assert target.read_bytes() == before
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # not switched to WAL


def test_a_read_only_store_can_be_read_and_a_write_is_refused_before_any_work(tmp_path: Path, lm: Any) -> None:
    path = tmp_path / "m.db"
    two_users(path, lm).close()
    snapshot = MemoryStore(path, BASE, mode="read").snapshot()
    path.chmod(stat.S_IRUSR | stat.S_IRGRP)
    try:
        reader = MemoryStore(path, BASE, mode="read")
        assert reader.load("alice").digest() and reader.user_ids() == ["alice", "bob"]
        with pytest.raises(StoreError, match="reading only"):
            reader.add_facts("alice", [fact(lm, "f9", 9)])
        for mode in ("change", "create"):
            with pytest.raises(StoreError, match="read-only"):
                MemoryStore(path, BASE, mode=mode)  # type: ignore[arg-type]
    finally:
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert MemoryStore(path, BASE, mode="read").snapshot() == snapshot


@pytest.mark.skipif(os.geteuid() != 0, reason="drops to another user to make the folder really unwritable")
def test_a_store_in_a_read_only_folder_can_be_read_by_another_user(tmp_path: Path, lm: Any) -> None:
    base = Path(tempfile.mkdtemp())  # pytest's own tmp folders are closed to other users
    base.chmod(0o755)
    folder = base / "ro"
    folder.mkdir()
    store = two_users(folder / "m.db", lm)
    store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    for p in folder.iterdir():
        if p.name != "m.db":
            p.unlink()
    folder.chmod(0o555)
    (folder / "m.db").chmod(0o444)
    import pwd

    nobody = pwd.getpwnam("nobody")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child gives up root, so the folder is really read-only for it
        os.close(read_end)
        try:
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            users = MemoryStore(folder / "m.db", BASE, mode="read").user_ids()
            os.write(write_end, ",".join(users).encode())
        except BaseException as exc:  # reported to the parent, which fails the test with it
            os.write(write_end, f"error: {exc}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    got = os.read(read_end, 4096).decode()
    os.waitpid(pid, 0)
    folder.chmod(0o755)
    shutil.rmtree(base)
    assert got == "alice,bob"


def test_a_store_from_before_operators_were_recorded_still_checks_and_upgrades(tmp_path: Path, lm: Any) -> None:
    path = tmp_path / "old.db"
    two_users(path, lm).close()
    # rebuild the ledger as the previous schema had it (no operator, no detail) with the old hash rule
    from engram_probe.memory.ledger import entry_hash

    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT * FROM ledger ORDER BY seq").fetchall()
        conn.executescript("DROP TRIGGER ledger_no_update; DROP TRIGGER ledger_no_delete; DROP TABLE ledger;")
        conn.execute(
            "CREATE TABLE ledger (seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT, user_id TEXT, action TEXT, "
            "fact_ids TEXT, digest_before TEXT, digest_after TEXT, prev_hash TEXT, entry_hash TEXT)"
        )
        prev = "0" * 64
        for r in rows:
            h = entry_hash(prev, r[1], r[2], r[3], json.loads(r[4]), r[5], r[6])
            conn.execute("INSERT INTO ledger VALUES (?,?,?,?,?,?,?,?,?)", (*r[:7], prev, h))
            prev = h
    reader = MemoryStore(path, BASE, mode="read")
    assert reader.verify_ledger() == [] and reader.load("alice")
    writer = MemoryStore(path, BASE, mode="change")
    entry = writer.add_facts("alice", [fact(lm, "f3", 4)], operator="carol")
    assert entry.operator == "carol" and writer.verify_ledger() == []


# ------------------------------------------------------------------ 5. tampering is caught wherever a user is read
def _edit(path: Path, sql: str, params: tuple[Any, ...] = ()) -> None:
    with sqlite3.connect(path) as conn:
        conn.executescript("DROP TRIGGER IF EXISTS ledger_no_update; DROP TRIGGER IF EXISTS ledger_no_delete;")
        conn.execute(sql, params)


TAMPERING = {
    "edited ledger row": ("UPDATE ledger SET fact_ids = '[\"zz\"]' WHERE seq = 1", "has been altered"),
    "edited fact meta": (
        "UPDATE facts SET meta = json_set(meta, '$.answer', 'forged') WHERE fact_id = 'f1'",
        "does not match the ledger",
    ),
    "swapped fact blob": (
        "UPDATE facts SET tensors = (SELECT tensors FROM facts WHERE fact_id = 'g1') WHERE fact_id = 'f1'",
        "does not match the ledger",
    ),
    "deleted ledger row": ("DELETE FROM ledger WHERE seq = 1", "does not follow"),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_tampering_is_refused_where_the_user_is_read(tmp_path: Path, lm: Any, case: str) -> None:
    path = tmp_path / "m.db"
    two_users(path, lm).close()
    sql, message = TAMPERING[case]
    _edit(path, sql)
    store = MemoryStore(path, BASE, mode="read")
    with pytest.raises(TamperedError, match=message):
        store.load("alice")
    assert store.problems("alice") and store.verify_ledger()
    summary = {u["user"]: u for u in store.users()}
    assert summary["alice"]["problems"]
    writer = MemoryStore(path, BASE, mode="change")
    with pytest.raises(TamperedError, match="nothing was written"):
        writer.add_facts("alice", [fact(lm, "f9", 9)])


def test_an_export_of_a_tampered_memory_is_refused_so_it_cannot_be_laundered(tmp_path: Path, lm: Any) -> None:
    path = tmp_path / "m.db"
    two_users(path, lm).close()
    _edit(path, "UPDATE facts SET meta = json_set(meta, '$.answer', 'forged') WHERE fact_id = 'f1'")
    store = MemoryStore(path, BASE, mode="read")
    with pytest.raises(TamperedError):
        export_memory(store.load("alice"), tmp_path / "a.safetensors", BASE, lm.model.hasher)
    assert not (tmp_path / "a.safetensors").exists()


def test_import_records_the_file_and_its_source_ledger(tmp_path: Path, lm: Any) -> None:
    src = two_users(tmp_path / "src.db", lm)
    head, last = src.head(), src.ledger("alice")[-1].entry_hash
    out = tmp_path / "alice.safetensors"
    export_memory(src.load("alice"), out, lm.weights_sha256, lm.model.hasher, {"ledger_head": head, "user_entry": last})
    dst = MemoryStore(tmp_path / "dst.db", lm.weights_sha256)
    entry = import_memory(dst, out, lm.model, lm.weights_sha256, operator="auditor")
    assert entry.action == "import" and entry.operator == "auditor"
    assert entry.detail is not None
    assert entry.detail["source_ledger_head"] == head and entry.detail["source_user_entry"] == last
    assert len(entry.detail["file_sha256"]) == 64 and dst.verify_ledger() == []


# ------------------------------------------------------------------ 6. imports refuse what would crash later
def _rewrite(src: Path, dst: Path, change: Any) -> Path:
    """Edit a memory export's fact metadata or tensors and re-stamp its memory digest (as an attacker would)."""
    with safe_open(str(src), framework="pt") as fh:
        meta = dict(fh.metadata())
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118
    facts = json.loads(meta["facts"])
    change(facts, tensors)
    meta["facts"] = json.dumps(facts)
    try:
        from engram_probe.memory.user_memory import Fact

        rebuilt = [
            Fact(
                row_ids=tensors[f"fact.{i:05d}.row_ids"],
                values=tensors[f"fact.{i:05d}.values"],
                **{k: v for k, v in m.items() if k != "rows"},
            )
            for i, m in enumerate(facts)
        ]
        meta["memory_sha256"] = UserMemory(meta["user_id"], rebuilt).digest()
    except Exception:  # the forged content cannot even be built: the digest stays as it was
        pass
    save_file(tensors, str(dst), metadata=meta)
    return dst


def _dup_rows(facts: list[Any], t: dict[str, torch.Tensor]) -> None:
    ids, vals = t["fact.00000.row_ids"], t["fact.00000.values"]
    t["fact.00000.row_ids"] = torch.cat([ids, ids[:1]])
    t["fact.00000.values"] = torch.cat([vals, vals[:1] + 1])


BAD = {
    "empty triggers": (lambda f, t: f[0].update(triggers=[]), "trigger"),
    "gold id outside the vocabulary": (lambda f, t: f[0].update(gold_token_id=999_999), "gold_token_id"),
    "layer field contradicts its rows": (lambda f, t: f[0].update(layer=f[0]["layer"] - 1), "layer"),
    "differing duplicate rows": (_dup_rows, "twice"),
    "facts metadata not objects": (lambda f, t: f.__setitem__(0, 1), "unreadable fact metadata"),
    "control characters in a prompt": (lambda f, t: f[0].update(triggers=["x\x1b[2J"]), "control character"),
    "user id with a path": (None, "user_id"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_imports_that_would_crash_later_are_refused_at_the_door(tmp_path: Path, lm: Any, case: str) -> None:
    src = tmp_path / "good.safetensors"
    export_memory(UserMemory("alice", [fact(lm, "f1", 1), fact(lm, "f2", 2)]), src, lm.weights_sha256, lm.model.hasher)
    change, message = BAD[case]
    if change is None:
        with safe_open(str(src), framework="pt") as fh:
            meta = dict(fh.metadata())
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118
        meta["user_id"] = "Eve O'Brien/../x"
        bad = tmp_path / "bad.safetensors"
        save_file(tensors, str(bad), metadata=meta)
    else:
        bad = _rewrite(src, tmp_path / "bad.safetensors", change)
    store = MemoryStore(tmp_path / "s.db", lm.weights_sha256)
    snap = store.snapshot()
    with pytest.raises(ImportRejected, match=message):
        import_memory(store, bad, lm.model, lm.weights_sha256)
    assert store.snapshot() == snap
    with pytest.raises(ImportRejected):
        read_memory_file(bad, lm.model, lm.weights_sha256)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_rows_are_never_stored(tmp_path: Path, lm: Any, value: float) -> None:
    good = fact(lm, "f1", 1)
    values = good.values.clone()
    values[0, 0] = value
    with pytest.raises(ValueError, match="NaN or infinity"):
        dataclasses.replace(good, values=values)


# ------------------------------------------------------------------ 9/11. ids and prompts have a stated character set
@pytest.mark.parametrize("uid", ["Eve O'Brien/../x", "", "a" * 65, "x\x00y", "\x1b[2J", "-lead", "ünï"])
def test_user_ids_outside_the_stated_rule_are_refused(tmp_path: Path, lm: Any, uid: str) -> None:
    with pytest.raises(ValueError, match="not allowed"):
        check_user_id(uid)
    store = MemoryStore(tmp_path / "m.db", BASE)
    with pytest.raises(StoreError, match="not allowed"):
        store.add_facts(uid, [fact(lm, "f1", 1)])
    assert store.user_ids() == []


@pytest.mark.parametrize("text", ["nul\x00byte", "clear \x1b[2J screen", "bidi \u202e override"])
def test_prompts_with_control_characters_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="control character"):
        FactSpec.of(text, "oolong")
    with pytest.raises(ValueError, match="control character"):
        FactSpec.of("My favorite tea is", text)
    assert "\x1b" not in printable(text) and "\x00" not in printable(text)


def test_ordinary_prompts_and_ids_pass() -> None:
    assert check_user_id("alice.b-2@x_y") == "alice.b-2@x_y"
    assert check_text("Line one\n\tand an emoji 🍵, é", "a prompt")
    with pytest.raises(ValueError, match="limit"):
        check_text("x" * 5000, "the answer")
