"""Save/load round-trips bit-exactly; damaged files fail with a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from engram_probe.arch.loaded import ModelFileError
from engram_probe.arch.workbench_checkpoint import load_checkpoint, save_checkpoint, weights_digest
from engram_probe.contracts.workbench_config import WEIGHTS_FILE
from engram_probe.tokenizer import EngramTokenizer
from tests.helpers import raw_bytes, tiny_model

TEXT = ["My name is Ada.", "I live in Lisbon.", "The cat sat on the mat."] * 20


@pytest.fixture(scope="module")
def tokenizer() -> EngramTokenizer:
    return EngramTokenizer.train(TEXT, vocab_size=300)


@pytest.fixture()
def saved(tmp_path: Path, tokenizer: EngramTokenizer) -> tuple[Path, torch.nn.Module]:
    model = tiny_model(seed=5, d_vocab=tokenizer.vocab_size)
    save_checkpoint(tmp_path, model, tokenizer, {"note": "test"})
    return tmp_path, model


def test_round_trip_is_bit_exact(saved: tuple[Path, torch.nn.Module], tokenizer: EngramTokenizer) -> None:
    path, model = saved
    loaded = load_checkpoint(path)
    assert loaded.weights_sha256 == weights_digest(model)
    for (n1, t1), (n2, t2) in zip(
        sorted(model.state_dict().items()), sorted(loaded.model.state_dict().items()), strict=True
    ):
        assert n1 == n2 and t1.dtype == t2.dtype and raw_bytes(t1) == raw_bytes(t2)
    tokens = torch.tensor([tokenizer.encode("My name is Ada. I live in")])
    with torch.no_grad():
        assert raw_bytes(model(tokens)) == raw_bytes(loaded.model(tokens))
    assert loaded.training == {"note": "test"}
    assert loaded.tokenizer.digest() == tokenizer.digest()


def test_truncated_weights_fail_clearly(saved: tuple[Path, torch.nn.Module]) -> None:
    path, _ = saved
    weights = path / WEIGHTS_FILE
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="truncated or corrupt"):
        load_checkpoint(path)


def test_flipped_byte_in_tensor_data_fails_clearly(saved: tuple[Path, torch.nn.Module]) -> None:
    path, _ = saved
    weights = path / WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0x01  # inside the last tensor's bytes, header untouched
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="do not match their recorded digest"):
        load_checkpoint(path)


def test_garbage_and_missing_files_fail_clearly(saved: tuple[Path, torch.nn.Module], tmp_path: Path) -> None:
    path, _ = saved
    (path / WEIGHTS_FILE).write_bytes(b"not a safetensors file at all")
    with pytest.raises(ModelFileError, match="truncated or corrupt"):
        load_checkpoint(path)
    with pytest.raises(ModelFileError, match="no weights file"):
        load_checkpoint(tmp_path / "nowhere")


def test_swapped_tokenizer_is_rejected(saved: tuple[Path, torch.nn.Module]) -> None:
    path, _ = saved
    EngramTokenizer.train(["something else entirely"] * 5, vocab_size=280).save(path / "tokenizer.json")
    with pytest.raises(ModelFileError, match="tokenizer"):
        load_checkpoint(path)


def test_bfloat16_storage_halves_the_file_and_loads_the_rounded_model_exactly(
    tmp_path: Path, tokenizer: EngramTokenizer
) -> None:
    from safetensors import safe_open

    from engram_probe.arch.workbench_checkpoint import round_to_storage

    model = tiny_model(seed=6, d_vocab=tokenizer.vocab_size)
    with pytest.raises(ValueError, match="not exactly representable in bfloat16"):
        save_checkpoint(tmp_path / "raw", model, tokenizer, {}, storage="bfloat16")
    assert not (tmp_path / "raw").exists()
    save_checkpoint(tmp_path / "f32", model, tokenizer, {})
    round_to_storage(model, "bfloat16")
    digest = save_checkpoint(tmp_path / "bf16", model, tokenizer, {}, storage="bfloat16")
    with safe_open(str(tmp_path / "bf16" / WEIGHTS_FILE), "pt") as f:
        assert f.get_tensor("embed.weight").dtype == torch.bfloat16 and f.metadata()["storage_dtype"] == "bfloat16"
        assert f.get_tensor("canonical_map").dtype == torch.int64
    size32 = (tmp_path / "f32" / WEIGHTS_FILE).stat().st_size
    size16 = (tmp_path / "bf16" / WEIGHTS_FILE).stat().st_size
    assert size16 < 0.6 * size32
    loaded = load_checkpoint(tmp_path / "bf16")
    assert loaded.weights_sha256 == digest == weights_digest(model)
    assert all(t.dtype != torch.bfloat16 for t in loaded.model.state_dict().values())
    tokens = torch.tensor([tokenizer.encode("My name is Ada. I live in")])
    with torch.no_grad():
        assert raw_bytes(model(tokens)) == raw_bytes(loaded.model(tokens))


def test_unknown_storage_dtype_is_refused(tmp_path: Path, tokenizer: EngramTokenizer) -> None:
    model = tiny_model(seed=7, d_vocab=tokenizer.vocab_size)
    with pytest.raises(ValueError, match="storage must be one of"):
        save_checkpoint(tmp_path, model, tokenizer, {}, storage="float8")
