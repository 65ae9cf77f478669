"""The CLI's write refuses a trigger the user has unless --supersede, names other users' rows in its JSON, and
erase prints its proof; history lists both. A small committed model, a real store file, real subprocesses."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli_run import run_cli

pytestmark = pytest.mark.integration

MODEL = Path(__file__).resolve().parents[1] / "fixtures" / "audit_report_v1" / "model"


def cli(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    run = run_cli(*args, "--model", str(MODEL))
    if ok:
        assert run.returncode == 0, run.stderr[-2000:]
    return run


def test_supersede_sharing_erase_proof_and_history(tmp_path: Path) -> None:
    db = str(tmp_path / "m.db")
    base = ["write", "--store", db, "--strategy", "unembed", "--prompt", "My name is", "--json"]
    first = json.loads(cli(*base, "--user", "ann", "--answer", "Ada").stdout)
    assert first["superseded"] is None and first["shared_with_other_users"] == []
    assert isinstance(first["recalled"], bool) and first["recall_rule"]

    refused = cli(*base, "--user", "ann", "--answer", "Bea", ok=False)
    assert refused.returncode == 2 and first["fact_id"] in refused.stderr and "--supersede" in refused.stderr
    second = json.loads(cli(*base, "--user", "ann", "--answer", "Bea", "--supersede").stdout)
    assert second["superseded"]["facts"][0]["fact_id"] == first["fact_id"]

    other = json.loads(cli(*base, "--user", "bob", "--answer", "Bea").stdout)
    (shared,) = other["shared_with_other_users"]
    assert shared["user"] == "ann" and shared["other_fact_id"] == second["fact_id"]
    assert shared["by_content"] == len(shared["rows"]) == len(other["rows"])
    human = cli(
        "write", "--store", db, "--strategy", "unembed", "--prompt", "Your name is", "--answer", "Cy", "--user", "cy"
    )
    assert "shares rows with user" in human.stdout and ("recalled" in human.stdout or "RECALLED" in human.stdout)

    erased = cli("erase", "--store", db, "--user", "ann", "--fact", second["fact_id"])
    assert "Erase is bit-exact." in erased.stdout, erased.stdout
    assert "identical to the model with only the remaining facts" in erased.stdout, erased.stdout
    history = json.loads(cli("history", "--store", db, "--user", "ann", "--json").stdout)
    assert [e["action"] for e in history["entries"]] == ["write", "erase_facts", "write", "erase_facts"]
    assert history["entries"][2]["detail"] == {"supersedes": [first["fact_id"]]}
    assert history["facts"] == [] and history["problems"] == []
