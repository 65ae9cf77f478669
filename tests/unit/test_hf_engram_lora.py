"""An engram-peft adapter folder that also holds a PEFT LoRA, the layered evaluation with it, and the pickle paths.

Goldens: tests/fixtures/engram_peft/goldens.safetensors and goldens.json, computed by engram-peft 1.2.7's own
forward (transformers 5.24.0, peft 0.21.2, torch 2.13.0+cpu, 1 thread, float32; see
tests/fixtures/engram_peft/PROVENANCE.md). For ``llama_engram_lora`` the stored logits are base + LoRA +
Engram (PEFT's LoRA, then engram-peft's layers); base + LoRA alone is not stored, only its maximum
difference from the base (``max_abs_logit_diff_lora_vs_base``), so the LoRA on the bare base is compared
with PEFT's own ``PeftModel.from_pretrained``, the reference implementation of a PEFT LoRA.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from peft import LoraConfig, PeftModel, inject_adapter_in_model
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM

from engram_probe.arch.hf_engram_load import load_hf_engram
from engram_probe.arch.hf_engram_lora import base_pattern, read_folder_lora
from engram_probe.arch.loaded import ModelFileError
from engram_probe.arch.loading import open_model
from engram_probe.arch.workbench_checkpoint import weights_digest
from engram_probe.audit.lora import LoraSettings
from engram_probe.cli.framework import CliError
from engram_probe.cli.layered import _adapter
from engram_probe.data.synthetic_users import generate_users
from engram_probe.layered.adapter import AdapterError, folder_adapter
from engram_probe.layered.evaluate import LayeredSettings, evaluate_layered
from engram_probe.layered.markdown import render_layered_markdown
from engram_probe.memory.writing import WriteSettings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "engram_peft"
GOLDENS = load_file(str(FIXTURES / "goldens.safetensors"))
PAIR = json.loads((FIXTURES / "goldens.json").read_text())["pairs"]["llama_engram_lora"]
BASE, FOLDER = FIXTURES / "llama", FIXTURES / "llama_engram_lora"
LOGIT_TOL = 1e-4  # measured on one thread: 2.1e-6 at most (t1), 0.0 on t2


def golden(text: int, name: str) -> torch.Tensor:
    return GOLDENS[f"llama_engram_lora/t{text}/{name}"]


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Any:
    """The goldens were computed on one thread; matmul blocking, and so rounding, depends on the thread count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def lm() -> Any:
    return open_model(BASE, engram=FOLDER)


def bare_base(path: Path = BASE) -> Any:
    return AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32, local_files_only=True).eval()


# ---------------------------------------------------------------------- the folder's LoRA as the shared adapter


@torch.no_grad()
def test_the_audited_model_is_base_plus_engram_and_the_folder_lora_stacked_on_it_gives_engram_peft_s_logits(
    lm: Any,
) -> None:
    adapter = folder_adapter(lm)
    assert adapter is not None
    before = weights_digest(lm.model)
    stacked = adapter.attach(lm.model)
    assert weights_digest(lm.model) == before  # the shared adapter lives on a private copy
    for text in range(3):
        ids = golden(text, "input_ids")[None]
        for layer in lm.cfg.engram_layers:
            assert torch.equal(lm.model.engram_addresses(ids)[layer][0], golden(text, f"rows/L{layer}"))
        want = golden(text, "logits_adapter")  # engram-peft: base + LoRA + Engram
        assert (stacked(ids)[0] - want).abs().max() <= LOGIT_TOL
        # the model every audit runs has no LoRA: it differs from the stacked one as much as the LoRA matters
        assert (lm.model(ids)[0] - want).abs().max() > 1.0


@torch.no_grad()
def test_the_lora_read_is_peft_s_own_load_of_the_folder(lm: Any) -> None:
    """Weight by weight and logit by logit against ``PeftModel.from_pretrained`` on the bare base."""
    lora = read_folder_lora(FOLDER, lm.model.hf)
    assert lora is not None and (lora.rank, lora.alpha, lora.saved_targets) == (4, 8, ["q_proj", "v_proj"])
    reference = PeftModel.from_pretrained(bare_base(), str(FOLDER), local_files_only=True).eval()
    theirs = {n: p for n, p in reference.named_parameters() if "lora_" in n}
    assert {n.removeprefix("base_model.model.") for n in theirs} == {n.removeprefix("hf.") for n in lora.state}
    for name, p in theirs.items():
        assert torch.equal(lora.state["hf." + name.removeprefix("base_model.model.")], p)
    # our reading of target_modules and of the weights, injected by PEFT into another copy of the bare base
    ours = bare_base()
    inject_adapter_in_model(LoraConfig(r=4, lora_alpha=8, target_modules=base_pattern(lora.saved_targets)), ours)
    ours.load_state_dict({n.removeprefix("hf."): t for n, t in lora.state.items()}, strict=False)
    plain = bare_base()
    for text in range(3):
        ids = golden(text, "input_ids")[None]
        got, ref = ours(input_ids=ids).logits[0], reference(input_ids=ids).logits[0]
        assert torch.equal(got, ref)
        # engram-peft's run recorded how far the LoRA moves the base's logits
        moved = float((ref - plain(input_ids=ids).logits[0]).abs().max())
        assert abs(moved - PAIR["max_abs_logit_diff_lora_vs_base"][text]) <= LOGIT_TOL


def test_the_load_records_the_lora_and_a_folder_without_one_has_no_shared_adapter(lm: Any) -> None:
    recorded = lm.training["imported_from"]["lora"]
    adapter = folder_adapter(lm)
    assert adapter is not None and recorded["sha256"] == adapter.digest and recorded["params"] == adapter.params == 2688
    assert adapter.provenance["base_model_sha256"] == lm.weights_sha256 and adapter.settings.steps == 0
    plain = open_model(BASE, engram=FIXTURES / "llama_engram")
    assert "lora" not in plain.training["imported_from"] and folder_adapter(plain) is None
    assert _adapter(None, lm)[0].digest == adapter.digest  # layered evaluate/verify without --adapter
    with pytest.raises(CliError, match=r"give the shared adapter with --adapter FILE"):
        _adapter(None, plain)


def test_a_lora_changed_after_the_load_is_refused_by_the_layered_evaluation(tmp_path: Path) -> None:
    base, folder = copy_pair(tmp_path)
    loaded = load_hf_engram(base, folder)
    edit_lora(folder, lambda t: t[next(iter(sorted(t)))].mul_(2))
    with pytest.raises(AdapterError, match="changed after the model was loaded"):
        folder_adapter(loaded)


def test_the_layered_evaluation_uses_the_folder_lora_as_condition_e_and_f(lm: Any) -> None:
    adapter = folder_adapter(lm)
    assert adapter is not None
    fast = LayeredSettings(
        indirect_per_user=1,
        heldout_docs=1,
        bootstrap=10,
        write=WriteSettings(joint_steps=4, opt_max_steps=0),
        lora=LoraSettings(rank=2, alpha=4, max_steps=3, min_steps=2, check_every=3),
    )
    users = [dict(u, facts=u["facts"][:1]) for u in generate_users(1, seed=30, prefix="l")]
    doc = evaluate_layered(lm, adapter, users, fast, adapter_path=str(FOLDER))
    conditions = doc["users"][0]["conditions"]
    assert {conditions[c]["adapter_sha256"] for c in ("E", "F", "F-zero")} == {adapter.digest}
    assert conditions["A"]["adapter_sha256"] is None and all(doc["invariants"].values())
    assert doc["adapter"]["source"] == "the engram-peft adapter folder's own PEFT LoRA"
    page = render_layered_markdown(doc, "engram-probe layered evaluate", "")
    assert "trained outside the workbench" in page and "--model BASE --engram ADAPTER_DIR" in page


# ---------------------------------------------------------------------- refusals of the LoRA


def copy_pair(tmp: Path) -> tuple[Path, Path]:
    shutil.copytree(BASE, tmp / "base")
    shutil.copytree(FOLDER, tmp / "adapter")
    return tmp / "base", tmp / "adapter"


def edit_lora_config(folder: Path, **fields: Any) -> None:
    data = json.loads((folder / "adapter_config.json").read_text())
    data.update(fields)
    (folder / "adapter_config.json").write_text(json.dumps(data))


def edit_lora(folder: Path, change: Any) -> None:
    tensors = load_file(str(folder / "adapter_model.safetensors"))
    change(tensors)
    save_file(tensors, str(folder / "adapter_model.safetensors"), metadata={"format": "pt"})


def refused(base: Path, folder: Path, match: str, trust_pickle: bool = False) -> str:
    with pytest.raises(ModelFileError, match=match) as err:
        load_hf_engram(base, folder, trust_pickle)
    assert "\n" not in str(err.value)
    return str(err.value)


A_KEY = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"use_dora": True}, r"adapter_config.json: field use_dora is true; the workbench reads a plain LoRA only"),
        ({"rank_pattern": {"q_proj": 8}}, r"field rank_pattern is \{\"q_proj\": 8\}"),
        ({"modules_to_save": ["lm_head"]}, r"field modules_to_save is \[\"lm_head\"\]"),
        ({"peft_type": "IA3"}, r"adapter_config.json: field peft_type must be one of LORA, got \"IA3\""),
        ({"r": 0}, r"adapter_config.json: field r must be an integer of at least 1, got 0"),
        ({"target_modules": "all-linear"}, r"field target_modules must name the modules .* got \"all-linear\""),
        ({"target_modules": ["k_norm_nowhere"]}, r"field target_modules \[\"k_norm_nowhere\"\] matches no module"),
        ({"target_modules": ["mlp"]}, r"matches model.layers.0.mlp, which is not a linear layer"),
        ({"r": 8}, rf"{A_KEY} has shape \[4, 64\], adapter_config.json needs \[8, 64\]"),
        ({"target_modules": ["q_proj", "v_proj", "k_proj"]}, r"missing keys \['base_model.model.model.layers.0.self"),
    ],
)
def test_refuses_a_lora_config_it_cannot_read_as_engram_peft_saved_it(
    tmp_path: Path, change: dict[str, Any], match: str
) -> None:
    base, folder = copy_pair(tmp_path)
    edit_lora_config(folder, **change)
    refused(base, folder, match)


def test_refuses_missing_unexpected_damaged_or_absent_lora_weights(tmp_path: Path) -> None:
    base, folder = copy_pair(tmp_path)
    edit_lora(folder, lambda t: t.update({"base_model.model.lm_head.lora_A.weight": torch.zeros(4, 64)}))
    refused(base, folder, r"unexpected keys \['base_model.model.lm_head.lora_A.weight'\]")
    edit_lora(folder, lambda t: [t.pop("base_model.model.lm_head.lora_A.weight"), t[A_KEY].fill_(float("nan"))])
    refused(base, folder, rf"adapter_model.safetensors: tensor {A_KEY} holds NaN or infinite values")
    data = (FOLDER / "adapter_model.safetensors").read_bytes()
    (folder / "adapter_model.safetensors").write_bytes(data[: len(data) // 2])
    refused(base, folder, "adapter_model.safetensors: not a readable safetensors file, truncated or corrupt")
    (folder / "adapter_model.safetensors").unlink()
    refused(base, folder, "adapter_config.json names a PEFT LoRA, but .* has no adapter_model.safetensors")


# ---------------------------------------------------------------------- pickles: refused unless trusted, then tensors


def pickle_lora(folder: Path, extra: dict[str, Any] | None = None) -> None:
    tensors: dict[str, Any] = load_file(str(folder / "adapter_model.safetensors"))
    (folder / "adapter_model.safetensors").unlink()
    torch.save({**tensors, **(extra or {})}, folder / "adapter_model.bin")


def test_a_pickled_lora_is_read_only_when_trusted_and_only_as_tensors(tmp_path: Path, lm: Any) -> None:
    base, folder = copy_pair(tmp_path)
    pickle_lora(folder)
    refused(base, folder, r"adapter_model.bin: the LoRA's weights are a pickle, and loading a pickle can run code")
    trusted = load_hf_engram(base, folder, trust_pickle=True)
    adapter = folder_adapter(trusted)
    assert adapter is not None and adapter.digest == lm.training["imported_from"]["lora"]["sha256"]
    pickle_lora(copy_pair(tmp_path / "evil")[1], {"payload": argparse.Namespace(run="code")})
    refused(tmp_path / "evil/base", tmp_path / "evil/adapter", "holds more than tensors", trust_pickle=True)


def pickle_engram(folder: Path, extra: dict[str, Any] | None = None) -> None:
    tensors: dict[str, Any] = load_file(str(folder / "engram_adapters.safetensors"))
    (folder / "engram_adapters.safetensors").unlink()
    torch.save({**tensors, **(extra or {})}, folder / "engram_weights.pt")


def test_a_pickled_engram_adapter_is_refused_untrusted_and_holds_only_tensors_when_trusted(tmp_path: Path) -> None:
    base, folder = copy_pair(tmp_path)
    pickle_engram(folder)
    refused(base, folder, "engram_weights.pt: the adapter is a pickle")
    pickle_engram(copy_pair(tmp_path / "evil")[1], {"payload": argparse.Namespace(run="code")})
    refused(tmp_path / "evil/base", tmp_path / "evil/adapter", "engram_weights.pt holds more than tensors", True)
    pickle_engram(copy_pair(tmp_path / "note")[1], {"note": "a string"})  # weights_only allows it; still refused
    refused(tmp_path / "note/base", tmp_path / "note/adapter", "engram_weights.pt is not a state dict of tensors", True)


def test_a_trusted_pickled_engram_adapter_loads_the_same_model(tmp_path: Path, lm: Any) -> None:
    base, folder = copy_pair(tmp_path)
    pickle_engram(folder)
    assert load_hf_engram(base, folder, trust_pickle=True).weights_sha256 == lm.weights_sha256


def test_a_base_with_only_bin_pickles_is_read_only_when_trusted_and_only_as_tensors(tmp_path: Path, lm: Any) -> None:
    """The ``.bin`` is written as transformers' ``save_pretrained(safe_serialization=False)`` wrote it (a
    ``torch.save`` of the state dict): transformers 5 no longer writes ``.bin`` files, but reads them."""
    base, folder = copy_pair(tmp_path)
    state = dict(bare_base().state_dict())
    (base / "model.safetensors").unlink()
    torch.save(state, base / "pytorch_model.bin")
    refused(base, folder, r"only as \.bin pickles .* pass --trust-pickle if you trust them")
    trusted = load_hf_engram(base, folder, trust_pickle=True)
    assert trusted.weights_sha256 == lm.weights_sha256
    ids = golden(1, "input_ids")[None]
    assert torch.equal(trusted.model(ids), lm.model(ids))
    torch.save({**state, "payload": argparse.Namespace(run="code")}, base / "pytorch_model.bin")
    refused(base, folder, "pytorch_model.bin holds more than tensors", trust_pickle=True)


def test_a_sharded_bin_base_has_every_shard_checked(tmp_path: Path, lm: Any) -> None:
    base, folder = copy_pair(tmp_path)
    state = dict(bare_base().state_dict())
    (base / "model.safetensors").unlink()
    names = sorted(state)
    shards = {"pytorch_model-00001-of-00002.bin": names[:10], "pytorch_model-00002-of-00002.bin": names[10:]}
    for shard, keys in shards.items():
        torch.save({k: state[k] for k in keys}, base / shard)
    weight_map = {k: shard for shard, keys in shards.items() for k in keys}
    (base / "pytorch_model.bin.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    assert load_hf_engram(base, folder, trust_pickle=True).weights_sha256 == lm.weights_sha256
    second = base / "pytorch_model-00002-of-00002.bin"
    torch.save({**torch.load(second, weights_only=True), "payload": argparse.Namespace()}, second)
    refused(base, folder, "pytorch_model-00002-of-00002.bin holds more than tensors", trust_pickle=True)
    second.unlink()
    refused(base, folder, "the weights file pytorch_model-00002-of-00002.bin is missing", trust_pickle=True)
