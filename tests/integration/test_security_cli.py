"""Issue 20 through the CLI on the shipped model: tampering is named by every command that reads the user,
facts files and ids are refused at the door, and nothing a read command touches is created or changed."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.cli_run import run_cli

pytestmark = pytest.mark.integration


def cli(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    out = run_cli(*args)
    assert out.returncode == code, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    return out


@pytest.fixture(scope="module")
def tampered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store whose user 'ada' was edited with sqlite3 after the write (the answer forged), and a clean 'bob'."""
    db = tmp_path_factory.mktemp("tampered") / "m.db"
    for user in ("ada", "bob"):
        cli(
            "write",
            "--store",
            str(db),
            "--user",
            user,
            "--prompt",
            "My favorite tea is",
            "--answer",
            "oolong",
            "--strategy",
            "unembed",
        )
    conn = sqlite3.connect(db)
    conn.execute("UPDATE facts SET meta = json_set(meta, '$.answer', 'sencha') WHERE user_id = 'ada'")
    conn.commit()
    conn.close()
    return db


def test_users_and_facts_name_the_tampered_user_loudly(tampered: Path) -> None:
    users = cli("users", "--store", str(tampered))
    assert "WARNING: ledger check failed" in users.stderr
    line = next(x for x in users.stdout.splitlines() if x.startswith("ada"))
    assert "TAMPERED" in line and "TAMPERED" not in next(x for x in users.stdout.splitlines() if x.startswith("bob"))
    facts = cli("facts", "--store", str(tampered), "--user", "ada", "--json")
    assert json.loads(facts.stdout)["problems"] and "WARNING" in facts.stderr
    assert not json.loads(cli("facts", "--store", str(tampered), "--user", "bob", "--json").stdout)["problems"]


@pytest.mark.parametrize(
    "command",
    [
        ["audit", "--text", "My favorite tea is oolong.", "--json", "-"],
        ["export", "--out", "OUT"],
        ["write", "--prompt", "I live in", "--answer", "Oslo", "--strategy", "unembed"],
    ],
)
def test_commands_that_use_a_tampered_memory_refuse_it(tampered: Path, tmp_path: Path, command: list[str]) -> None:
    args = [str(tmp_path / "x.safetensors") if a == "OUT" else a for a in command]
    out = cli(command[0], "--store", str(tampered), "--user", "ada", *args[1:], code=2)
    assert "ledger check" in out.stderr
    assert not (tmp_path / "x.safetensors").exists()
    cli(command[0], "--store", str(tampered), "--user", "bob", *args[1:])  # the clean user still works


def test_read_commands_on_a_missing_path_create_nothing(tmp_path: Path) -> None:
    for command in (["users"], ["facts", "--user", "a"], ["export", "--user", "a", "--out", str(tmp_path / "o")]):
        out = cli(command[0], "--store", str(tmp_path / "none" / "m.db"), *command[1:], code=2)
        assert "no memory store" in out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_init_creates_a_store_only_where_no_file_is(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    cli("init", "--store", str(db))
    assert "no users" in cli("users", "--store", str(db)).stdout
    assert "already exists" in cli("init", "--store", str(db), code=2).stderr


def test_a_facts_file_with_a_list_as_the_prompt_is_refused_in_one_line(tmp_path: Path) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps([{"prompt": ["My favorite tea is"], "answer": "oolong"}]))
    out = cli("write", "--store", str(tmp_path / "m.db"), "--user", "ada", "--facts", str(facts), code=2)
    assert len(out.stderr.strip().splitlines()) == 1 and "fact 0" in out.stderr
    assert not (tmp_path / "m.db").exists()


def test_a_legacy_user_id_with_terminal_escapes_is_printed_escaped(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    cli(
        "write",
        "--store",
        str(db),
        "--user",
        "ada",
        "--prompt",
        "My favorite tea is",
        "--answer",
        "oolong",
        "--strategy",
        "unembed",
    )
    conn = sqlite3.connect(db)  # as a store written before ids were checked could hold
    conn.execute("INSERT INTO users VALUES ('\x1b[2Jeve', '2026-01-01')")
    conn.commit()
    conn.close()
    out = cli("users", "--store", str(db))
    assert "\x1b" not in out.stdout and "\\u001b[2Jeve" in out.stdout
    refused = cli(
        "write", "--store", str(db), "--user", "Eve O'Brien/../x", "--prompt", "I live in", "--answer", "Oslo", code=2
    )
    assert "is not allowed" in refused.stderr
