"""The workbench's start-up signing key, refused or warned before anything loads (no server is started), and the
signature's block in plain words."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from engram_probe.attest.keys import KeyFileError, generate_key, key_id, load_private
from engram_probe.cli import main
from engram_probe.memory.store import default_operator
from engram_probe.report.signed import signers_of
from tests.plain_words import problems
from tests.unit.test_report_forgery import contract  # noqa: F401 (fixture)
from workbench import app
from workbench.access import AccessPolicy, Operator
from workbench.signing import BAD_COLOUR, OK_COLOUR, sign_export, signature_html, startup_key


@pytest.fixture
def nothing_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("the model and store were loaded before the key was checked")

    monkeypatch.setattr(app, "make_state", refuse)


def test_a_missing_start_up_key_is_refused_before_anything_loads(nothing_loads: None, tmp_path: Path) -> None:
    missing = tmp_path / "none.key"
    with pytest.raises(KeyFileError, match=f"no private key file at {missing}"):
        app.serve(port=1, block=False, sign_key=str(missing))


def test_a_public_key_or_other_file_as_the_start_up_key_is_refused(nothing_loads: None, tmp_path: Path) -> None:
    _, _, public = generate_key(tmp_path / "k.key")
    with pytest.raises(KeyFileError, match="it is a public key"):
        app.serve(port=1, block=False, sign_key=str(public))
    junk = tmp_path / "notes.txt"
    junk.write_text("not a key", encoding="utf-8")
    with pytest.raises(KeyFileError, match="notes.txt is not a PEM private key file"):
        app.serve(port=1, block=False, sign_key=str(junk))


def test_the_cli_says_a_missing_start_up_key_in_one_line(
    nothing_loads: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--sign-key", str(tmp_path / "none.key")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no private key file at" in err and "Traceback" not in err


def test_an_open_start_up_key_is_loaded_with_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kid, private, _ = generate_key(tmp_path / "k.key")
    assert capsys.readouterr().err == ""
    os.chmod(private, 0o644)
    assert key_id(startup_key(private)) == kid
    err = capsys.readouterr().err
    assert "[workbench] warning" in err and "0644" in err and "chmod 600" in err
    os.chmod(private, 0o600)
    startup_key(private)
    assert capsys.readouterr().err == ""


def test_the_signature_block_is_green_with_signers_red_with_the_reason() -> None:
    holds = {
        "checks": [{"check": "signature", "ok": True, "detail": ""}],
        "signers": [
            {
                "name": "alice",
                "role": "operator",
                "key_id": "0123456789abcdef",
                "signed_at": "2026-01-02T03:04:05+00:00",
            },
            {"name": "bob", "role": "approver", "key_id": "fedcba9876543210", "signed_at": "2026-01-03T00:00:00+00:00"},
        ],
    }
    green = signature_html(holds)
    assert OK_COLOUR in green and BAD_COLOUR not in green
    assert "Signed by alice with key 0123456789abcdef at 2026-01-02 03:04:05 UTC" in green
    assert "Approved by bob with key fedcba9876543210" in green
    fails = {"checks": [{"check": "signature", "ok": False, "detail": "signed by an unknown key 0123456789abcdef"}]}
    red = signature_html(fails)
    assert BAD_COLOUR in red and OK_COLOUR not in red and "Signed by an unknown key 0123456789abcdef" in red
    assert signature_html(None) == ""
    assert not problems(green) and not problems(red)


def test_the_operator_signed_is_the_logged_in_one_with_accounts_else_the_os_user(
    contract: dict[str, Any],  # noqa: F811
    tmp_path: Path,
) -> None:
    doc = json.loads(Path(contract["path"]).read_text(encoding="utf-8"))
    _, private, _ = generate_key(tmp_path / "k.key")
    key = load_private(private)
    accounts = AccessPolicy({"carol": (Operator("carol"), "scrypt$1$1$1$a$b")})
    for policy, who, expected in ((accounts, "carol", "carol"), (AccessPolicy(), None, default_operator())):
        state: Any = SimpleNamespace(access=policy)
        with policy.acting(SimpleNamespace(username=who)):
            envelope, line = sign_export(state, doc, tmp_path / "c.json", tmp_path / "c.html", key)
        info = signers_of(json.loads(envelope.read_text(encoding="utf-8")))
        assert info["operator"]["name"] == expected and line == f"Signed by {expected} with key {key_id(key)}"
        page = (tmp_path / "c.html").read_text(encoding="utf-8")
        assert "Signatures" in page and f"verify {envelope.name} --key" in page
