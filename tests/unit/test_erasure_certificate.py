"""Issue 25, erasure certificates: an erase of a fact that shares rows with another is certified with the rows
restored, the residue (rows the remaining fact keeps, byte for byte) and the bit-exact proof, all signed; a changed
certificate, another key and an uncertifiable erase are refused; a missing key erases nothing.

On a tiny random model with a real store file: the proof comes from real forward passes and a real ledger."""

from __future__ import annotations

import base64
import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from engram_probe.attest.dsse import SignatureError, read_envelope
from engram_probe.attest.erasure import CertificateError, verify_certificate, write_certificate
from engram_probe.attest.keys import generate_key, load_private, load_trusted
from engram_probe.cli import main
from engram_probe.memory.erasure import erase_with_proof
from engram_probe.memory.operations import open_store, write_facts, write_summary
from engram_probe.memory.writing import FactSpec, WriteSettings
from tests.helpers import tiny_lm

FAST = WriteSettings(opt_steps=8, opt_max_steps=0)


@pytest.fixture(scope="module")
def lm() -> Any:
    return tiny_lm(seed=5)


def write(lm: Any, store: Any, prompt: str, answer: str) -> dict[str, Any]:
    result, entry = write_facts(lm, store, "ann", [FactSpec.of(prompt, answer)], "unembed", "early", FAST)
    return write_summary(result, entry)["facts"][0]


def test_an_erase_is_certified_with_its_rows_its_residue_and_its_proof(tmp_path: Path, lm: Any) -> None:
    store = open_store(tmp_path / "m.db", lm)
    first, second = write(lm, store, "My name is", "Ada"), write(lm, store, "Surname is", "Ada")
    shared = {tuple(r) for r in first["rows"]} & {tuple(r) for r in second["rows"]}
    assert shared and len(shared) < len(second["rows"])  # the two triggers share their 2-gram rows only
    entry, proof = erase_with_proof(lm, store, "ann", [second["fact_id"]], operator="tess")
    kid, key, pub = generate_key(tmp_path / "k")
    out = write_certificate(tmp_path / "erase.json", entry, proof, lm.weights_sha256, load_private(key))
    stmt = verify_certificate(read_envelope(out), load_trusted(pub))
    pred = stmt["predicate"]
    assert pred["erased_fact_ids"] == [second["fact_id"]] and pred["user"] == "ann" and pred["erased_by"] == "tess"
    assert pred["ledger"]["entry_hash"] == store.ledger("ann")[-1].entry_hash == entry.entry_hash
    assert {(r["layer"], r["row"]) for r in pred["residue"]} == shared
    assert {r["kept_by"] for r in pred["residue"]} == {first["fact_id"]} and all(
        r["bit_exact"] for r in pred["residue"]
    )
    restored = {(r["layer"], r["row"]) for r in pred["rows_restored"]}
    assert restored == {tuple(r) for r in second["rows"]} - shared
    (fwd,) = pred["proof"]["forwards"]
    assert pred["proof"]["bit_exact"] and fwd["identical"] and fwd["changed_before_erase"]
    subjects = {s["name"]: s["digest"]["sha256"] for s in stmt["subject"]}
    assert subjects["model weights"] == lm.weights_sha256
    assert subjects["memory of ann after the erase"] == entry.digest_after
    assert pred["operator"]["key_id"] == kid

    # a residue row removed from the signed payload: the signature no longer holds
    env = json.loads(out.read_text())
    changed = json.loads(base64.b64decode(env["payload"]))
    changed["predicate"]["residue"] = changed["predicate"]["residue"][1:]
    env["payload"] = base64.b64encode(json.dumps(changed).encode()).decode()
    with pytest.raises(SignatureError, match="signature does not match"):
        verify_certificate(env, load_trusted(pub))
    _, _, other = generate_key(tmp_path / "other")
    with pytest.raises(SignatureError, match="unknown key"):
        verify_certificate(read_envelope(out), load_trusted(other))


def test_an_erase_without_a_bit_exact_proof_is_not_certified(tmp_path: Path, lm: Any) -> None:
    store = open_store(tmp_path / "m.db", lm)
    fact = write(lm, store, "My name is", "Ada")
    entry, proof = erase_with_proof(lm, store, "ann", [fact["fact_id"]])
    _, key, _ = generate_key(tmp_path / "k")
    failed = proof | {"bit_exact": False}
    with pytest.raises(CertificateError, match="not bit-exact"):
        write_certificate(tmp_path / "c.json", entry, failed, lm.weights_sha256, load_private(key))
    assert not (tmp_path / "c.json").exists() and not (tmp_path / "c.json.part").exists()


def test_a_missing_key_is_refused_before_anything_is_erased(tmp_path: Path, lm: Any) -> None:
    store = open_store(tmp_path / "m.db", lm)
    fact = write(lm, store, "My name is", "Ada")
    before = store.snapshot()
    args = ["erase", "--store", str(tmp_path / "m.db"), "--user", "ann", "--fact", fact["fact_id"]]
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = main([*args, "--certificate", str(tmp_path / "c.json"), "--key", str(tmp_path / "nokey")])
    assert rc == 2 and "no private key file at" in err.getvalue() and "nothing was erased" in err.getvalue()
    assert store.snapshot() == before and not (tmp_path / "c.json").exists()


def test_verify_checks_a_certificate_against_the_store_s_ledger(
    tmp_path: Path, lm: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_store(tmp_path / "m.db", lm)
    fact = write(lm, store, "My name is", "Ada")
    entry, proof = erase_with_proof(lm, store, "ann", [fact["fact_id"]], operator="tess")
    _, key, pub = generate_key(tmp_path / "k")
    out = write_certificate(tmp_path / "erase.dsse.json", entry, proof, lm.weights_sha256, load_private(key))
    store.close()
    args = ["verify", str(out), "--key", str(pub), "--store", str(tmp_path / "m.db")]
    assert main(args) == 0
    said = capsys.readouterr().out
    assert said.startswith("signed by") and "a signed erasure certificate: ann's" in said and "VERIFIED" in said
    # the same certificate against another store, where the same fact was written and erased again
    other_store = open_store(tmp_path / "n.db", lm)
    again = write(lm, other_store, "My name is", "Ada")
    erase_with_proof(lm, other_store, "ann", [again["fact_id"]], operator="tess")
    other_store.close()
    assert main([*args[:-1], str(tmp_path / "n.db")]) == 1
    assert "has no entry" in capsys.readouterr().out
    _, _, other = generate_key(tmp_path / "other")
    assert main(["verify", str(out), "--key", str(other)]) == 1
    assert "unknown key" in capsys.readouterr().out
