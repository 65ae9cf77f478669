"""Issue 25, the artefacts signed themselves: a memory export, a ``.pleo`` file and a V4.1 row file are signed with
``engram-probe sign-overlay`` in OpenSSF model-signing's format; ``verify-overlay`` and the model-signing tool's own
CLI accept them and refuse a copy with one byte changed; importing or auditing a changed signed file is refused."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib.util
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from engram_probe.attest.keys import generate_key
from engram_probe.cli import main
from engram_probe.contracts import load_contract
from engram_probe.memory.store import MemoryStore
from engram_probe.memory.transfer import ImportRejected, export_memory
from engram_probe.memory.user_memory import Fact, UserMemory
from engram_probe.overlays import OverlayFileError, read_overlay
from engram_probe.overlays.bridge import import_file, model_contract
from tests.helpers import tiny_lm

pytestmark = pytest.mark.integration

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "contracts"
HAS_MODEL_SIGNING = importlib.util.find_spec("model_signing") is not None


def cli(*args: str, code: int = 0) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(args))
    assert rc == code, out.getvalue() + err.getvalue()
    return out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def lm() -> Any:
    return tiny_lm(seed=2)


def memory_export(lm: Any, folder: Path) -> Path:
    """A real memory export of the tiny model: one fact on the rows its trigger reads."""
    contract = model_contract(lm)
    layer = lm.cfg.engram_layers[0]
    rows = np.unique(contract.addresses(np.asarray(contract.encode("My dog is")), layer)[-1])
    fact = Fact(
        fact_id="pet",
        triggers=["My dog is"],
        answer="Rex",
        gold_token_id=5,
        gold_token=lm.tokenizer.token_text(5),
        strategy="unembed",
        layer=layer,
        row_ids=torch.tensor([[layer, int(r)] for r in rows]),
        values=torch.randn(len(rows), lm.cfg.dim_per_head, generator=torch.Generator().manual_seed(0)),
        written_at="2026-01-01T00:00:00+00:00",
    )
    out = folder / "ada.safetensors"
    export_memory(UserMemory("ada", [fact]), out, lm.weights_sha256, lm.model.hasher)
    return out


def the_file(kind: str, lm: Any, folder: Path) -> Path:
    if kind == "memory export":
        return memory_export(lm, folder)
    src = FIX / "qwen_ple" / "alice.pleo" if kind == "pleo" else FIX / "v41_tiny" / "alice.safetensors"
    return Path(shutil.copy(src, folder / src.name))


def tampered_copy(path: Path, folder: Path) -> Path:
    """The file and its signature copied elsewhere, one byte of the file changed (the middle one, flipped)."""
    folder.mkdir()
    copy = Path(shutil.copy(path, folder / path.name))
    shutil.copy(path.with_name(path.name + ".sig"), folder / (path.name + ".sig"))
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0x01
    copy.write_bytes(bytes(data))
    return copy


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("keys")
    cli("overlay-key", "--out", str(folder / "overlay"))
    return folder / "overlay", folder / "overlay.pub"


KINDS = ["memory export", "pleo", "v41 rows"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_signed_file_verifies_and_a_copy_with_one_byte_changed_does_not(
    tmp_path: Path, lm: Any, key: tuple[Path, Path], kind: str
) -> None:
    private, public = key
    path = the_file(kind, lm, tmp_path)
    cli("sign-overlay", str(path), "--key", str(private))
    sig = path.with_name(path.name + ".sig")
    bundle = json.loads(sig.read_text())
    stmt = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    assert stmt["predicateType"] == "https://model_signing/signature/v1.0"
    assert stmt["predicate"]["resources"][0]["digest"] == hashlib.sha256(path.read_bytes()).hexdigest()
    out, _ = cli("verify-overlay", str(path), "--key", str(public))
    assert out.startswith("VERIFIED")
    bad = tampered_copy(path, tmp_path / "changed")
    out, _ = cli("verify-overlay", str(bad), "--key", str(public), code=1)
    assert "NOT VERIFIED" in out and "has changed since it was signed" in out


@pytest.mark.skipif(not HAS_MODEL_SIGNING, reason="model-signing is in the dev extra")
@pytest.mark.parametrize("kind", KINDS)
def test_the_model_signing_cli_accepts_what_we_signed_and_refuses_a_changed_copy(
    tmp_path: Path, lm: Any, key: tuple[Path, Path], kind: str
) -> None:
    private, public = key
    path = the_file(kind, lm, tmp_path)
    cli("sign-overlay", str(path), "--key", str(private))

    def model_signing(target: Path) -> subprocess.CompletedProcess[str]:
        sig = target.with_name(target.name + ".sig")
        command = [sys.executable, "-m", "model_signing", "verify", "key", str(target), "--signature", str(sig)]
        return subprocess.run([*command, "--public_key", str(public)], capture_output=True, text=True, timeout=120)

    good = model_signing(path)
    assert good.returncode == 0 and "Verification succeeded" in good.stdout, good.stdout + good.stderr
    bad = model_signing(tampered_copy(path, tmp_path / "changed"))
    assert bad.returncode == 1 and "Hash mismatch" in bad.stderr, bad.stdout + bad.stderr


def test_another_key_an_edited_signature_and_a_report_key_are_refused_by_name(
    tmp_path: Path, lm: Any, key: tuple[Path, Path]
) -> None:
    private, public = key
    path = the_file("pleo", lm, tmp_path)
    cli("sign-overlay", str(path), "--key", str(private))
    cli("overlay-key", "--out", str(tmp_path / "other"))
    out, _ = cli("verify-overlay", str(path), "--key", str(tmp_path / "other.pub"), code=1)
    assert "signed by an unknown key" in out
    # the listed digest swapped for another file's, the key hint kept: the signature no longer holds
    sig = path.with_name(path.name + ".sig")
    bundle = json.loads(sig.read_text())
    stmt = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    stmt["predicate"]["resources"][0]["digest"] = "0" * 64
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(stmt).encode()).decode()
    sig.write_text(json.dumps(bundle))
    out, _ = cli("verify-overlay", str(path), "--key", str(public), code=1)
    assert "signature does not match" in out
    generate_key(tmp_path / "report")
    _, err = cli("sign-overlay", str(path), "--key", str(tmp_path / "report"), code=2)
    assert "not an ECDSA P-256 overlay key" in err and len(err.splitlines()) == 1
    _, err = cli("sign-overlay", str(path), "--key", str(tmp_path / "missing"), code=2)
    assert "no private key file at" in err


def test_importing_or_auditing_a_changed_signed_file_is_refused(
    tmp_path: Path, lm: Any, key: tuple[Path, Path]
) -> None:
    private, _ = key
    export = the_file("memory export", lm, tmp_path)
    pleo = the_file("pleo", lm, tmp_path)
    for p in (export, pleo):
        cli("sign-overlay", str(p), "--key", str(private))
    with MemoryStore(tmp_path / "m.db", lm.weights_sha256) as store:
        entry = import_file(store, export, lm)  # signed and unchanged: imported
        assert entry.action == "import" and store.user_ids() == ["ada"]
    bad_export, bad_pleo = tampered_copy(export, tmp_path / "e"), tampered_copy(pleo, tmp_path / "p")
    with MemoryStore(tmp_path / "n.db", lm.weights_sha256) as store:
        with pytest.raises(ImportRejected, match="has changed since it was signed"):
            import_file(store, bad_export, lm)
        assert store.user_ids() == [] and store.ledger() == []
    contract = load_contract("qwen3.8-ple")
    assert read_overlay(pleo, contract).user  # the signed file opens for an audit
    with pytest.raises(OverlayFileError, match="has changed since it was signed"):
        read_overlay(bad_pleo, contract)
    # the same file without its signature opens, unless a signature is required
    bad_pleo.with_name(bad_pleo.name + ".sig").unlink()
    _, err = cli("import", "--store", str(tmp_path / "o.db"), "--file", str(bad_pleo), "--require-signature", code=2)
    assert "has no signature beside it" in err and not (tmp_path / "o.db").exists()
