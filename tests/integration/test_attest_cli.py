"""Signed reports through the CLI on a tiny saved model: key generate, audit --sign, verify, approve, and refusals."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from engram_probe.arch.loading import open_model
from engram_probe.arch.workbench_checkpoint import save_checkpoint
from engram_probe.memory.store import MemoryStore
from tests.cli_run import run_cli
from tests.helpers import random_fact, tiny_lm, write_tiny_workbench

pytestmark = pytest.mark.integration

TEXT = "Hello there. My name is Ada."


def cli(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    out = run_cli(*args)
    assert out.returncode == code, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    return out


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny model, another one, a store of alice's fact on the first, and an operator's key."""
    where = tmp_path_factory.mktemp("attest")
    write_tiny_workbench(where / "model")
    other = tiny_lm(seed=7)
    save_checkpoint(where / "other", other.model, other.tokenizer, {})
    lm = open_model(where / "model")
    dim = lm.model.engram_module(2).table.weight.shape[1]
    store = MemoryStore(where / "m.db", lm.weights_sha256)
    store.add_facts("alice", [random_fact("hers", 2, [3, 5, 8], dim, 1)])
    store.close()
    gen = cli("key", "generate", str(where / "ada.key"), "--name", "Ada")
    assert "PRIVATE KEY" not in gen.stdout + gen.stderr
    return {"dir": where, "model": where / "model", "other": where / "other", "store": where / "m.db"}


def audit_args(s: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return [
        "audit",
        "--model",
        str(s["model"]),
        "--store",
        str(s["store"]),
        "--user",
        "alice",
        "--text",
        TEXT,
        "--json",
        str(out),
        *extra,
    ]


@pytest.fixture(scope="module")
def signed(setup: dict[str, Path]) -> Path:
    out = setup["dir"] / "audit.json"
    res = cli(
        *audit_args(
            setup,
            out,
            "--html",
            str(setup["dir"] / "audit.html"),
            "--sign",
            str(setup["dir"] / "ada.key"),
            "--operator",
            "Ada L",
        )
    )
    assert "signed by Ada L with key" in res.stderr
    return setup["dir"] / "audit.dsse.json"


def test_key_generate_writes_a_0600_key_and_its_public_key(setup: dict[str, Path]) -> None:
    key = setup["dir"] / "ada.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert (setup["dir"] / "ada.key.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")


def test_a_signed_audit_verifies_from_the_cli_and_says_who_signed(setup: dict[str, Path], signed: Path) -> None:
    pub = str(setup["dir"] / "ada.key.pub")
    out = cli("verify", str(signed), "--key", pub, "--model", str(setup["model"]), "--store", str(setup["store"]))
    assert out.stdout.startswith("signed by Ada L (operator) with key ")
    assert "VERIFIED" in out.stdout
    page = (setup["dir"] / "audit.html").read_text(encoding="utf-8")
    assert "<h2>Signatures</h2>" in page and "Ada L" in page and "engram-probe verify audit.dsse.json" in page
    as_json: dict[str, Any] = json.loads(
        cli("verify", str(signed), "--key", pub, "--model", str(setup["model"]), "--json").stdout
    )
    assert as_json["ok"] and as_json["signers"][0]["name"] == "Ada L"


def test_an_envelope_without_a_key_and_a_replay_on_another_model_are_refused(
    setup: dict[str, Path], signed: Path
) -> None:
    no_key = cli("verify", str(signed), code=2)
    assert "give the signer's public key" in no_key.stderr
    pub = str(setup["dir"] / "ada.key.pub")
    replay = cli("verify", str(signed), "--key", pub, "--model", str(setup["other"]), code=1)
    assert "replayed for another model" in replay.stdout


def test_an_approval_adds_a_signature_that_a_trusted_keys_file_verifies(setup: dict[str, Path], signed: Path) -> None:
    d = setup["dir"]
    cli("key", "generate", str(d / "grace.key"))
    approved = d / "approved.dsse.json"
    approved.write_bytes(signed.read_bytes())
    out = cli("approve", str(approved), "--key", str(d / "grace.key"), "--operator", "Grace H")
    assert out.stdout.startswith("approved by Grace H with key ")
    entries = [json.loads(cli("key", "show", str(d / f"{n}.key.pub"), "--name", n).stdout) for n in ("ada", "grace")]
    trusted = d / "trusted.json"
    trusted.write_text(json.dumps(entries))
    ok = cli("verify", str(approved), "--trusted-keys", str(trusted), "--model", str(setup["model"]))
    assert "signed by Grace H (approver)" in ok.stdout and "VERIFIED" in ok.stdout
    unknown = cli("verify", str(approved), "--key", str(d / "ada.key.pub"), "--model", str(setup["model"]), code=1)
    assert f"unknown key {entries[1]['key_id']}" in unknown.stdout


def test_a_missing_key_is_refused_before_any_work_and_nothing_is_written(setup: dict[str, Path]) -> None:
    out = setup["dir"] / "never.json"
    res = cli(*audit_args(setup, out, "--sign", str(setup["dir"] / "missing.key")), code=2)
    assert f"no private key file at {setup['dir'] / 'missing.key'}" in res.stderr
    assert not out.exists() and not (setup["dir"] / "never.dsse.json").exists()


def test_a_key_others_may_read_warns_and_still_signs(setup: dict[str, Path]) -> None:
    d = setup["dir"]
    cli("key", "generate", str(d / "open.key"))
    (d / "open.key").chmod(0o644)
    res = cli(*audit_args(setup, d / "open.json", "--sign", str(d / "open.key")))
    assert f"warning: the private key file {d / 'open.key'} has mode 0644" in res.stderr
    assert (d / "open.dsse.json").is_file()


def test_an_unsigned_report_records_its_operator_and_verify_says_it_is_only_a_claim(setup: dict[str, Path]) -> None:
    import getpass

    d = setup["dir"]
    cli(*audit_args(setup, d / "unsigned.json", "--operator", "Ada L", "--html", str(d / "unsigned.html")))
    doc = json.loads((d / "unsigned.json").read_text(encoding="utf-8"))
    assert doc["operator"] == {"name": "Ada L"}
    assert "Ada L" in (d / "unsigned.html").read_text(encoding="utf-8")
    out = cli("verify", str(d / "unsigned.json"), "--model", str(setup["model"]), "--store", str(setup["store"]))
    assert "VERIFIED" in out.stdout
    assert "The report says it was made by Ada L. It is not signed" in out.stdout
    # without --operator the OS user is recorded
    cli(*audit_args(setup, d / "default.json"))
    assert json.loads((d / "default.json").read_text(encoding="utf-8"))["operator"]["name"] == getpass.getuser()
    # a changed name with a re-taken digest still verifies (the name is not re-derived), and verify says so
    from engram_probe.report.kernel import body_digest

    doc["operator"]["name"] = "Mallory"
    doc["digests"]["report"] = body_digest(doc)
    (d / "renamed.json").write_text(json.dumps(doc), encoding="utf-8")
    out = cli("verify", str(d / "renamed.json"), "--model", str(setup["model"]), "--store", str(setup["store"]))
    assert "made by Mallory. It is not signed, so that is the report's own claim" in out.stdout
