"""Issue 20, the server: it serves no file it did not make for the caller, shares its store with the CLI without
losing writes, never opens a path named in an uploaded report, and lets operators do only what their role allows.
Real servers on free loopback ports, the real CLI in subprocesses, the real SQLite store."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client, handle_file

from engram_probe.memory.store import MemoryStore
from tests.api.conftest import table
from tests.cli_run import run_cli
from tests.conftest import free_port

pytestmark = [pytest.mark.api, pytest.mark.integration]
ROOT = Path(__file__).resolve().parents[2]


def fetch(url: str, auth: tuple[str, str] | None = None) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 (loopback only)
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args)


def test_the_store_cannot_be_fetched_through_any_file_route(served: tuple[str, Any]) -> None:
    url, state = served
    store = Path(state.store.path).resolve()
    targets = [store, store.with_name(store.name + "-wal"), store.with_name(store.name + "-shm"), store.parent]
    routes = ["/gradio_api/file={}", "/file={}", "/gradio_api/file/{}", "/gradio_api/file={}?download=1"]
    tried = 0
    for target in targets:
        for route in routes:
            status, body = fetch(url.rstrip("/") + route.format(target))
            tried += 1
            assert status != 200 or b"SQLite format 3" not in body, (route, target)
            assert b"SQLite format 3" not in body and b"d000" not in body
    assert tried == 16


def test_the_cli_and_the_server_share_the_store_without_losing_confirmed_writes(
    served: tuple[str, Any], tmp_path: Path
) -> None:
    url, state = served
    client = Client(url, verbose=False)
    store = str(state.store.path)
    confirmed: list[str] = []
    for i in range(3):
        md, _, _ = client.predict(
            f"sec-share{i}", "My favorite tea is", "oolong", "unembed", "early", api_name="/write_fact"
        )
        assert "Wrote fact" in md
        confirmed.append(f"sec-share{i}")
        fetch(url.rstrip("/") + f"/gradio_api/file={store}")  # the download attempt of the report that found the loss
        listing = cli("users", "--store", store)
        assert listing.returncode == 0, listing.stderr
        written = cli(
            "write",
            "--store",
            store,
            "--user",
            f"sec-cli{i}",
            "--prompt",
            "I live in",
            "--answer",
            "Oslo",
            "--strategy",
            "unembed",
        )
        assert written.returncode == 0, written.stderr
        confirmed.append(f"sec-cli{i}")
    md, _, _ = client.predict("sec-after", "My favorite tea is", "oolong", "unembed", "early", api_name="/write_fact")
    confirmed.append("sec-after")
    # read through a fresh connection of another process: every confirmed write is on disk, the chain intact
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, json; from engram_probe.memory.store import MemoryStore; "
            "s = MemoryStore(sys.argv[1], mode='read'); print(json.dumps([s.user_ids(), s.verify_ledger()]))",
            store,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    users, problems = json.loads(check.stdout)
    assert set(confirmed) <= set(users) and problems == []


def _report(url: str, tmp_path: Path) -> dict[str, Any]:
    files, status = Client(url, verbose=False).predict(
        "d000", "We met on Monday. My name is", False, api_name="/export_report"
    )
    assert "written" in status, status
    path = next(f for f in files if str(f).endswith(".json"))
    return json.loads(Path(path).read_text())


HINTS = {
    "a new path": lambda d: d / "nested" / "new.db",
    "an existing SQLite file": lambda d: d / "other.db",
    "a system file": lambda d: Path("/etc/hostname"),
}


def _hint_targets(tmp_path: Path) -> dict[str, Path]:
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    return {k: f(tmp_path) for k, f in HINTS.items()}


def _state_of(paths: list[Path]) -> list[Any]:
    def listing(p: Path) -> list[Path] | None:
        return sorted(p.parent.iterdir()) if p.parent.is_dir() else None

    return [(p, p.exists(), p.read_bytes() if p.is_file() else None, listing(p)) for p in paths]


def test_a_report_naming_any_path_makes_neither_the_server_nor_the_cli_touch_it(
    served: tuple[str, Any], tmp_path: Path
) -> None:
    url, _ = served
    doc = _report(url, tmp_path)
    targets = _hint_targets(tmp_path)
    reports = Path(tempfile.mkdtemp())  # not beside the targets, whose folder listing is compared
    before = _state_of(list(targets.values()))
    client = Client(url, verbose=False)
    for name, target in targets.items():
        forged = dict(doc, memory=dict(doc["memory"], source=dict(doc["memory"]["source"], path=str(target))))
        report = reports / f"hint-{name.replace(' ', '-')}.json"
        report.write_text(json.dumps(forged))
        verdict, rows = client.predict(handle_file(str(report)), api_name="/verify_report")
        checks = {r[0]: r[1] for r in table(rows)}
        # the server used its own store (matched by digest), so the memory check passes; only the edited body fails
        assert checks["memory digest"] == "✔" and checks["report digest"] == "✘", verdict
        out = cli("verify", str(report), "--json")
        assert out.returncode == 1
        text = out.stdout + out.stderr
        assert "Traceback" not in text and "SQLite" not in text and "not a memory store" not in text
    assert _state_of(list(targets.values())) == before
    assert not (tmp_path / "nested").exists()


def test_cli_verify_of_a_moved_store_says_so_and_verifies_with_the_store_given(
    served: tuple[str, Any], tmp_path: Path
) -> None:
    url, state = served
    doc = _report(url, tmp_path)
    moved = dict(doc, memory=dict(doc["memory"], source=dict(doc["memory"]["source"], path=str(tmp_path / "gone.db"))))
    from engram_probe.report.kernel import body_digest

    moved["digests"] = dict(moved["digests"])
    moved["digests"]["report"] = body_digest(moved)
    report = tmp_path / "moved.json"
    report.write_text(json.dumps(moved))
    out = cli("verify", str(report))
    assert out.returncode == 1 and "not at the place it names" in out.stdout
    assert not (tmp_path / "gone.db").exists()
    ok = cli("verify", str(report), "--store", str(state.store.path))
    assert ok.returncode == 0 and "VERIFIED" in ok.stdout, ok.stdout + ok.stderr


# ------------------------------------------------------------------ operators and roles
@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory, gradio_temp: Path) -> Any:
    from workbench.access import hash_password
    from workbench.app import serve

    work = tmp_path_factory.mktemp("guarded")
    accounts = {
        "operators": [
            {"name": "alice", "password_scrypt": hash_password("alice-secret"), "read": [], "write": ["a-*"]},
            {"name": "bob", "password_scrypt": hash_password("bob-secret"), "read": ["a-*"], "write": []},
        ]
    }
    auth = work / "accounts.json"
    auth.write_text(json.dumps(accounts))
    auth.chmod(0o600)
    demo, url, state = serve(
        host="127.0.0.1", port=free_port(), workdir=str(work / "w"), block=False, auth_file=str(auth), demo_users=False
    )
    try:
        yield url, state
    finally:
        demo.close()


def test_without_login_nothing_is_served(guarded: Any) -> None:
    url, state = guarded
    status, _ = fetch(url.rstrip("/") + "/gradio_api/info")
    assert status in (401, 403)
    with pytest.raises(Exception):  # noqa: B017 (gradio_client raises its own error types for a refused login)
        Client(url, verbose=False, auth=("alice", "wrong password")).predict("a-1", api_name="/show_user")


def test_operators_read_and_write_only_what_their_role_allows_and_the_ledger_names_them(guarded: Any) -> None:
    url, state = guarded
    alice = Client(url, verbose=False, auth=("alice", "alice-secret"))
    bob = Client(url, verbose=False, auth=("bob", "bob-secret"))
    md, _, _ = alice.predict("a-1", "My favorite tea is", "oolong", "unembed", "early", api_name="/write_fact")
    assert "Wrote fact" in md
    md, _, _ = bob.predict("a-2", "My favorite tea is", "oolong", "unembed", "early", api_name="/write_fact")
    assert md.startswith("⚠") and "may not write" in md
    md, _, _ = alice.predict("b-1", "My favorite tea is", "oolong", "unembed", "early", api_name="/write_fact")
    assert md.startswith("⚠") and "may not write" in md
    _, facts, status, _ = bob.predict("a-1", api_name="/show_user")
    assert "1 facts" in status and len(table(facts)) == 1
    entries = state.store.ledger("a-1")
    assert [(e.action, e.operator) for e in entries] == [("write", "alice"), ("read", "bob")]
    assert state.store.user_ids() == ["a-1"] and state.store.verify_ledger() == []


def test_serving_beyond_loopback_without_accounts_is_refused_with_the_reason(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "--host", "0.0.0.0", "--workdir", str(tmp_path / "w")],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, HF_HUB_OFFLINE="1"),
    )
    assert out.returncode == 2 and "without operator accounts" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "w").exists()


def test_accounts_with_plain_passwords_or_bad_fields_are_refused(tmp_path: Path) -> None:
    from workbench.access import AccessError, load_policy

    for bad, message in [
        ({"operators": [{"name": "a", "password": "x"}]}, "plain passwords"),
        ({"operators": [{"name": "a", "password_scrypt": "nope"}]}, "password_scrypt"),
        ({"operators": []}, "operators"),
    ]:
        f = tmp_path / "acc.json"
        f.write_text(json.dumps(bad))
        with pytest.raises(AccessError, match=message):
            load_policy(f)


def test_ctrl_c_stops_the_server_promptly(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--port", str(port), "--workdir", str(tmp_path / "w"), "--no-demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, HF_HUB_OFFLINE="1"),
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 240
        for line in proc.stdout:
            if "serving on" in line or time.monotonic() > deadline:
                break
        proc.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        code = proc.wait(timeout=20)
        print(f"stopped {time.monotonic() - t0:.2f} s after SIGINT")
        assert code == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert MemoryStore(tmp_path / "w" / "memory.db", mode="read").verify_ledger() == []


def test_a_report_records_the_logged_in_operator_who_made_it(guarded: Any) -> None:
    url, state = guarded
    alice = Client(url, verbose=False, auth=("alice", "alice-secret"))
    bob = Client(url, verbose=False, auth=("bob", "bob-secret"))
    md, _, _ = alice.predict("a-9", "My favorite tea is", "oolong", "unembed", "early", api_name="/write_fact")
    assert "Wrote fact" in md
    files, status = bob.predict("a-9", "My favorite tea is oolong.", False, api_name="/export_report")
    report = next(f for f in files if str(f).endswith(".json"))
    assert json.loads(Path(report).read_text())["operator"] == {"name": "bob"}, status
    verdict, _ = alice.predict(handle_file(report), api_name="/verify_report")
    assert verdict.startswith("**VERIFIED**") and "The report says it was made by bob. It is not signed" in verdict
    fix = ROOT / "tests" / "fixtures" / "contracts" / "qwen_ple"
    overlays = [
        handle_file(str(fix / n)) for n in ("alice.pleo", "alice.pleo.facts.json", "bob.pleo", "bob.pleo.facts.json")
    ]
    files, status = alice.predict(
        "readmap", "qwen3.8-ple", None, None, overlays, "7 999 2000 3000 1", api_name="/contract_export"
    )
    contract = next(f for f in files if str(f).endswith(".json"))
    assert json.loads(Path(contract).read_text())["operator"] == {"name": "alice"}, status
