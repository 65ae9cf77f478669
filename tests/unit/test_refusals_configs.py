"""Configs, tokenizers and model files that used to crash or mean something else are refused at the door.

Each refusal is one line naming the file and the field. Every test builds its input in tmp_path from the
real fixtures (or the shipped model's files) and goes through the same loader the CLI and the workbench use.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from engram_probe.arch.loaded import ModelFileError
from engram_probe.arch.nanochat_import import load_nanochat
from engram_probe.arch.workbench_checkpoint import load_checkpoint, save_checkpoint
from engram_probe.contracts import ContractError, load_contract
from engram_probe.contracts.workbench_config import DEFAULT_MODEL_DIR
from engram_probe.overlays.load import read_overlay
from engram_probe.overlays.rowset import V41_FORMAT, OverlayFileError, OverlayRows
from engram_probe.overlays.v41_rows import write_v41_rows
from engram_probe.tokenizer import EngramTokenizer
from tests.helpers import tiny_model

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
FIX = ROOT / "contracts"
V41_DIR, PAPER_DIR, QWEN_DIR, NANOCHAT = FIX / "v41_tiny", FIX / "paper_tiny", FIX / "qwen_ple", ROOT / "nanochat_tiny"


LAYERS = "field engram_layer_ids must be a non-empty list of distinct integers "


def edited_json(src: Path, dst: Path, changes: dict, inner: str | None = None) -> Path:
    data = json.loads(src.read_text())
    target = data[inner] if inner else data
    for key, value in changes.items():
        target[key] = value
    dst.write_text(json.dumps(data))
    return dst


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text and "Traceback" not in text
    return text


# ---------------------------------------------------------------- 8: tracebacks become refusals
def test_a_facts_sidecar_token_id_beyond_64_bits_is_refused_naming_the_field(tmp_path: Path) -> None:
    shutil.copy(QWEN_DIR / "alice.pleo", tmp_path / "alice.pleo")
    sidecar = json.loads((QWEN_DIR / "alice.pleo.facts.json").read_text())
    sidecar["facts"][0]["trigger_ids"] = [10**23, 5]
    (tmp_path / "alice.pleo.facts.json").write_text(json.dumps(sidecar))
    with pytest.raises(OverlayFileError) as exc:
        read_overlay(tmp_path / "alice.pleo", load_contract("qwen3.8-ple"))
    assert "field trigger_ids must be" in one_line(exc) and "100000000000000000000000" in str(exc.value)


def test_token_ids_beyond_64_bits_are_refused_by_every_contract_instead_of_overflowing() -> None:
    for contract in (load_contract("qwen3.8-ple"), load_contract("deepseek-v4.1")):
        with pytest.raises(ContractError, match="beyond that range"):
            contract.addresses([1, 10**23], contract.layers[0])


def test_an_empty_vocabulary_tokenizer_is_refused_on_the_qwen_path(tmp_path: Path) -> None:
    from tokenizers import Tokenizer, models

    path = tmp_path / "tokenizer.json"
    Tokenizer(models.BPE()).save(str(path))
    with pytest.raises(ContractError) as exc:
        load_contract("qwen3.8-ple", QWEN_DIR / "metadata.json", path)
    assert one_line(exc) == "tokenizer.json: field model.vocab must hold at least one token, got an empty vocabulary"


V41_BAD = [
    ({"engram_max_ngram_size": 0}, "field engram_max_ngram_size must be an integer from 2 to 8, got 0"),
    ({"engram_max_ngram_size": 1}, "field engram_max_ngram_size must be an integer from 2 to 8, got 1"),
    ({"engram_head_dim": "abc"}, 'field engram_head_dim must be an integer of at least 1, got "abc"'),
    ({"engram_head_dim": [32]}, r"field engram_head_dim must be an integer of at least 1, got \[32\]"),
    ({"engram_head_dim": 0}, "field engram_head_dim must be an integer of at least 1, got 0"),
    ({"engram_head_dim": 33}, "field engram_head_dim must be a multiple of 32"),
    ({"engram_layer_ids": [-1, 2]}, "field engram_layer_ids must be a non-empty list of distinct integers from 0 to 2"),
    (
        {"engram_layer_ids": [1, 3]},
        LAYERS + r"from 0 to 2 \(num_hidden_layers is 3\), got \[1, 3\]",
    ),
    (
        {"engram_layer_ids": [1, 1]},
        LAYERS + r"from 0 to 2 \(num_hidden_layers is 3\), got \[1, 1\]",
    ),
    ({"engram_layer_ids": "12"}, 'field engram_layer_ids must be a non-empty list .*, got "12"'),
    ({"engram_n_heads": True}, "field engram_n_heads must be an integer of at least 1, got true"),
]


@pytest.mark.parametrize(("changes", "message"), V41_BAD)
def test_bad_v41_config_fields_are_refused_naming_file_and_field(tmp_path: Path, changes: dict, message: str) -> None:
    path = edited_json(V41_DIR / "config.json", tmp_path / "bad.json", changes, "text_config")
    with pytest.raises(ContractError, match="^bad.json: " + message) as exc:
        load_contract("deepseek-v4.1", path)
    one_line(exc)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"engram_n_head_per_ngram": 0}, "field engram_n_head_per_ngram must be an integer of at least 1, got 0"),
        ({"engram_max_ngram_size": 1}, "field engram_max_ngram_size must be an integer from 2 to 8, got 1"),
        (
            {"engram_layer_ids": [1, 4]},
            LAYERS + r"from 0 to 3 \(n_layer is 4\), got \[1, 4\]",
        ),
        (
            {"engram_layer_ids": [2, 2]},
            LAYERS + r"from 0 to 3 \(n_layer is 4\), got \[2, 2\]",
        ),
        ({"engram_vocab_per_ngram": 0}, "field engram_vocab_per_ngram must be an integer from 3 to"),
    ],
)
def test_bad_paper_config_fields_are_refused_naming_file_and_field(tmp_path: Path, changes: dict, message: str) -> None:
    path = edited_json(PAPER_DIR / "config.json", tmp_path / "config.json", changes)
    with pytest.raises(ContractError, match="^config.json: " + message) as exc:
        load_contract("user-as-engram", path, PAPER_DIR / "tokenizer.json")
    one_line(exc)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"n_head": 0}, "field n_head must be an integer of at least 1, got 0"),
        ({"n_kv_head": 0}, "field n_kv_head must be an integer of at least 1, got 0"),
        ({"engram_max_ngram_size": 1}, "field engram_max_ngram_size must be an integer from 2 to 8, got 1"),
        ({"vocab_size": 32.0}, "field vocab_size must be an integer of at least 1, got 32.0"),
        ({"engram_vocab_per_ngram": 0}, "field engram_vocab_per_ngram must be an integer from 3 to"),
        ({"engram_layer_ids": "12"}, 'field engram_layer_ids must be a non-empty list .*, got "12"'),
        (
            {"engram_layer_ids": [1, 4]},
            LAYERS + r"from 0 to 3 \(n_layer is 4\), got \[1, 4\]",
        ),
        (
            {"engram_layer_ids": [1, 1]},
            LAYERS + r"from 0 to 3 \(n_layer is 4\), got \[1, 1\]",
        ),
        ({"sequence_len": 0}, "field sequence_len must be an integer of at least 1, got 0"),
        ({"sequence_len": -5}, "field sequence_len must be an integer of at least 1, got -5"),
        ({"n_embd": 66}, r"field n_embd / n_head \(the head dim\) must be even for rotary positions, got 66 / 2 = 33"),
    ],
)
def test_bad_nanochat_config_fields_are_refused_naming_file_and_field(
    tmp_path: Path, changes: dict, message: str
) -> None:
    d = tmp_path / "ckpt"
    shutil.copytree(NANOCHAT, d)
    edited_json(NANOCHAT / "config.json", d / "config.json", changes)
    with pytest.raises(ModelFileError, match=f"^{d / 'config.json'}: {message}") as exc:
        load_nanochat(d)
    one_line(exc)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("qwen4exp.ple.eos_token_id", 2**70, "must be an integer from 0 to 4294967295, got 1180591620717411303424"),
        ("qwen4exp.ple.eos_token_id", -1, "must be an integer from 0 to 4294967295, got -1"),
        ("qwen4exp.embedding_length_per_layer_input", "160", 'must be an integer of at least 1, got "160"'),
        ("qwen4exp.embedding_length_per_layer_input", [160], "must be an integer of at least 1, got \\[160\\]"),
        ("per_layer_token_embd.weight.rows", "320001536", 'must be an integer from 1 to .*, got "320001536"'),
        ("per_layer_token_embd.weight.rows", [320001536], "must be an integer from 1 to .*, got \\[320001536\\]"),
        ("qwen4exp.ple.ngram_size", 1000, "must be an integer from 2 to 8, got 1000"),
    ],
)
def test_bad_gguf_metadata_is_refused_naming_file_and_key(
    tmp_path: Path, key: str, value: object, message: str
) -> None:
    path = edited_json(QWEN_DIR / "metadata.json", tmp_path / "meta.json", {key: value})
    with pytest.raises(ContractError, match=f"^meta.json: field {key} {message}$") as exc:
        load_contract("qwen3.8-ple", path)
    one_line(exc)


# ---------------------------------------------------------------- 9: contradictory configs
def model_folder(tmp_path: Path, changes: dict) -> Path:
    """The shipped model's files (linked, not copied) with an edited config.json."""
    d = tmp_path / "model"
    d.mkdir(parents=True)
    for name in ("model.safetensors", "tokenizer.json"):
        (d / name).symlink_to(DEFAULT_MODEL_DIR / name)
    edited_json(DEFAULT_MODEL_DIR / "config.json", d / "config.json", changes)
    return d


def test_a_model_folder_config_that_differs_from_its_weights_is_refused_naming_the_field(tmp_path: Path) -> None:
    same = model_folder(tmp_path / "same", {})
    assert load_contract("workbench", same).digest() == load_contract("workbench").digest()
    # a valid config, just not the one the weights were built with: before, it gave another digest silently
    d = model_folder(tmp_path, {"table_size_per_head": 4001})
    with pytest.raises(ContractError) as exc:
        load_contract("workbench", d)
    assert one_line(exc).startswith(f"{d / 'config.json'}: field table_size_per_head is 4001, but the weights")
    assert "were built with 16384" in str(exc.value)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"engram_layers": "14"}, 'field engram_layers must be a list of distinct integers .*got "14"'),
        (
            {"engram_layers": [1, 6]},
            r"field engram_layers must be .* from 0 to 5 \(n_layers is 6\), got \[1, 6\]",
        ),
        ({"engram_layers": [4, 4]}, r"field engram_layers must be .* from 0 to 5 \(n_layers is 6\), got \[4, 4\]"),
        ({"ngram_orders": [2, 1000]}, r"field ngram_orders must be a non-empty list of distinct integers from 2 to 8"),
        ({"heads_per_order": 0}, "field heads_per_order must be an integer of at least 1, got 0"),
        ({"n_layers": True}, "field n_layers must be an integer of at least 1, got true"),
    ],
)
def test_bad_workbench_config_fields_are_refused_naming_file_and_field(
    tmp_path: Path, changes: dict, message: str
) -> None:
    d = model_folder(tmp_path, changes)
    with pytest.raises(ContractError, match=f"^{d / 'config.json'}: {message}") as exc:
        load_contract("workbench", d)
    one_line(exc)


# ---------------------------------------------------------------- 10: bounded work
def test_max_ngram_is_bounded_to_8_in_every_reader_and_refused_at_once(tmp_path: Path) -> None:
    started = time.perf_counter()
    v41 = edited_json(V41_DIR / "config.json", tmp_path / "v41.json", {"engram_max_ngram_size": 100_000}, "text_config")
    with pytest.raises(ContractError, match="field engram_max_ngram_size must be an integer from 2 to 8"):
        load_contract("deepseek-v4.1", v41)
    paper = edited_json(PAPER_DIR / "config.json", tmp_path / "paper.json", {"engram_max_ngram_size": 100_000})
    with pytest.raises(ContractError, match="field engram_max_ngram_size must be an integer from 2 to 8"):
        load_contract("user-as-engram", paper, PAPER_DIR / "tokenizer.json")
    qwen = edited_json(QWEN_DIR / "metadata.json", tmp_path / "q.json", {"qwen4exp.ple.ngram_size": 100_000})
    with pytest.raises(ContractError, match="field qwen4exp.ple.ngram_size must be an integer from 2 to 8"):
        load_contract("qwen3.8-ple", qwen)
    d = tmp_path / "ckpt"
    shutil.copytree(NANOCHAT, d)
    edited_json(NANOCHAT / "config.json", d / "config.json", {"engram_max_ngram_size": 100_000})
    with pytest.raises(ModelFileError, match="field engram_max_ngram_size must be an integer from 2 to 8"):
        load_nanochat(d)
    with pytest.raises(ContractError, match="field ngram_orders must be .* from 2 to 8"):
        load_contract("workbench", model_folder(tmp_path, {"ngram_orders": list(range(2, 3000))}))
    assert time.perf_counter() - started < 5  # before, the V4.1 reader alone never finished


# ---------------------------------------------------------------- 6: weights must be finite
def test_workbench_weights_holding_nan_are_refused_naming_the_tensor(tmp_path: Path) -> None:
    tok = EngramTokenizer.train(["My name is Ada.", "I live in Lisbon."] * 20, vocab_size=300)
    model = tiny_model(seed=3, d_vocab=tok.vocab_size)
    with torch.no_grad():
        model.state_dict()["blocks.2.engram.table.weight"][5, 1] = float("nan")
    save_checkpoint(tmp_path, model, tok, {})
    with pytest.raises(ModelFileError) as exc:
        load_checkpoint(tmp_path)
    assert "tensor blocks.2.engram.table.weight holds NaN or infinite values" in one_line(exc)


def test_nanochat_weights_holding_infinity_are_refused_naming_the_tensor(tmp_path: Path) -> None:
    d = tmp_path / "ckpt"
    shutil.copytree(NANOCHAT, d)
    sd = torch.load(d / "model.pt", weights_only=True)
    sd["lm_head.weight"][0, 0] = float("inf")
    torch.save(sd, d / "model.pt")
    with pytest.raises(ModelFileError) as exc:
        load_nanochat(d)
    assert one_line(exc) == "model.pt: tensor unembed.weight holds NaN or infinite values; the weights are damaged"


# ---------------------------------------------------------------- 11: messages
def test_a_model_pt_holding_code_is_refused_without_advice_to_disable_the_check(tmp_path: Path) -> None:
    d = tmp_path / "ckpt"
    shutil.copytree(NANOCHAT, d)
    torch.save({"sd": torch.load(d / "model.pt", weights_only=True), "hook": print}, d / "model.pt")
    with pytest.raises(ModelFileError) as exc:
        load_nanochat(d)
    text = one_line(exc)
    assert "holds more than tensors" in text and "would run code" in text
    assert "weights_only" not in text and "likely succeed" not in text


def test_random_bytes_in_model_pt_are_called_unreadable_not_code(tmp_path: Path) -> None:
    d = tmp_path / "ckpt"
    shutil.copytree(NANOCHAT, d)
    (d / "model.pt").write_bytes(bytes(range(1, 256)) * 16)
    with pytest.raises(ModelFileError) as exc:
        load_nanochat(d)
    assert one_line(exc) == "model.pt is not a readable checkpoint: it is truncated, corrupt, or not a torch file"


V41 = load_contract("deepseek-v4.1", V41_DIR / "config.json", V41_DIR / "tokenizer.json")


def test_a_value_that_overflows_fp8_is_refused_at_write_as_an_overflow(tmp_path: Path) -> None:
    values = np.zeros((1, 32), np.float32)
    values[0, 3] = 3.4e38  # rounds to 256 x 2^120 = 2^128 in FP8, past the largest float32
    overlay = OverlayRows("u", "mem", V41_FORMAT, {2: (np.array([7]), values)})
    with pytest.raises(OverlayFileError) as exc:
        write_v41_rows(overlay, tmp_path / "u.safetensors", V41)
    assert "row 7 value 3 (written as 3.4e+38) is 256 x 2^120 in FP8, beyond the largest float32" in one_line(exc)
    assert "NaN" not in str(exc.value) and not (tmp_path / "u.safetensors").exists()


def fp8_file(tmp_path: Path, code: int, scale: int) -> Path:
    weight = torch.zeros(1, 32, dtype=torch.uint8)
    weight[0, 0] = code
    tensors = {
        "layers.2.engram.rows": torch.tensor([7]),
        "layers.2.engram.embed.weight": weight.view(torch.float8_e4m3fn),
        "layers.2.engram.embed.scale": torch.full((1, 1), scale, dtype=torch.uint8),
    }
    path = tmp_path / f"x{code}_{scale}.safetensors"
    save_file(tensors, str(path), metadata={"format": V41_FORMAT, "user": "x", "facts": "[]"})
    return path


@pytest.mark.parametrize(
    ("code", "scale", "message"),
    [
        (0x7E, 254, r"row 7 value 0 is 448 x 2\^127 in FP8, beyond the largest float32 .*overflows the format's range"),
        (0x7F, 127, "row 7 holds the FP8 NaN code, not a number"),
        (0x38, 255, "row 7 has UE8M0 scale byte 255, the format's NaN code"),
    ],
)
def test_fp8_rows_read_back_beyond_float32_or_as_nan_codes_are_refused_saying_which(
    tmp_path: Path, code: int, scale: int, message: str
) -> None:
    with pytest.raises(OverlayFileError, match=f"layer 2: {message}") as exc:
        read_overlay(fp8_file(tmp_path, code, scale), V41)
    one_line(exc)
