""".pleo and V4.1 row-override files: exact round trips, engraft-ngram's byte layout, bad files refused whole."""

from __future__ import annotations

import hashlib
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from engram_probe.contracts import load_contract
from engram_probe.overlays import OverlayFileError, OverlayRows, read_overlay
from engram_probe.overlays.pleo import write_pleo
from engram_probe.overlays.v41_rows import FORMAT, dequantize_fp8, quantize_fp8, write_v41_rows

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "contracts"
QWEN = load_contract("qwen3.8-ple")
V41 = load_contract("deepseek-v4.1", FIX / "v41_tiny" / "config.json", FIX / "v41_tiny" / "tokenizer.json")


def tiny_pleo_overlay() -> OverlayRows:
    v0 = np.arange(160, dtype=np.float32) * 0.5
    v1 = -np.arange(160, dtype=np.float32) / 4 + 0.0  # + 0.0 turns -0.0 into +0.0, as the reference writer does
    return OverlayRows("u", "t", "pleo", {0: (np.array([7, 320001445]), np.stack([v0, v1]))})


def test_pleo_bytes_match_the_independent_writer(tmp_path: Path) -> None:
    """sha256 and first bytes of a 2-row file written by a scratch writer of engraft-ngram's docs/lens.md layout."""
    path = write_pleo(tiny_pleo_overlay(), tmp_path / "tiny.pleo", QWEN)
    data = path.read_bytes()
    assert len(data) == 1300
    assert data[:64].hex() == (
        "504c454f02000000a000000007000000a5d51213000000000000003f0000803f0000c03f0000004000002040000040400000604000008040"
        "000090400000a040"
    )
    assert hashlib.sha256(data).hexdigest() == "f05e3445adf9fb558a951ec3e82c126df97fe059b3426854fd01090e9e7c1c9e"
    back = read_overlay(path, QWEN)
    assert back.rows(0).tolist() == [7, 320001445]
    assert back.layers[0][1].tobytes() == tiny_pleo_overlay().layers[0][1].tobytes()


def pleo_bytes(rows: list[int], dim: int = 160, values: np.ndarray | None = None) -> bytes:
    vals = np.zeros((len(rows), dim), np.float32) if values is None else values
    return struct.pack("<4sII", b"PLEO", len(rows), dim) + np.array(rows, "<i4").tobytes() + vals.tobytes()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"PLEX" + pleo_bytes([1])[4:], "wrong magic"),
        (pleo_bytes([1, 2])[:-4], "truncated"),
        (b"PLE", "truncated"),
        (pleo_bytes([1], dim=128), "wrong dim 128"),
        (pleo_bytes([320001446]), "row 320001446 is outside"),
        (pleo_bytes([5, 5], values=np.stack([np.zeros(160), np.ones(160)]).astype(np.float32)), "two different values"),
        (pleo_bytes([1]) + b"\x00", "unexpected bytes"),
        (pleo_bytes([1], values=np.full((1, 160), np.nan, np.float32)), "NaN"),
    ],
)
def test_bad_pleo_files_are_refused(tmp_path: Path, body: bytes, message: str) -> None:
    path = tmp_path / "bad.pleo"
    path.write_bytes(body)
    with pytest.raises(OverlayFileError, match=message):
        read_overlay(path, QWEN)


def test_identical_duplicate_rows_are_merged_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "dup.pleo"
    path.write_bytes(pleo_bytes([9, 9, 3]))
    o = read_overlay(path, QWEN)
    assert o.rows(0).tolist() == [3, 9] and o.notes == ["1 identical duplicate rows dropped"]


def test_fp8_quantisation_follows_the_checkpoint_rule() -> None:
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((5, 256)) * rng.choice([1e-3, 1.0, 300.0], size=(5, 1))).astype(np.float32)
    x[4] = 0.0
    q, scale = quantize_fp8(x)
    assert q.dtype == torch.float8_e4m3fn and scale.dtype == torch.float8_e8m0fnu and tuple(scale.shape) == (5, 8)
    back = dequantize_fp8(q, scale)
    # value = fp8 * 2^(byte - 127), computed here independently of the reader
    exp = scale.view(torch.uint8).numpy().astype(np.int64) - 127
    manual = q.float().numpy().reshape(5, 8, 32) * np.exp2(exp)[..., None]
    assert back.tobytes() == manual.reshape(5, 256).astype(np.float32).tobytes()
    assert float(np.abs(back - x).max() / np.abs(x).max()) < 0.07  # e4m3 has 3 mantissa bits
    assert not back[4].any()


@pytest.mark.parametrize("encoding", ["fp8", "float32"])
def test_v41_rows_round_trip(tmp_path: Path, encoding: str) -> None:
    src = read_overlay(FIX / "v41_tiny" / "alice.safetensors", V41)
    path = write_v41_rows(src, tmp_path / "x.safetensors", V41, encoding)
    back = read_overlay(path, V41)
    assert back.user == "alice" and [f.fact_id for f in back.facts] == ["pet", "city"]
    assert back.rows(2).tolist() == src.rows(2).tolist()
    # the fixture already holds FP8-representable values, so both encodings give the same float32 bytes
    assert back.layers[2][1].tobytes() == src.layers[2][1].tobytes()
    raw = load_file(str(path))
    assert raw["layers.2.engram.rows"].dtype == torch.int64
    assert raw["layers.2.engram.embed.weight"].dtype == (torch.float8_e4m3fn if encoding == "fp8" else torch.float32)


def tamper(tmp_path: Path, change: str) -> Path:
    t = load_file(str(FIX / "v41_tiny" / "bob.safetensors"))
    meta = {"format": FORMAT, "user": "bob", "facts": "[]"}
    if change == "row":
        t["layers.2.engram.rows"][0] = 10_000
    elif change == "dim":
        t["layers.2.engram.embed.weight"] = t["layers.2.engram.embed.weight"][:, :16].contiguous()
    elif change == "dup":
        t["layers.2.engram.rows"][1] = t["layers.2.engram.rows"][0]
    elif change == "dtype":
        t["layers.2.engram.rows"] = t["layers.2.engram.rows"].to(torch.int32)
    elif change == "layer":
        t["layers.5.engram.rows"] = t.pop("layers.2.engram.rows")
        t["layers.5.engram.embed.weight"] = t.pop("layers.2.engram.embed.weight")
    elif change == "format":
        meta["format"] = "something-else"
    path = tmp_path / f"{change}.safetensors"
    save_file(t, str(path), metadata=meta)
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("row", "row 10000 is outside"),
        ("dim", "rows have 16 values"),
        ("dup", "two different values"),
        ("dtype", "int64"),
        ("layer", "layer 5 is not an Engram layer"),
        ("format", "unknown overlay format 'something-else'"),
    ],
)
def test_bad_v41_files_are_refused(tmp_path: Path, change: str, message: str) -> None:
    with pytest.raises(OverlayFileError if change != "layer" else ValueError, match=message):
        read_overlay(tamper(tmp_path, change), V41)


def test_truncated_v41_file_is_refused(tmp_path: Path) -> None:
    data = (FIX / "v41_tiny" / "alice.safetensors").read_bytes()
    (tmp_path / "t.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(OverlayFileError, match="truncated"):
        read_overlay(tmp_path / "t.safetensors", V41)


def test_a_file_for_another_contract_is_refused(tmp_path: Path) -> None:
    other = load_contract("deepseek-v4.1", FIX / "v41_tiny" / "config.json")  # no tokenizer: another digest
    with pytest.raises(OverlayFileError, match="written under contract"):
        read_overlay(FIX / "v41_tiny" / "alice.safetensors", other)


def test_facts_sidecar_is_read_and_bad_sidecars_are_refused(tmp_path: Path) -> None:
    o = read_overlay(FIX / "qwen_ple" / "alice.pleo", QWEN)
    assert o.user == "alice" and [f.fact_id for f in o.facts] == ["pet", "city", "tea"]
    shutil.copy(FIX / "qwen_ple" / "alice.pleo", tmp_path / "a.pleo")
    (tmp_path / "a.pleo.facts.json").write_text('{"facts": [{"fact_id": "x", "trigger": "no tokenizer"}]}')
    with pytest.raises(OverlayFileError, match="--tokenizer"):
        read_overlay(tmp_path / "a.pleo", QWEN)


def test_fixture_writer_is_deterministic(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    for sub in ("qwen_ple", "v41_tiny"):
        shutil.copytree(FIX / sub, tmp_path / sub)
        for f in (tmp_path / sub).glob("*.[ps]*"):
            if f.suffix in (".pleo", ".safetensors"):
                f.unlink()
    subprocess.run(
        [sys.executable, str(root / "scripts" / "make_contract_fixtures.py"), str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for name in ("alice.pleo", "bob.pleo"):
        assert (tmp_path / "qwen_ple" / name).read_bytes() == (FIX / "qwen_ple" / name).read_bytes()
    # safetensors orders its metadata keys arbitrarily, so compare content, not file bytes
    from safetensors import safe_open

    for name in ("alice.safetensors", "bob.safetensors"):
        with (
            safe_open(str(tmp_path / "v41_tiny" / name), "pt") as a,
            safe_open(str(FIX / "v41_tiny" / name), "pt") as b,
        ):
            assert a.metadata() == b.metadata() and sorted(a.keys()) == sorted(b.keys())
            for k in a.keys():  # noqa: SIM118
                assert (
                    a.get_tensor(k).view(torch.uint8).numpy().tobytes()
                    == b.get_tensor(k).view(torch.uint8).numpy().tobytes()
                )
