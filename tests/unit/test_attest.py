"""Signed reports: Ed25519 keys, DSSE envelopes, in-toto Statements, and every attack on a signed report.

The reports are real (a real audit on a tiny model, a real census of fixture overlays, a real population census
and isolation proof, from ``test_report_forgery``'s fixtures); each attack edits a real signed file and must
fail with its reason.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import warnings
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from engram_probe.attest.dsse import (
    EnvelopeError,
    SignatureError,
    add_signature,
    pae,
    read_envelope,
    sign_envelope,
    verify_envelope,
)
from engram_probe.attest.keys import (
    KeyFileError,
    KeyPermissionWarning,
    generate_key,
    key_id,
    load_private,
    load_public,
    load_trusted,
    trusted_entry,
)
from engram_probe.attest.statement import PREDICATE_TYPE, STATEMENT_TYPE, StatementError, statement, subjects
from engram_probe.report.kernel import body_digest
from engram_probe.report.signed import (
    approve,
    envelope_path,
    sign_report,
    signed_html,
    verify_signed,
    write_envelope,
)
from tests.helpers import tiny_lm
from tests.unit.test_report_forgery import audit, contract, isolation, population  # noqa: F401 (fixtures)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    where = tmp_path_factory.mktemp("keys")
    _, op, op_pub = generate_key(where / "operator")
    _, ap, ap_pub = generate_key(where / "approver")
    _, other, _ = generate_key(where / "other")
    return {
        "operator": load_private(op),
        "approver": load_private(ap),
        "other": load_private(other),
        "trusted": load_trusted(op_pub),
        "both": load_trusted(op_pub) | load_trusted(ap_pub),
    }


def read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def failed(result: dict[str, Any]) -> list[str]:
    return [c["detail"] for c in result["checks"] if not c["ok"]]


# --------------------------------------------------------------------------- keys
def test_a_generated_key_is_0600_even_under_an_open_umask_and_its_id_is_the_public_keys(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        kid, private, public = generate_key(tmp_path / "k")
    finally:
        os.umask(old)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert public == tmp_path / "k.pub"
    raw = load_public(public).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert kid == key_id(load_private(private)) == hashlib.sha256(raw).hexdigest()[:16]
    assert b"PRIVATE KEY" not in public.read_bytes()
    with pytest.raises(KeyFileError, match="never overwritten"):
        generate_key(tmp_path / "k")


def test_a_private_key_others_may_read_warns_naming_the_file_and_mode(tmp_path: Path) -> None:
    _, private, _ = generate_key(tmp_path / "k")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_private(private)  # 0600: no warning
    private.chmod(0o644)
    with pytest.warns(KeyPermissionWarning, match=rf"{private}.*mode 0644"):
        load_private(private)


def test_bad_key_files_are_refused_naming_the_file(tmp_path: Path) -> None:
    _, private, public = generate_key(tmp_path / "k")
    with pytest.raises(KeyFileError, match=f"no private key file at {tmp_path / 'missing'}"):
        load_private(tmp_path / "missing")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a public key is refused for what it is, with no word on its mode
        with pytest.raises(KeyFileError, match="it is a public key"):
            load_private(public)
    with pytest.raises(KeyFileError, match="it is a private key"):
        load_public(private)
    rsa_file = tmp_path / "rsa.pem"
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    rsa_file.write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    rsa_file.chmod(0o600)
    with pytest.raises(KeyFileError, match="RSA key, not an Ed25519 key"):
        load_private(rsa_file)


def test_a_trusted_keys_file_is_read_and_a_wrong_key_id_refused(tmp_path: Path) -> None:
    a, b = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    good = tmp_path / "trusted.json"
    good.write_text(json.dumps([trusted_entry("ada", a), trusted_entry("bob", b)]))
    trusted = load_trusted(good)
    assert {k.name for k in trusted.values()} == {"ada", "bob"} and key_id(a) in trusted
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([trusted_entry("ada", a) | {"key_id": key_id(b)}]))
    with pytest.raises(KeyFileError, match="entry 1: key_id .* is not the id of its key"):
        load_trusted(bad)


# --------------------------------------------------------------------------- DSSE
def test_pae_is_the_specs_test_vector() -> None:
    expected = b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"  # protocol.md's example
    assert pae("http://example.com/HelloWorld", b"hello world") == expected


def test_an_envelope_verifies_and_url_safe_base64_is_read() -> None:
    key = Ed25519PrivateKey.generate()
    trusted = {key_id(key): load_trusted_of(key)}
    body = bytes(range(256)) * 3  # bytes whose standard and URL-safe base64 differ
    env = sign_envelope(body, key)
    assert verify_envelope(env, trusted).payload == body
    url = env | {"payload": base64.urlsafe_b64encode(body).decode().rstrip("=")}
    assert verify_envelope(url, trusted).signers[0].key_id == key_id(key)


def load_trusted_of(key: Ed25519PrivateKey) -> Any:
    from engram_probe.attest.keys import TrustedKey

    return TrustedKey("ada", key_id(key), key.public_key())


def test_a_changed_payload_another_key_and_a_changed_approval_fail() -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    trusted = {key_id(key): load_trusted_of(key)}
    env = sign_envelope(b'{"a": 1}', key)
    changed = env | {"payload": base64.b64encode(b'{"a": 2}').decode()}
    with pytest.raises(SignatureError, match="signature does not match"):
        verify_envelope(changed, trusted)
    with pytest.raises(SignatureError, match=f"unknown key {key_id(other)}"):
        verify_envelope(sign_envelope(b'{"a": 1}', other), trusted)
    both = trusted | {key_id(other): load_trusted_of(other)}
    approved = add_signature(env, other, "bob", "2026-01-01T00:00:00+00:00")
    assert [s.approval is not None for s in verify_envelope(approved, both).signers] == [False, True]
    approved["signatures"][1]["approval"]["name"] = "mallory"
    with pytest.raises(SignatureError, match="approval record of signature 2"):
        verify_envelope(approved, both)
    with pytest.raises(SignatureError, match="already signed"):
        add_signature(env, key, "ada", "2026-01-01T00:00:00+00:00")


def test_a_truncated_envelope_is_a_clear_error(tmp_path: Path) -> None:
    env = sign_envelope(b"x" * 1000, Ed25519PrivateKey.generate())
    path = write_envelope(env, tmp_path / "r.dsse.json")
    path.write_bytes(path.read_bytes()[:700])
    with pytest.raises(EnvelopeError, match="r.dsse.json is not a complete signed attestation.*truncated"):
        read_envelope(path)


# --------------------------------------------------------------------------- statements
def test_every_kinds_subjects_are_the_digests_it_records(
    audit: dict[str, Any],  # noqa: F811
    contract: dict[str, Any],  # noqa: F811
    population: dict[str, Any],  # noqa: F811
    isolation: dict[str, Any],  # noqa: F811
) -> None:
    def named(report: dict[str, Any]) -> dict[str, str]:
        doc = read(report["path"])
        subs = {s["name"]: s["digest"]["sha256"] for s in subjects(doc)}
        assert subs["report"] == doc["digests"]["report"] == body_digest(doc)
        return subs

    a, doc = named(audit), read(audit["path"])
    assert a["model weights"] == doc["model"]["sha256"] and a["memory"] == doc["memory"]["sha256"]
    assert a["probe text"] == doc["probe"]["sha256"] and a["held-out texts"] == doc["options"]["heldout"]["sha256"]
    assert a["address hashing"] == doc["model"]["hash_sha256"]
    c, doc = named(contract), read(contract["path"])
    assert c["address contract"] == doc["digests"]["contract"]
    assert c["overlay 1: alice.pleo"] == doc["input_sha256"]["overlays"][0]["sha256"]
    assert c["overlay 2: bob.pleo"] == doc["input_sha256"]["overlays"][1]["sha256"]
    assert named(population)["address contract"] == read(population["path"])["digests"]["contract"]
    i, doc = named(isolation), read(isolation["path"])
    assert i["shared Engram table"] == doc["digests"]["table"] and i["model weights"] == doc["digests"]["model"]
    assert i["memory of bob"] == next(u["digest"] for u in doc["table"]["users"] if u["user"] == "bob")


def test_a_statement_is_in_toto_v1_and_an_edited_report_is_not_signed(audit: dict[str, Any]) -> None:  # noqa: F811
    doc = read(audit["path"])
    stmt = statement(doc, "audit", "ada", "0" * 16, "2026-01-01T00:00:00+00:00")
    assert (stmt["_type"], stmt["predicateType"]) == (STATEMENT_TYPE, PREDICATE_TYPE)
    assert stmt["predicate"]["report"] == doc and stmt["predicate"]["operator"] == {"name": "ada", "key_id": "0" * 16}
    doc["created_at"] = "2020-01-01T00:00:00+00:00"  # the edit, without re-stamping the digest
    with pytest.raises(StatementError, match="edited after it was written"):
        statement(doc, "audit", "ada", "0" * 16, "2026-01-01T00:00:00+00:00")


# --------------------------------------------------------------------------- signed reports and the attacks
@pytest.fixture(scope="module")
def signed(audit: dict[str, Any], keys: dict[str, Any]) -> Path:  # noqa: F811
    env = sign_report(read(audit["path"]), keys["operator"], "Ada Lovelace")
    return write_envelope(env, envelope_path(audit["path"]))


def test_a_genuine_signed_audit_verifies_and_says_who_signed(
    signed: Path,
    audit: dict[str, Any],  # noqa: F811
    keys: dict[str, Any],
) -> None:
    result = verify_signed(signed, keys["trusted"], **audit["options"])
    assert result["ok"], failed(result)
    assert [c["check"] for c in result["checks"][:3]] == ["signature", "attested subjects", "report digest"]
    (who,) = result["signers"]
    assert (who["name"], who["role"], who["key_id"]) == ("Ada Lovelace", "operator", key_id(keys["operator"]))
    plain = verify_signed(audit["path"], keys["trusted"], **audit["options"])  # the report beside its envelope
    assert plain["ok"] and any(c["check"] == "signed report" and c["ok"] for c in plain["checks"])


def resigned_payload(signed: Path, edit: Any) -> dict[str, Any]:
    """The envelope with its statement edited and the signature left as it was."""
    env = read(signed)
    stmt = json.loads(base64.b64decode(env["payload"]))
    edit(stmt)
    return env | {"payload": base64.b64encode(json.dumps(stmt).encode()).decode()}


def test_a_tampered_body_with_a_re_stamped_digest_fails_at_the_signature(
    signed: Path,
    audit: dict[str, Any],  # noqa: F811
    keys: dict[str, Any],
    tmp_path: Path,
) -> None:
    def edit(stmt: dict[str, Any]) -> None:
        report = stmt["predicate"]["report"]
        report["created_at"] = "2020-01-01T00:00:00+00:00"
        report["digests"]["report"] = body_digest(report)
        stmt["subject"][0]["digest"]["sha256"] = report["digests"]["report"]

    forged = write_envelope(resigned_payload(signed, edit), tmp_path / "forged.dsse.json")
    result = verify_signed(forged, keys["trusted"], **audit["options"])
    assert not result["ok"] and "signature does not match" in failed(result)[0]
    # the plain report beside the envelope, edited and re-stamped the same way
    doc = read(audit["path"])
    doc["created_at"] = "2020-01-01T00:00:00+00:00"
    doc["digests"]["report"] = body_digest(doc)
    plain = tmp_path / "audit.json"
    plain.write_text(json.dumps(doc))
    write_envelope(read(signed), envelope_path(plain))
    result = verify_signed(plain, keys["trusted"], **audit["options"])
    assert not result["ok"] and failed(result)[0].startswith("signature does not match: audit.json's body")


def test_a_swapped_subject_fails_even_when_signed_again(
    signed: Path,
    audit: dict[str, Any],  # noqa: F811
    contract: dict[str, Any],  # noqa: F811
    keys: dict[str, Any],
    tmp_path: Path,
) -> None:
    other = read(contract["path"])["input_sha256"]["overlays"][1]["sha256"]  # another overlay's digest
    env = read(signed)
    stmt = json.loads(base64.b64decode(env["payload"]))
    next(s for s in stmt["subject"] if s["name"] == "memory")["digest"]["sha256"] = other
    swapped = sign_envelope(json.dumps(stmt).encode(), keys["operator"])  # a genuine signature on the lie
    result = verify_signed(write_envelope(swapped, tmp_path / "s.dsse.json"), keys["trusted"], **audit["options"])
    assert not result["ok"] and failed(result)[0].startswith("swapped subject: memory: the statement signs")


def test_a_signature_by_another_key_fails_naming_its_key_id(
    audit: dict[str, Any],  # noqa: F811
    keys: dict[str, Any],
    tmp_path: Path,
) -> None:
    env = sign_report(read(audit["path"]), keys["other"], "Mallory")
    result = verify_signed(write_envelope(env, tmp_path / "o.dsse.json"), keys["trusted"], **audit["options"])
    assert not result["ok"] and f"unknown key {key_id(keys['other'])}" in failed(result)[0]


def test_a_truncated_signed_report_fails_clearly(signed: Path, keys: dict[str, Any], tmp_path: Path) -> None:
    cut = tmp_path / "cut.dsse.json"
    cut.write_bytes(signed.read_bytes()[: signed.stat().st_size // 2])
    result = verify_signed(cut, keys["trusted"])
    assert not result["ok"] and "not a complete signed attestation" in failed(result)[0]


def test_an_attestation_replayed_for_another_model_fails(
    signed: Path,
    audit: dict[str, Any],  # noqa: F811
    keys: dict[str, Any],
) -> None:
    result = verify_signed(signed, keys["trusted"], lm=tiny_lm(seed=5), store=audit["options"]["store"])
    assert not result["ok"]
    assert any(d.startswith("replayed for another model") for d in failed(result))


def test_an_approval_adds_a_second_signer_and_the_page_shows_both(
    signed: Path,
    audit: dict[str, Any],  # noqa: F811
    keys: dict[str, Any],
    tmp_path: Path,
) -> None:
    env = approve(read(signed), keys["approver"], "Grace Hopper")
    path = write_envelope(env, tmp_path / "approved.dsse.json")
    result = verify_signed(path, keys["both"], **audit["options"])
    assert result["ok"], failed(result)
    assert [(s["name"], s["role"]) for s in result["signers"]] == [
        ("Ada Lovelace", "operator"),
        ("Grace Hopper", "approver"),
    ]
    only_operator = verify_signed(path, keys["trusted"], **audit["options"])
    assert not only_operator["ok"] and f"unknown key {key_id(keys['approver'])}" in failed(only_operator)[0]
    page = signed_html(env, path.name)
    assert "<h2>Signatures</h2>" in page and "Grace Hopper" in page and key_id(keys["approver"]) in page
    assert f"engram-probe verify {path.name} --key SIGNER.pub" in page
    assert hashlib.sha256(base64.b64decode(env["payload"])).hexdigest() in page
