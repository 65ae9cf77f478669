"""engram-probe isolation merge and prove on a real store file: three users written by the CLI, two of them with the
same trigger; merge lists the rows they share by content, refuse names them, prove writes a report verify accepts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli_run import run_cli

pytestmark = pytest.mark.integration

MODEL = Path(__file__).resolve().parents[1] / "fixtures" / "audit_report_v1" / "model"


def cli(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    run = run_cli(*args, "--model", str(MODEL))
    assert run.returncode == code, run.stderr[-2000:]
    return run


def test_merge_refuse_prove_and_verify_from_the_cli(tmp_path: Path) -> None:
    db = str(tmp_path / "m.db")
    write = ["write", "--store", db, "--strategy", "unembed", "--json"]
    ann = json.loads(cli(*write, "--user", "ann", "--prompt", "My name is", "--answer", "Ada").stdout)
    bob = json.loads(cli(*write, "--user", "bob", "--prompt", "My name is", "--answer", "Bea").stdout)
    cli(*write, "--user", "cy", "--prompt", "I live in", "--answer", "Rome")

    merged = json.loads(cli("isolation", "merge", "--store", db, "--json").stdout)
    assert [u["user"] for u in merged["users"]] == ["ann", "bob", "cy"] and merged["policy"] == "last-write-wins"
    by_content = [r for r in merged["shared_rows"] if r["sharing"] == "content"]
    shared = {(r[0], r[1]) for r in ann["rows"]} & {(r[0], r[1]) for r in bob["rows"]}
    assert {(r["layer"], r["row"]) for r in by_content} == shared and shared
    assert all(r["winner"] == "bob" for r in by_content)

    refused = cli("isolation", "merge", "--store", db, "--users", "ann,bob", "--policy", "refuse", code=2)
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert "written by more than one user (ann, bob)" in refused.stderr and ann["fact_id"] in refused.stderr

    report, page = tmp_path / "r.json", tmp_path / "r.html"
    text = "My name is Bea. I live in Rome."
    proved = cli(
        "isolation", "prove", "--store", db, "--user", "cy", "--text", text, "--report", str(report),
        "--html", str(page),
    )  # fmt: skip
    doc = json.loads(report.read_text(encoding="utf-8"))
    (probe,) = doc["probes"]
    assert doc["user"] == "cy" and probe["status"] == "scoped" and probe["proof"]["identical"]
    assert proved.stdout.splitlines()[0] == doc["summary"]["verdict"]
    first = probe["reads"][0]  # cy's text reads ann's and bob's rows ('name is', and a collision at its start)
    assert first["position"] == probe["first_foreign_read"] and first["user"] in ("ann", "bob")
    assert f"reads {first['user']}'s row {first['row']:,} of layer {first['layer']}" in probe["verdict"]
    assert any(r["sharing"] == "content" and r["user"] == "bob" for r in probe["reads"])
    assert doc["digests"]["report"] in page.read_text(encoding="utf-8")

    verified = cli("verify", str(report))
    assert "VERIFIED" in verified.stdout and "table" in verified.stdout

    # signed: the attestation beside the report verifies with the public key, then the proof is re-run
    key = tmp_path / "ops.key"
    made = run_cli("key", "generate", str(key))
    assert made.returncode == 0, made.stderr
    signed = tmp_path / "s.json"
    out = cli("isolation", "prove", "--store", db, "--user", "cy", "--text", text, "--report", str(signed),
              "--sign", str(key), "--operator", "Ops")  # fmt: skip
    assert "signed by Ops with key" in out.stderr
    checked = cli("verify", str(tmp_path / "s.dsse.json"), "--key", f"{key}.pub")
    assert checked.stdout.startswith("signed by Ops (operator) with key ") and "VERIFIED" in checked.stdout
    unknown = cli("isolation", "prove", "--store", db, "--user", "dan", code=2)
    assert "dan" in unknown.stderr and "ann, bob, cy" in unknown.stderr
