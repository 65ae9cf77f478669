"""Signed exports through the served workbench: the Export tab signs with an uploaded key (which is then gone) or
the server's own, and verifies an envelope against a public key: green when it holds, red and why when it does not."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client, handle_file

from engram_probe.attest.keys import generate_key, load_private, trusted_entry
from engram_probe.memory.store import default_operator
from engram_probe.report.kernel import body_digest
from tests.api.conftest import table
from tests.plain_words import problems
from workbench.signing import BAD_COLOUR, OK_COLOUR


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, Path, Path]]:
    folder = tmp_path_factory.mktemp("keys")
    return {name: generate_key(folder / f"{name}.key") for name in ("alice", "mallory")}


@pytest.fixture(scope="module")
def signed(client: Client, served: tuple[str, Any], keys: dict[str, Any]) -> dict[str, Any]:
    """One export of demo user d000 signed with alice's uploaded key: its files and status."""
    state = served[1]
    kid, private, _ = keys["alice"]
    files, status = client.predict(
        "d000", state.demo_probes["d000"], False, handle_file(str(private)), api_name="/export_report"
    )
    assert files, status
    return {"paths": [Path(f) for f in files], "status": status, "key_id": kid}


def verify(client: Client, envelope: Path, key: Path) -> tuple[str, dict[str, list[Any]], str]:
    verdict, checks = client.predict(handle_file(str(envelope)), None, handle_file(str(key)), api_name="/verify_report")
    block = client.predict(api_name="/verify_signature")
    assert not problems(block), block
    return verdict, {r[0]: r for r in table(checks)}, block


def envelope_of(paths: list[Path]) -> Path:
    return next(p for p in paths if p.name.endswith(".dsse.json"))


def test_a_signed_export_verifies_green_naming_signer_key_and_time(
    client: Client, signed: dict[str, Any], keys: dict[str, Any]
) -> None:
    kid = signed["key_id"]
    names = sorted(p.name for p in signed["paths"])
    assert [n.rsplit(".", 2)[-2:] for n in names if n.endswith(".dsse.json")] == [["dsse", "json"]], names
    assert {p.suffix for p in signed["paths"]} >= {".json", ".html", ".pdf"}
    assert f"Signed by {default_operator()} with key {kid} (the uploaded key)" in signed["status"], signed["status"]
    page = next(p for p in signed["paths"] if p.suffix == ".html").read_text(encoding="utf-8")
    assert "Signatures" in page and kid in page and "engram-probe verify" in page  # the block the PDF prints
    verdict, rows, block = verify(client, envelope_of(signed["paths"]), keys["alice"][2])
    assert verdict.startswith("**VERIFIED**"), verdict
    assert rows["signature"][1] == "✔" and kid in rows["signature"][2]
    assert rows["re-run"][1] == "✔"  # then re-derived on the server's model and store, as an unsigned one
    assert OK_COLOUR in block and "The signature holds" in block and kid in block
    assert f"Signed by {default_operator()} with key {kid} at 20" in block and "UTC" in block


def test_a_trusted_keys_file_names_the_signer(
    client: Client, signed: dict[str, Any], keys: dict[str, Any], tmp_path: Path
) -> None:
    kid, private, _ = keys["alice"]
    trusted = tmp_path / "trusted.json"
    trusted.write_text(json.dumps([trusted_entry("Alice Auditor", load_private(private))]), encoding="utf-8")
    verdict, rows, block = verify(client, envelope_of(signed["paths"]), trusted)
    assert verdict.startswith("**VERIFIED**") and OK_COLOUR in block and kid in rows["signature"][2]


def test_an_edited_and_redigested_body_fails_with_signature_does_not_match(
    client: Client, signed: dict[str, Any], keys: dict[str, Any], tmp_path: Path
) -> None:
    env = json.loads(envelope_of(signed["paths"]).read_text(encoding="utf-8"))
    stmt = json.loads(base64.b64decode(env["payload"]))
    report = stmt["predicate"]["report"]
    report["created_at"] = "2020-01-01T00:00:00+00:00"
    report["digests"]["report"] = body_digest(report)  # re-stamped: only the signature can tell
    env["payload"] = base64.b64encode(json.dumps(stmt).encode()).decode()
    forged = tmp_path / "forged.dsse.json"
    forged.write_text(json.dumps(env), encoding="utf-8")
    verdict, rows, block = verify(client, forged, keys["alice"][2])
    assert verdict.startswith("**NOT VERIFIED**") and "signature does not match" in verdict
    assert rows["signature"][1] == "✘" and "re-run" not in rows  # nothing is re-derived from a forged body
    assert BAD_COLOUR in block and "Signature does not match" in block


def test_another_key_fails_naming_the_signers_key_id(
    client: Client, signed: dict[str, Any], keys: dict[str, Any]
) -> None:
    verdict, rows, block = verify(client, envelope_of(signed["paths"]), keys["mallory"][2])
    assert verdict.startswith("**NOT VERIFIED**") and f"unknown key {signed['key_id']}" in verdict
    assert BAD_COLOUR in block and signed["key_id"] in block and keys["mallory"][0] not in block


def test_a_truncated_envelope_is_refused_in_plain_words(
    client: Client, signed: dict[str, Any], keys: dict[str, Any], tmp_path: Path
) -> None:
    text = envelope_of(signed["paths"]).read_text(encoding="utf-8")
    cut = tmp_path / "cut.dsse.json"
    cut.write_text(text[: len(text) // 2], encoding="utf-8")
    verdict, _, block = verify(client, cut, keys["alice"][2])
    assert verdict.startswith("**NOT VERIFIED**") and "not a complete signed attestation" in verdict
    assert BAD_COLOUR in block
    verdict, _ = client.predict(handle_file(str(envelope_of(signed["paths"]))), api_name="/verify_report")
    assert verdict.startswith("⚠") and "public key" in verdict  # a signed report without a key is not re-run


def files_under(*folders: Path) -> Iterator[Path]:
    for folder in folders:
        yield from (p for p in folder.rglob("*") if p.is_file())


def test_the_uploaded_key_is_kept_nowhere(
    signed: dict[str, Any], served: tuple[str, Any], keys: dict[str, Any], gradio_temp: Path
) -> None:
    state = served[1]
    secret = keys["alice"][1].read_bytes()
    body = secret.split(b"-----")[2].strip()  # the base64 of the key itself, whatever the line ends
    assert body
    leaked = [p for p in files_under(Path(state.workdir), state.downloads, gradio_temp) if body in p.read_bytes()]
    assert leaked == []
    assert not any(p.name == keys["alice"][1].name for p in files_under(gradio_temp))  # the upload is deleted
    # while other uploads stay where the server put them: this is the folder the key's upload went to
    assert any(p.name == "trusted.json" for p in files_under(gradio_temp))


def test_a_public_key_given_to_sign_is_refused_before_any_work(
    client: Client, served: tuple[str, Any], keys: dict[str, Any]
) -> None:
    state = served[1]
    before = sorted(files_under(state.downloads))
    files, status = client.predict(
        "d000", state.demo_probes["d000"], False, handle_file(str(keys["alice"][2])), api_name="/export_report"
    )
    assert files is None and status.startswith("⚠") and "it is a public key" in status and "alice.key.pub" in status
    assert sorted(files_under(state.downloads)) == before  # nothing written


def test_the_servers_own_key_signs_when_asked(client: Client, served: tuple[str, Any], keys: dict[str, Any]) -> None:
    state = served[1]
    kid, private, public = keys["mallory"]
    state.sign_key = load_private(private)  # as serve(sign_key=...) sets it at start-up
    try:
        files, status = client.predict("d001", state.demo_probes["d001"], False, None, True, api_name="/export_report")
    finally:
        state.sign_key = None
    assert "this server's key" in status and kid in status, status
    verdict, rows, block = verify(client, envelope_of([Path(f) for f in files]), public)
    assert verdict.startswith("**VERIFIED**") and OK_COLOUR in block and kid in block
