"""Contract behaviour beyond the goldens: refusals that name the field, digests, and the shipped model's addresses."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from engram_probe.contracts import CONTRACT_NAMES, ContractError, load_contract
from engram_probe.contracts.primes import is_prime, next_primes

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "contracts"
V41 = FIX / "v41_tiny"


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def v41_cfg() -> dict:
    return json.loads((V41 / "config.json").read_text())


def test_primes_are_exact() -> None:
    brute = [n for n in range(2, 3000) if all(n % d for d in range(2, int(n**0.5) + 1))]
    assert [n for n in range(3000) if is_prime(n)] == brute
    assert next_primes(16_000_000 - 1, 3) == [16000057, 16000079, 16000081]
    assert not is_prime(16000057 * 16000079)


def test_v41_compressed_map_size_must_match_the_config(tmp_path: Path) -> None:
    cfg = v41_cfg()
    cfg["text_config"]["engram_compressed_vocab_size"] = 10
    with pytest.raises(ContractError, match="engram_compressed_vocab_size is 10"):
        load_contract("deepseek-v4.1", write_json(tmp_path / "c.json", cfg), V41 / "tokenizer.json")


def test_v41_prime_sums_must_match_num_embeddings(tmp_path: Path) -> None:
    cfg = v41_cfg()
    cfg["text_config"]["engram_num_embeddings"] = [462, 631]
    with pytest.raises(ContractError, match="engram_num_embeddings for layer 2 is 631.*sum to 630"):
        load_contract("deepseek-v4.1", write_json(tmp_path / "c.json", cfg))
    cfg["text_config"]["engram_num_embeddings"] = [462, 630]
    assert load_contract("deepseek-v4.1", write_json(tmp_path / "c.json", cfg)).table_rows(2) == 630


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("engram_layer_ids", "1,2", "engram_layer_ids must be a non-empty list"),
        ("engram_max_ngram_size", 1.5, "engram_max_ngram_size must be an integer"),
        ("engram_vocab_size", None, "lacks the field engram_vocab_size"),
    ],
)
def test_bad_v41_fields_are_named(tmp_path: Path, field: str, value: object, message: str) -> None:
    cfg = v41_cfg()
    if value is None:
        del cfg["text_config"][field]
    else:
        cfg["text_config"][field] = value
    with pytest.raises(ContractError, match=message):
        load_contract("deepseek-v4.1", write_json(tmp_path / "c.json", cfg))


def test_qwen_offsets_that_are_not_the_running_sum_are_refused(tmp_path: Path) -> None:
    meta = json.loads((FIX / "qwen_ple" / "metadata.json").read_text())
    meta["qwen4exp.ple.head_offsets"][3] += 1
    with pytest.raises(ContractError, match=r"head_offsets\[3\]"):
        load_contract("qwen3.8-ple", write_json(tmp_path / "m.json", meta))


def test_qwen_from_a_real_gguf_file(tmp_path: Path) -> None:
    from gguf import GGUFValueType, GGUFWriter

    meta = json.loads((FIX / "qwen_ple" / "metadata.json").read_text())
    path = tmp_path / "tiny.gguf"
    w = GGUFWriter(str(path), "qwen4exp")
    for key, value in meta.items():
        if key == "general.architecture":
            continue
        if isinstance(value, list):
            w.add_key_value(key, value, GGUFValueType.ARRAY, GGUFValueType.UINT64)
        else:
            w.add_key_value(key, value, GGUFValueType.UINT32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    from_gguf = load_contract("qwen3.8-ple", path)
    assert from_gguf.spec() | {"padded_rows": 0} == load_contract("qwen3.8-ple").spec() | {"padded_rows": 0}
    (tmp_path / "broken.gguf").write_bytes(path.read_bytes()[:40])
    with pytest.raises(ContractError, match="not a readable GGUF"):
        load_contract("qwen3.8-ple", tmp_path / "broken.gguf")


def test_paper_contract_needs_a_tokenizer_and_refuses_pickles(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="needs --tokenizer"):
        load_contract("user-as-engram", FIX / "paper_tiny" / "config.json")
    pkl = tmp_path / "tokenizer.pkl"
    pkl.write_bytes(b"\x80\x04.")
    with pytest.raises(ContractError, match="pickle"):
        load_contract("user-as-engram", FIX / "paper_tiny" / "config.json", pkl)


def test_v41_without_tokenizer_cannot_address_text() -> None:
    c = load_contract("deepseek-v4.1")
    with pytest.raises(ContractError, match="--tokenizer"):
        c.encode("hello")


def test_ids_out_of_range_are_refused() -> None:
    c = load_contract("deepseek-v4.1", V41 / "config.json", V41 / "tokenizer.json")
    with pytest.raises(ContractError, match="out of range"):
        c.addresses(np.array([0, 9]), 1)
    with pytest.raises(ContractError, match="out of range"):
        load_contract(
            "user-as-engram", FIX / "paper_tiny" / "config.json", FIX / "paper_tiny" / "tokenizer.json"
        ).addresses(np.array([-1, 0]), 1)


def test_digest_is_canonical_and_changes_with_any_constant(tmp_path: Path) -> None:
    a = load_contract("deepseek-v4.1", V41 / "config.json")
    assert a.digest() == load_contract("deepseek-v4.1", V41 / "config.json").digest()
    assert (
        a.digest()
        == hashlib.sha256(
            json.dumps(a.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        ).hexdigest()
    )
    cfg = v41_cfg()
    cfg["text_config"]["engram_vocab_size"] = 65
    assert load_contract("deepseek-v4.1", write_json(tmp_path / "c.json", cfg)).digest() != a.digest()
    assert (
        len(
            {
                load_contract(n, *args).digest()
                for n, args in [("deepseek-v4.1", ()), ("qwen3.8-ple", ()), ("workbench", ())]
            }
        )
        == 3
    )


def test_every_contract_name_builds() -> None:
    built = {
        "workbench": load_contract("workbench"),
        "user-as-engram": load_contract(
            "user-as-engram", FIX / "paper_tiny" / "config.json", FIX / "paper_tiny" / "tokenizer.json"
        ),
        "deepseek-v4.1": load_contract("deepseek-v4.1"),
        "qwen3.8-ple": load_contract("qwen3.8-ple"),
        "engram-peft": load_contract(
            "engram-peft", FIX.parent / "engram_peft" / "llama_engram", FIX.parent / "engram_peft" / "llama"
        ),
    }
    assert set(built) == set(CONTRACT_NAMES)
    for c in built.values():
        assert all(k.ok for k in c.checks())
        for layer in c.layers:
            rows = c.addresses(np.array([1, 2, 3, 4, 5]), layer)
            assert rows.shape == (5, c.n_columns(layer))
            assert ((rows >= 0) & (rows < c.table_rows(layer))).all()
            for col in c.columns(layer):  # each column stays inside its own slice
                assert ((rows[:, col.column] >= col.offset) & (rows[:, col.column] < col.offset + col.size)).all()


def test_shipped_model_addresses_are_unchanged(shipped: object) -> None:
    """Addresses of the workbench contract, pinned before the contract refactor.

    The pin is at the previous default model's hashing config (4,001-row heads; its tokenizer is the one
    shipped now, retrained byte-identically from the same corpus and seed); the shipped model's contract
    must equal the one rebuilt from its files.
    """
    from engram_probe.contracts.workbench import NgramHasher
    from engram_probe.contracts.workbench_config import EngramConfig

    canonical = shipped.model.hasher.canonical_map  # type: ignore[attr-defined]
    tok = np.random.default_rng(11).integers(0, shipped.cfg.d_vocab, size=(4, 300))  # type: ignore[attr-defined]
    old_cfg = EngramConfig(d_vocab=shipped.cfg.d_vocab, table_size_per_head=4001)  # type: ignore[attr-defined]
    old = NgramHasher(old_cfg, canonical)
    got = hashlib.sha256(b"".join(old.addresses(tok, L).tobytes() for L in (1, 4))).hexdigest()
    assert got == "e50a844c157f1ebc517e37283ebf87a9db112911c0fec74f72b4dae73458ee34"
    assert old.address_digest() == "fab452f12666faaca9163450275577d1e0cfd6856386e5623ee8e75bbf739fa9"
    h = shipped.model.hasher  # type: ignore[attr-defined]
    from_files = load_contract("workbench")
    assert from_files.digest() == h.digest()
    assert np.array_equal(from_files.addresses(tok, 4), h.addresses(tok, 4))
