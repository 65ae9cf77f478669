"""MemoryStore on a real SQLite file: ledger, transactions under a real kill, export/import."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from engram_probe.memory import UserMemory
from engram_probe.memory.store import PAUSE_ENV, MemoryStore, StoreError, UnknownUserError
from engram_probe.memory.transfer import ImportRejected, export_memory, import_memory, read_memory_file
from tests.helpers import random_fact, tiny_lm

BASE = "b" * 64


@pytest.fixture(scope="module")
def lm() -> Any:
    return tiny_lm(seed=2)


def fact(lm: Any, fid: str, seed: int, layer: int | None = None, rows: list[int] | None = None) -> Any:
    layer = max(lm.cfg.engram_layers) if layer is None else layer
    return random_fact(fid, layer, rows or [seed, seed + 7, seed + 50], lm.cfg.dim_per_head, seed)


def test_write_load_round_trip_and_users(tmp_path: Path, lm: Any) -> None:
    store = MemoryStore(tmp_path / "m.db", BASE)
    store.add_facts("alice", [fact(lm, "f1", 1), fact(lm, "f2", 2)])
    store.add_facts("bob", [fact(lm, "f3", 3)])
    alice = store.load("alice")
    assert [f.fact_id for f in alice.facts] == ["f1", "f2"]
    assert torch.equal(alice.facts[1].values, fact(lm, "f2", 2).values)
    assert {u["user"] for u in store.users()} == {"alice", "bob"}
    with pytest.raises(UnknownUserError, match="unknown user 'carol'"):
        store.load("carol")
    reopened = MemoryStore(tmp_path / "m.db", BASE)
    assert reopened.load("alice").digest() == alice.digest()
    with pytest.raises(StoreError, match="base model"):
        MemoryStore(tmp_path / "m.db", "c" * 64)


def test_a_supersede_is_one_transaction_erase_and_write_or_neither(tmp_path: Path, lm: Any) -> None:
    store = MemoryStore(tmp_path / "m.db", BASE)
    store.add_facts("alice", [fact(lm, "tea", 1), fact(lm, "bike", 2)])
    before, entries = store.load("alice").digest(), len(store.ledger())
    with pytest.raises(StoreError, match="fact id bike already exists"):  # the write fails after the erase ran
        store.supersede("alice", ["tea"], [fact(lm, "bike", 3)])
    assert store.load("alice").digest() == before and len(store.ledger()) == entries  # the erase was rolled back
    erased, wrote = store.supersede("alice", ["tea"], [fact(lm, "tea2", 4)])
    assert [f.fact_id for f in store.load("alice").facts] == ["bike", "tea2"]
    assert (erased.action, wrote.action, wrote.detail) == ("erase_facts", "write", {"supersedes": ["tea"]})
    assert wrote.prev_hash == erased.entry_hash and store.verify_ledger() == []


def test_ledger_is_append_only_and_chains(tmp_path: Path, lm: Any) -> None:
    store = MemoryStore(tmp_path / "m.db", BASE)
    e1 = store.add_facts("alice", [fact(lm, "f1", 1)])
    e2 = store.add_facts("alice", [fact(lm, "f2", 2)])
    e3 = store.erase("alice", ["f1"])
    e4 = store.erase("alice")
    assert [e.action for e in store.ledger()] == ["write", "write", "erase_facts", "erase_user"]
    assert e1.digest_before == "empty" and e2.digest_before == e1.digest_after
    assert e3.digest_before == e2.digest_after and e4.digest_after == "empty"
    assert e2.prev_hash == e1.entry_hash and e4.prev_hash == e3.entry_hash
    assert store.verify_ledger() == []
    conn = sqlite3.connect(tmp_path / "m.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE ledger SET action = 'x' WHERE seq = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM ledger")
    conn.close()
    # tampering with facts behind the ledger's back is detected
    store.add_facts("bob", [fact(lm, "f9", 9)])
    conn = sqlite3.connect(tmp_path / "m.db")
    conn.execute("DELETE FROM facts WHERE fact_id = 'f9'")
    conn.commit()
    conn.close()
    assert any("bob" in p for p in store.verify_ledger())


def test_erase_errors_change_nothing(tmp_path: Path, lm: Any) -> None:
    store = MemoryStore(tmp_path / "m.db", BASE)
    store.add_facts("alice", [fact(lm, "f1", 1)])
    snap = store.snapshot()
    with pytest.raises(StoreError, match="no facts"):
        store.erase("alice", ["nope"])
    with pytest.raises(UnknownUserError):
        store.erase("carol")
    with pytest.raises(StoreError, match="already exists"):
        store.add_facts("alice", [fact(lm, "f1", 1)])
    assert store.snapshot() == snap


KILL_SCRIPT = """
import sys
from engram_probe.memory.store import MemoryStore
from tests.helpers import random_fact
store = MemoryStore(sys.argv[1], "b" * 64)
print("writing", flush=True)
store.add_facts("alice", [random_fact("killed", 4, [1, 2, 3], 8, 5)])
print("committed", flush=True)
"""


def test_a_killed_write_loses_nothing_committed(tmp_path: Path, lm: Any) -> None:
    db = tmp_path / "m.db"
    store = MemoryStore(db, BASE)
    store.add_facts("alice", [fact(lm, "f1", 1)])
    snap = store.snapshot()
    store.close()
    env = {**os.environ, PAUSE_ENV: "30"}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(db)], stdout=subprocess.PIPE, text=True, env=env, cwd=os.getcwd()
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "writing"
    # wait until the child holds the write lock (its transaction is open), then kill it hard
    deadline = time.time() + 20
    while time.time() < deadline:
        probe = sqlite3.connect(db, timeout=0.05)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            time.sleep(0.05)
        except sqlite3.OperationalError:
            break
        finally:
            probe.close()
    else:
        proc.kill()
        pytest.fail("the child never opened its write transaction")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    after = MemoryStore(db, BASE)
    assert after.snapshot() == snap
    assert [f.fact_id for f in after.load("alice").facts] == ["f1"]
    assert after.verify_ledger() == []
    after.add_facts("alice", [fact(lm, "f2", 2)])  # the store still works
    assert len(after.ledger()) == 2


def test_export_import_round_trip(tmp_path: Path, lm: Any) -> None:
    store = MemoryStore(tmp_path / "a.db", lm.weights_sha256)
    store.add_facts("alice", [fact(lm, "f1", 1), fact(lm, "f2", 2)])
    mem = store.load("alice")
    export_memory(mem, tmp_path / "alice.safetensors", lm.weights_sha256, lm.model.hasher)
    other = MemoryStore(tmp_path / "b.db", lm.weights_sha256)
    entry = import_memory(other, tmp_path / "alice.safetensors", lm.model, lm.weights_sha256)
    assert entry.action == "import"
    assert other.load("alice").digest() == mem.digest()
    with pytest.raises(StoreError, match="already exists"):
        import_memory(other, tmp_path / "alice.safetensors", lm.model, lm.weights_sha256)


def _tamper(src: Path, dst: Path, change: Any) -> Path:
    with safe_open(str(src), "pt") as fh:
        meta = dict(fh.metadata())
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118
    change(meta, tensors)
    save_file(tensors, str(dst), metadata=meta)
    return dst


def _set(d: dict, k: str, v: Any) -> None:
    d[k] = v


BAD_IMPORTS = {
    "wrong base": (lambda m, t: _set(m, "base_model_sha256", "0" * 64), "base model"),
    "wrong format": (lambda m, t: _set(m, "format", "other/9"), "not an engram-probe memory"),
    "bad dtype": (lambda m, t: _set(t, "fact.00000.values", t["fact.00000.values"].double()), "float32"),
    "bad shape": (lambda m, t: _set(t, "fact.00000.values", t["fact.00000.values"][:, :3].contiguous()), "shapes"),
    "row out of range": (lambda m, t: t["fact.00000.row_ids"].__setitem__((0, 1), 10**9), "outside"),
    "not an engram layer": (lambda m, t: t["fact.00000.row_ids"].__setitem__((0, 0), 1), "not an Engram layer"),
    "nan values": (lambda m, t: t["fact.00000.values"].__setitem__((0, 0), float("nan")), "NaN"),
    "altered values": (lambda m, t: t["fact.00000.values"].__setitem__((0, 0), 1.5), "digest"),
    "missing tensor": (lambda m, t: t.pop("fact.00001.values"), "do not match"),
    "garbled facts": (lambda m, t: _set(m, "facts", "{not json"), "unreadable"),
}


@pytest.mark.parametrize("case", sorted(BAD_IMPORTS))
def test_bad_imports_are_rejected_and_change_nothing(tmp_path: Path, lm: Any, case: str) -> None:
    src = tmp_path / "good.safetensors"
    mem = UserMemory("alice", [fact(lm, "f1", 1), fact(lm, "f2", 2)])
    export_memory(mem, src, lm.weights_sha256, lm.model.hasher)
    read_memory_file(src, lm.model, lm.weights_sha256)  # the untampered file is fine
    change, message = BAD_IMPORTS[case]
    bad = _tamper(src, tmp_path / "bad.safetensors", change)
    store = MemoryStore(tmp_path / "s.db", lm.weights_sha256)
    store.add_facts("bob", [fact(lm, "g1", 3)])
    snap = store.snapshot()
    with pytest.raises(ImportRejected, match=message):
        import_memory(store, bad, lm.model, lm.weights_sha256)
    assert store.snapshot() == snap


def test_non_safetensors_and_truncated_imports_are_rejected(tmp_path: Path, lm: Any) -> None:
    src = tmp_path / "good.safetensors"
    export_memory(UserMemory("alice", [fact(lm, "f1", 1)]), src, lm.weights_sha256, lm.model.hasher)
    store = MemoryStore(tmp_path / "s.db", lm.weights_sha256)
    snap = store.snapshot()
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"hello world")
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(src.read_bytes()[:-40])
    for path in (junk, cut, tmp_path / "missing.safetensors"):
        with pytest.raises(ImportRejected):
            import_memory(store, path, lm.model, lm.weights_sha256)
    assert store.snapshot() == snap
