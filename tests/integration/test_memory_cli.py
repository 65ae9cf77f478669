"""User memory end to end on the shipped model, through the CLI and a real SQLite file."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import torch

from engram_probe.data.synthetic_users import generate_users
from engram_probe.memory import MemoryOverlay, UserMemory
from engram_probe.memory.operations import open_store
from tests.cli_run import run_cli
from tests.helpers import raw_bytes

pytestmark = pytest.mark.integration


def cli(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    out = run_cli(*args)
    if ok:
        assert out.returncode == 0, out.stderr
    return out


def test_write_erase_export_import_through_the_cli(tmp_path: Path, shipped: Any) -> None:
    db = str(tmp_path / "m.db")
    w = json.loads(
        cli(
            "write",
            "--store",
            db,
            "--user",
            "ada",
            "--prompt",
            "My favorite tea is",
            "--answer",
            "oolong",
            "--strategy",
            "opt",
            "--json",
        ).stdout
    )
    # "oolong" is 3 tokens of the shipped tokenizer: 16 rows read at each of its 3 teacher-forced positions
    assert len(w["rows"]) == 3 * 16 and all(r[0] == min(shipped.cfg.engram_layers) for r in w["rows"])
    assert w["bytes"] == 3 * 16 * shipped.cfg.dim_per_head * 4
    assert w["recall"]["rank_after"] == 1 and w["recall"]["rank_before"] > 1
    late = json.loads(
        cli(
            "write",
            "--store",
            db,
            "--user",
            "ada",
            "--prompt",
            "My lucky number is",
            "--answer",
            "seven",
            "--strategy",
            "unembed",
            "--layer",
            "late",
            "--operator",
            "Grace Hopper",
            "--json",
        ).stdout
    )
    assert all(r[0] == max(shipped.cfg.engram_layers) for r in late["rows"])
    users = json.loads(cli("users", "--store", db, "--json").stdout)
    assert users["users"][0]["facts"] == 2 and users["ledger_problems"] == []
    facts = json.loads(cli("facts", "--store", db, "--user", "ada", "--json").stdout)
    assert [f["fact_id"] for f in facts["facts"]] == [w["fact_id"], late["fact_id"]]

    out = tmp_path / "ada.safetensors"
    cli("export", "--store", db, "--user", "ada", "--out", str(out))
    db2 = str(tmp_path / "n.db")
    cli("import", "--store", db2, "--file", str(out))
    assert json.loads(cli("facts", "--store", db2, "--user", "ada", "--json").stdout)["digest"] == facts["digest"]

    bad = cli("write", "--store", db, "--user", "ada", "--prompt", "My tea is", "--answer", "   ", ok=False)
    assert bad.returncode == 2 and "answer is empty" in bad.stderr and "Traceback" not in bad.stderr
    unknown = cli("facts", "--store", db, "--user", "nobody", ok=False)
    assert unknown.returncode == 2 and "unknown user" in unknown.stderr

    cli("erase", "--store", db, "--user", "ada", "--fact", w["fact_id"], "--operator", "Ada Lovelace")
    ledger = open_store(db, shipped, "read").ledger("ada")
    assert [e.operator for e in ledger[1:]] == ["Grace Hopper", "Ada Lovelace"]  # --operator, else the OS user
    assert ledger[0].operator not in ("Grace Hopper", "Ada Lovelace")
    left = json.loads(cli("facts", "--store", db, "--user", "ada", "--json").stdout)
    assert [f["fact_id"] for f in left["facts"]] == [late["fact_id"]]
    cli("erase", "--store", db, "--user", "ada")
    assert json.loads(cli("users", "--store", db, "--json").stdout)["users"] == []


def test_joint_write_from_a_user_file_and_exact_erase(tmp_path: Path, shipped: Any) -> None:
    user = generate_users(1, seed=3, prefix="t")[0]
    user["facts"] = user["facts"][:8]
    path = tmp_path / "user.json"
    path.write_text(json.dumps(user))
    db = tmp_path / "m.db"
    w = json.loads(
        cli("write", "--store", str(db), "--user", "tess", "--facts", str(path), "--steps", "150", "--json").stdout
    )
    assert w["strategy"] == "joint" and len(w["facts"]) == 8
    assert sum(f["recall"]["rank_after"] == 1 for f in w["facts"]) >= 6
    store = open_store(db, shipped)
    mem = store.load("tess")
    texts = ["My name is someone else entirely.", user["facts"][0]["paraphrases"][0]]
    for t in texts:
        ids = torch.tensor([shipped.tokenizer.encode(t)])
        with torch.no_grad():
            base = raw_bytes(shipped.model(ids))
            erased = raw_bytes(shipped.model(ids, overlay=MemoryOverlay([mem.without({f.fact_id for f in mem.facts})])))
            kept = mem.without({mem.facts[0].fact_id})
            only_rest = UserMemory("tess", mem.facts[1:])
            assert raw_bytes(shipped.model(ids, overlay=MemoryOverlay([kept]))) == raw_bytes(
                shipped.model(ids, overlay=MemoryOverlay([only_rest]))
            )
        assert erased == base
    store.erase("tess")
    assert store.verify_ledger() == []


def test_recall_evaluation_command(tmp_path: Path, shipped: Any) -> None:
    user = generate_users(1, seed=9, prefix="r")[0]
    user["facts"] = user["facts"][:6]
    path = tmp_path / "r000.json"
    path.write_text(json.dumps(user))
    md = tmp_path / "recall.md"
    printed = cli(
        "recall",
        "--users",
        str(path),
        "--modes",
        "none,unembed_isolated,opt_isolated,joint_together",
        "--json",
        str(tmp_path / "r.json"),
        "--markdown",
        str(md),
    )
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["layer"] == min(shipped.cfg.engram_layers)  # the default write layer is the early one
    res = doc["modes"]
    assert res["opt_isolated"]["n"] == 6
    assert res["opt_isolated"]["top1"] >= res["none"]["top1"]
    assert res["joint_together"]["top1"] >= res["none"]["top1"]
    # the printed table has both measures, as the JSON: the exact whole answer first
    lines = printed.stdout.splitlines()
    assert "| mode | whole answer (exact) | first token top-1 | first token top-5 | facts | write ms/fact |" in lines
    row = next(x for x in lines if x.startswith(f"| {res['opt_isolated']['description']} |"))
    opt = res["opt_isolated"]
    assert row.split(" | ")[1:4] == [f"{opt['exact']:.1%}", f"{opt['top1']:.1%}", f"{opt['top5']:.1%}"]
    text = md.read_text()
    assert "engram-probe recall" in text and "| user |" in text
    assert f"Rows written in Engram layer {doc['layer']}." in text
    bad = cli("recall", "--users", str(tmp_path / "missing"), ok=False)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
