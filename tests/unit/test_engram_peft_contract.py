"""The engram-peft address contract against engram-peft 1.2.7's own numbers, and its refusals at the door.

Provenance of the goldens: tests/fixtures/engram_peft/PROVENANCE.md. The adapters were written by engram-peft
1.2.7's ``save_pretrained`` and every golden number (compressed map, per-head rows with and without offsets,
offsets, primes, multipliers, the qwen_ple hash-only sequence) was computed by engram-peft itself, outside this
repository, in a scratch environment; only the numbers are committed. engram-peft is never imported here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from engram_probe.contracts import ContractError, load_contract
from engram_probe.contracts.compression import compressed_map, load_tokenizer
from engram_probe.contracts.engram_peft import EngramPeftContract, EngramPeftPleContract, engram_peft_contract
from engram_probe.contracts.multxor import MultXorContract
from tests.cli_run import run_cli

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "engram_peft"
GOLD = load_file(str(FIX / "goldens.safetensors"))
META = json.loads((FIX / "goldens.json").read_text(encoding="utf-8"))
DEEPSEEK = {"llama_engram": "llama", "qwen3_engram": "qwen3", "llama_engram_lora": "llama"}
ROOT = Path(__file__).resolve().parents[2]


def contract(pair: str) -> EngramPeftContract:
    c = engram_peft_contract(FIX / pair, FIX / DEEPSEEK[pair] / "tokenizer.json")
    assert isinstance(c, EngramPeftContract)
    return c


@pytest.mark.parametrize("pair", sorted(DEEPSEEK))
def test_compressed_map_of_the_whole_vocabulary_is_engram_pefts(pair: str) -> None:
    c = contract(pair)
    assert c.compressed_map is not None
    assert np.array_equal(c.compressed_map, GOLD[f"{pair}/compress_lookup"])
    assert c.compressed_vocab == META["pairs"][pair]["compressed_vocab_size"]
    assert c.pad_id == META["pairs"][pair]["pad_id_compressed"]
    for i in range(len(META["texts"])):  # t2 starts with the added token 420, which passes through raw
        ids = GOLD[f"{pair}/t{i}/input_ids"]
        assert np.array_equal(c.compress(ids), GOLD[f"{pair}/t{i}/compressed_ids"])


@pytest.mark.parametrize("pair", sorted(DEEPSEEK))
def test_every_row_of_every_golden_text_layer_and_head_is_engram_pefts(pair: str) -> None:
    c = contract(pair)
    assert list(c.layers) == META["pairs"][pair]["target_layers"]
    for i, text in enumerate(META["texts"]):
        ids = GOLD[f"{pair}/t{i}/input_ids"]
        assert c.encode(text) == ids.tolist()  # the text through the base's tokenizer, no specials added
        for layer in c.layers:
            rows = c.addresses(ids, layer)
            assert np.array_equal(rows, GOLD[f"{pair}/t{i}/rows/L{layer}"]), (pair, i, layer)
            assert np.array_equal(rows - c.offsets(layer), GOLD[f"{pair}/t{i}/local_rows/L{layer}"])


@pytest.mark.parametrize("pair", sorted(DEEPSEEK))
def test_offsets_primes_and_multipliers_are_engram_pefts(pair: str) -> None:
    c, meta = contract(pair), META["pairs"][pair]
    for layer in c.layers:
        assert np.array_equal(c.offsets(layer), GOLD[f"{pair}/offsets/L{layer}"])
        assert c.primes(layer).tolist() == [p for order in meta["primes"][str(layer)] for p in order]
        assert c.multipliers[layer].tolist() == meta["multipliers"][str(layer)]
    assert all(k.ok for k in c.checks())


def test_qwen_ple_hash_only_golden_with_eos_cuts() -> None:
    c = engram_peft_contract(FIX / "qwen3_ple")  # raw ids: no tokenizer needed, so EOS 248044 is addressable
    assert isinstance(c, EngramPeftPleContract) and c.layers == (1,)
    ids = GOLD["qwen3_ple/hash_only/input_ids"]
    assert (ids == 248_044).sum() == 3
    offsets = np.array([col.offset for col in c.columns(1)])
    assert np.array_equal(c.addresses(ids, 1) - offsets, GOLD["qwen3_ple/hash_only/local_rows/L1"])
    assert [col.size for col in c.columns(1)] == [p for o in META["pairs"]["qwen3_ple"]["primes"]["1"] for p in o]


def test_qwen_ple_rows_of_the_golden_texts() -> None:
    c = engram_peft_contract(FIX / "qwen3_ple", FIX / "qwen3")  # a base folder is taken for its tokenizer.json
    for i, text in enumerate(META["texts"]):
        ids = GOLD[f"qwen3_ple/t{i}/input_ids"]
        assert c.encode(text) == ids.tolist()
        assert np.array_equal(c.addresses(ids, 1), GOLD[f"qwen3_ple/t{i}/rows/L1"])


def test_registry_builds_it_and_its_rows_stay_in_their_slices() -> None:
    c = load_contract("engram-peft", FIX / "llama_engram", FIX / "llama")
    assert c.digest() == contract("llama_engram").digest()
    ids = np.arange(421)  # every id of the tokenizer, the added token included
    for layer in c.layers:
        rows = c.addresses(ids, layer)
        for col in c.columns(layer):
            assert ((rows[:, col.column] >= col.offset) & (rows[:, col.column] < col.offset + col.size)).all()
    with pytest.raises(ContractError, match="token id out of range 0..420"):
        c.addresses(np.array([421]), 1)
    with pytest.raises(ContractError, match="no preset"):
        load_contract("engram-peft")


def test_window_is_in_the_canonical_json_and_the_notes_name_each_deviation() -> None:
    c = contract("llama_engram")
    spec = c.to_json()["spec"]
    assert spec["window"] == "prefix" and "c[p-(N-1)+j]" in spec["rule"]
    notes = c.describe()["notes"]
    assert any("excludes the current token" in n for n in notes)
    assert any("// n_head_per_ngram" in n for n in notes)
    assert any("added tokens (1) are excluded" in n for n in notes)
    # the window decides the bigram: with the family's default (suffix) window the same constants read other rows
    kw = dict(layers=[1], orders=[2, 3], heads_per_order=2, base_size=192, compressed_vocab=344, pad_id=2)
    common = dict(row_format=c.row_format, source="test", seed=7, compressed_map=c.compressed_map, **kw)
    prefix = MultXorContract(name="x", version="1", window="prefix", **common)  # type: ignore[arg-type]
    suffix = MultXorContract(name="x", version="1", **common)  # type: ignore[arg-type]
    assert "window" not in suffix.spec() and prefix.digest() != suffix.digest()
    ids = GOLD["llama_engram/t1/input_ids"]
    bigram = prefix.addresses(ids, 1)[:, 0] - prefix.offsets(1)[0]
    assert np.array_equal(bigram, GOLD["llama_engram/t1/local_rows/L1"][:, 0])  # the per-order primes agree here
    assert not np.array_equal(suffix.addresses(ids, 1)[:, 0], prefix.addresses(ids, 1)[:, 0])
    assert prefix.ngram_at(ids, 0, 2) == (-1, -1) and prefix.ngram_at(ids, 5, 2) == tuple(
        int(x) for x in c.compress(ids[3:5][::-1])
    )


def test_partial_utf8_tokens_share_the_key_space_of_texts(tmp_path: Path) -> None:
    """engram-peft keys a lone byte on its raw token string, as a text key: byte 0xA1 ('¡') meets the text '¡'."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(["¡hola! ¡sí! ¡¡¡"] * 20, trainer)
    lone, text = tok.token_to_id("¡"), tok.token_to_id("Â¡")  # byte 0xA1 alone; the two bytes of '¡'
    assert lone is not None and text is not None and "\ufffd" in tok.decode([lone])
    shared = compressed_map(tok, "raw-token-shared", added_tokens=False)
    apart = compressed_map(tok, "raw-token")  # DeepSeek-V4.1's rule keeps them apart
    assert shared[lone] == shared[text] and apart[lone] != apart[text]


# --------------------------------------------------------------------------- refusals
def copied_adapter(tmp_path: Path, pair: str = "llama_engram") -> Path:
    out = tmp_path / pair
    shutil.copytree(FIX / pair, out)
    return out


def edit_config(adapter: Path, **fields: object) -> Path:
    path = adapter / "config.json"
    cfg = json.loads(path.read_text(encoding="utf-8"))
    cfg.update(fields)
    path.write_text(json.dumps(cfg), encoding="utf-8")
    return path


def refusal(adapter: Path, tokenizer: Path | None = FIX / "llama" / "tokenizer.json") -> str:
    with pytest.raises(ContractError) as err:
        engram_peft_contract(adapter, tokenizer)
    msg = str(err.value)
    assert "\n" not in msg and "Traceback" not in msg
    return msg


def test_a_tokenizer_with_another_compressed_size_is_refused(tmp_path: Path) -> None:
    data = json.loads((FIX / "llama" / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = data["model"]["vocab"]
    assert "qq" not in vocab and len(vocab) == 420
    vocab["qq"] = 420  # one extra merged token; the added <|user|> moves up one id
    data["model"]["merges"].append(["q", "q"])
    for added in data["added_tokens"]:
        if added["id"] == 420:
            added["id"] = 421
    tok = tmp_path / "tokenizer.json"
    tok.write_text(json.dumps(data), encoding="utf-8")
    assert len(set(compressed_map(load_tokenizer(tok), "raw-token-shared", added_tokens=False).tolist())) == 345
    msg = refusal(FIX / "llama_engram", tok)
    assert str(tok) in msg and "compresses to 345 ids" in msg
    assert "field compressed_vocab_size is 344" in msg and str(FIX / "llama_engram" / "config.json") in msg


def test_changed_saved_offsets_are_refused_naming_the_layer_and_both_values(tmp_path: Path) -> None:
    adapter = copied_adapter(tmp_path)
    weights = adapter / "engram_adapters.safetensors"
    tensors = load_file(str(weights))
    tensors["2.multi_head_embedding.offsets"] = np.array([0, 199, 411, 583], dtype=np.int64)
    save_file(tensors, str(weights), metadata={"format": "engram-peft"})
    msg = refusal(adapter)
    assert str(weights) in msg and "2.multi_head_embedding.offsets (layer 2)" in msg
    assert "[0, 199, 411, 583]" in msg and "[0, 199, 410, 583]" in msg


def test_a_table_that_does_not_match_the_primes_is_refused(tmp_path: Path) -> None:
    adapter = copied_adapter(tmp_path)
    weights = adapter / "engram_adapters.safetensors"
    tensors = load_file(str(weights))
    tensors["1.multi_head_embedding.embedding.weight"] = tensors["1.multi_head_embedding.embedding.weight"][:-1]
    save_file(tensors, str(weights), metadata={"format": "engram-peft"})
    msg = refusal(adapter)
    assert "1.multi_head_embedding.embedding.weight (layer 1) has shape [719, 4]" in msg and "[720, 4]" in msg


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"target_layers": []}, "field target_layers must be a non-empty list of distinct integers"),
        ({"target_layers": [1, 1]}, "field target_layers must be a non-empty list of distinct integers"),
        ({"ngram_sizes": [3, 2]}, "field ngram_sizes must be in ascending order"),
        ({"ngram_sizes": [2, 9]}, "field ngram_sizes must be a non-empty list of distinct integers from 2 to 8"),
        ({"n_head_per_ngram": 0}, "field n_head_per_ngram must be an integer of at least 1"),
        ({"seed": -1}, "field seed must be an integer from 0"),
        ({"compressed_vocab_size": "344"}, 'field compressed_vocab_size must be an integer of at least 1, got "344"'),
        ({"pad_id": 420}, "field pad_id must be a base-vocabulary id (0..419), got 420"),
        ({"pad_id": None}, "field pad_id must be an integer"),
        ({"model_type": "llama"}, 'field model_type must be one of engram, got "llama"'),
        ({"engine": "mystery"}, "field engine must be one of deepseek, qwen_ple"),
        ({"table_source": "engramdb:store"}, 'field table_source must be "memory"'),
        ({"embedding_dim": 3}, "field embedding_dim must be at least the number of heads (4), got 3"),
        ({"engram_vocab_size_per_ngram": [384]}, "field engram_vocab_size_per_ngram must be one size per n-gram"),
        ({"engram_vocab_size_per_ngram": [384, 3]}, "must be sizes of at least 2 × n_head_per_ngram (4)"),
        ({"enable_tokenizer_compression": False}, "field enable_tokenizer_compression must be true"),
        ({"table_spec": "OTHER"}, "field table_spec must be one of PLE_QWEN_V1"),
    ],
)
def test_bad_config_fields_are_refused_in_one_line_naming_file_and_field(
    tmp_path: Path, fields: dict[str, object], named: str
) -> None:
    config = edit_config(copied_adapter(tmp_path), **fields)
    msg = refusal(config)  # the config.json itself is accepted as --config
    assert msg.startswith(f"{config}: ") and named in msg


def test_config_edits_the_saved_tables_contradict_are_refused(tmp_path: Path) -> None:
    adapter = copied_adapter(tmp_path)
    edit_config(adapter, engram_vocab_size_per_ngram=[500, 320])  # engram-peft only warns and leaves random tables
    assert "1.multi_head_embedding.offsets (layer 1) is [0, 193, 390, 553]" in refusal(adapter)
    edit_config(adapter, engram_vocab_size_per_ngram=[384, 320], target_layers=[1, 2, 5])
    assert "holds tables for layers [1, 2], but" in refusal(adapter)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"target_layers": [1, 2]}, "field target_layers must be exactly one layer for the qwen_ple engine"),
        ({"n_head_per_ngram": 4}, "field n_head_per_ngram must be 8 for the qwen_ple engine"),
        ({"prime_sizes": [101, 103]}, "field prime_sizes must be a list of 16 head sizes"),
    ],
)
def test_qwen_ple_config_refusals(tmp_path: Path, fields: dict[str, object], named: str) -> None:
    config = edit_config(copied_adapter(tmp_path, "qwen3_ple"), **fields)
    assert named in refusal(config, None)


def test_missing_weights_a_pickle_and_a_missing_tokenizer_are_refused(tmp_path: Path) -> None:
    adapter = copied_adapter(tmp_path)
    assert "needs --tokenizer" in refusal(adapter, None)
    (adapter / "engram_adapters.safetensors").rename(adapter / "engram_weights.pt")
    assert "engram_weights.pt: a pickle" in refusal(adapter)
    (adapter / "engram_weights.pt").unlink()
    assert "no engram_adapters.safetensors beside" in refusal(adapter)
    (adapter / "engram_adapters.safetensors").write_bytes(b"not a safetensors file")
    assert "not a readable safetensors file" in refusal(adapter)


def test_a_tokenizer_with_clean_up_spaces_is_refused(tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    shutil.copy(FIX / "llama" / "tokenizer.json", base / "tokenizer.json")
    (base / "tokenizer_config.json").write_text('{"clean_up_tokenization_spaces": true}', encoding="utf-8")
    assert "field clean_up_tokenization_spaces must be false" in refusal(FIX / "llama_engram", base)


# --------------------------------------------------------------------------- the CLI, end to end
def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args)


def v41_file(overlay: object, path: Path, c: EngramPeftContract) -> Path:
    """The overlay as a V4.1 row-override file (float32 rows), through the overlay registry's own writer."""
    from engram_probe.overlays.registry import get_format
    from engram_probe.overlays.rowset import V41_FORMAT

    write = get_format(V41_FORMAT).write
    assert write is not None
    return write(overlay, path, c)  # type: ignore[arg-type]


def test_cli_show_and_readmap_on_the_fixture(tmp_path: Path) -> None:
    from engram_probe.hashaudit.synthetic import overlay_for_facts
    from engram_probe.overlays import FactTrigger

    c = contract("llama_engram")
    trigger = c.encode(" the menu")
    overlay = overlay_for_facts(c, "ada", [FactTrigger("ada", "menu", tuple(trigger), (2,))], [2])
    path = v41_file(overlay, tmp_path / "ada.safetensors", c)
    files = ["--contract", "engram-peft", "--config", str(FIX / "llama_engram" / "config.json")]
    files += ["--tokenizer", str(FIX / "llama" / "tokenizer.json")]
    shown = cli("contract", "show", *files, "--json")
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    assert doc["sha256"] == c.digest() and any("excludes the current token" in n for n in doc["notes"])
    out = cli("contract", "readmap", *files, "--overlay", str(path), "--text", "<|user|> the menu", "--json")
    assert out.returncode == 0, out.stderr
    hits = json.loads(out.stdout)["result"]["read_maps"][0]["hits"]
    ids = c.encode("<|user|> the menu")
    assert ids[1:] == trigger
    # the fact's rows are those read at its trigger's last position; here the same n-grams end the text
    assert {(h["position"], h["layer"]) for h in hits} >= {(len(ids) - 1, 2)}
    last = {h["row"] for h in hits if h["position"] == len(ids) - 1}
    assert last == set(c.addresses(np.array(ids), 2)[-1].tolist())
    bad = cli("contract", "show", "--contract", "engram-peft", "--config", str(FIX / "llama_engram" / "config.json"))
    assert bad.returncode != 0 and "needs --tokenizer" in bad.stderr and "Traceback" not in bad.stderr


def test_census_on_the_cli_and_a_scan_find_the_rows_the_contract_reads(tmp_path: Path) -> None:
    from engram_probe.hashaudit.synthetic import overlay_for_facts
    from engram_probe.overlays import FactTrigger
    from engram_probe.scale.scan import scan_shards

    c = contract("qwen3_engram")
    trigger = tuple(c.encode(" a table"))
    overlay = overlay_for_facts(c, "bo", [FactTrigger("bo", "table", trigger, (1,))], [1])
    corpus = [c.encode(t) for t in META["texts"]] + [[420, *trigger]]  # the added token passes through raw
    (tmp_path / "ids.jsonl").write_text("".join(json.dumps(s) + "\n" for s in corpus), encoding="utf-8")
    edited = set(overlay.layers[1][0].tolist())
    expected = sum(bool(edited & set(r)) for s in corpus for r in c.addresses(np.array(s), 1).tolist())
    out = scan_shards(c, [overlay], [tmp_path / "ids.jsonl"])
    assert out["positions_hit"] == expected and expected >= 1
    path = v41_file(overlay, tmp_path / "bo.safetensors", c)
    files = ["--config", str(FIX / "qwen3_engram" / "config.json")]
    files += ["--tokenizer", str(FIX / "qwen3" / "tokenizer.json")]
    run = cli("contract", "census", "--contract", "engram-peft", *files, "--overlay", str(path), "--json")
    assert run.returncode == 0, run.stderr
    census = json.loads(run.stdout)["result"]
    assert census["summary"]["rows_written"] == len(edited) == c.n_columns(1)


def test_the_cli_takes_the_adapter_and_base_folders_and_digests_each_folders_files(tmp_path: Path) -> None:
    import shutil

    adapter, base = tmp_path / "adapter", tmp_path / "base"
    shutil.copytree(FIX / "llama_engram", adapter)
    shutil.copytree(FIX / "llama", base)
    files = ["--contract", "engram-peft", "--config", str(adapter), "--tokenizer", str(base)]
    shown = cli("contract", "show", *files)
    assert shown.returncode == 0, shown.stderr
    assert "note: " in shown.stdout and "excludes the current token" in shown.stdout  # the deviations, in text too
    report = tmp_path / "census.json"
    run = cli("contract", "rows", *files, "--text", "the menu", "--report", str(report))
    assert run.returncode == 0, run.stderr
    first = json.loads(report.read_text(encoding="utf-8"))["input_sha256"]["config"]
    (adapter / "README.md").write_text("a note beside the adapter\n")  # any file of the folder is part of its digest
    assert cli("contract", "rows", *files, "--text", "the menu", "--report", str(report)).returncode == 0
    assert json.loads(report.read_text(encoding="utf-8"))["input_sha256"]["config"] != first
