"""Load a Hugging Face base folder plus an engram-peft adapter folder: ``load_model(BASE_DIR, engram=ADAPTER_DIR)``.

Everything is checked before a model is built, and each refusal is one line naming the file and the
field: the adapter's config and its tensors (every key engram-peft writes, no other, each shape; the
tables must match the contract's primes), the base's weights (safetensors, or ``.bin`` pickles only with
``trust_pickle``, then read tensors-only), the two against each other, and a PEFT LoRA saved in the adapter
folder (``hf_engram_lora``: kept out of the loaded model, it is the layered evaluation's shared adapter).
engram-peft itself is never imported; the base is read by ``transformers`` from the local folder only, in float32.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from engram_probe.arch.hf_engram import LAYER_PARTS, STACK_PARTS, HFEngramModel, resolve
from engram_probe.arch.hf_engram_config import CONFIG, HFEngramConfig, base_architecture, read_config, read_json
from engram_probe.arch.hf_engram_lora import read_folder_lora
from engram_probe.arch.hf_engram_tokenizer import HFTokenizer
from engram_probe.arch.loaded import ArchitectureLoader, LoadedModel, LoadOptions, ModelFileError
from engram_probe.arch.weights import first_non_finite
from engram_probe.contracts.base import ContractError
from engram_probe.safetensors_io import UnreadableSafetensors, read_all, read_metadata

ADAPTER_WEIGHTS, ADAPTER_PICKLE = "engram_adapters.safetensors", "engram_weights.pt"
BASE_WEIGHTS, BASE_INDEX = "model.safetensors", "model.safetensors.index.json"
BASE_PICKLES = ("pytorch_model.bin", "pytorch_model.bin.index.json")
TOKENIZER = "tokenizer.json"
TESTED_BASES = ("LlamaForCausalLM", "Qwen3ForCausalLM")


def is_hf_base_dir(path: Path) -> bool:
    """A Hugging Face model folder: a ``config.json`` that names ``architectures``, with weights beside it."""
    cfg = path / CONFIG
    if not cfg.is_file() or not any((path / f).is_file() for f in (BASE_WEIGHTS, BASE_INDEX, *BASE_PICKLES)):
        return False
    try:
        return "architectures" in json.loads(cfg.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, TypeError):
        return False


def adapter_keys(cfg: HFEngramConfig) -> dict[str, tuple[int, ...] | None]:
    """Every key engram-peft's ``save_pretrained`` writes, with its shape (None: the table, checked on its own)."""
    h, m, heads = cfg.d_model, cfg.hc_mult, cfg.n_engram_heads
    keys: dict[str, tuple[int, ...] | None] = {}
    for layer in cfg.engram_layers:
        p = f"{layer}."
        keys[p + "multi_head_embedding.offsets"] = (heads,)
        keys[p + "multi_head_embedding.embedding.weight"] = None
        keys[p + "gating.w_v.weight"] = (h, cfg.engram_hidden)
        keys[p + "short_conv.conv.weight"] = (m * h, 1, cfg.conv_kernel)
        for b in range(m):
            keys[f"{p}gating.w_k.{b}.weight"] = (h, cfg.engram_hidden)
            for norm in (f"gating.norm_h.{b}", f"gating.norm_k.{b}", f"short_conv.norms.{b}"):
                keys[f"{p}{norm}.weight"] = (h,)
    return keys


def read_adapter_tensors(adapter_dir: Path, trust_pickle: bool) -> tuple[Path, dict[str, Tensor]]:
    """The adapter file's tensors: safetensors (metadata ``format: engram-peft``), or the legacy pickle if trusted."""
    path = adapter_dir / ADAPTER_WEIGHTS
    if not path.is_file():
        pickled = adapter_dir / ADAPTER_PICKLE
        if pickled.is_file() and not trust_pickle:
            raise ModelFileError(
                f"{pickled}: the adapter is a pickle, and loading a pickle can run code; save it with "
                f"safe_serialization=True ({ADAPTER_WEIGHTS}), or pass --trust-pickle if you trust this file"
            )
        if not pickled.is_file():
            raise ModelFileError(f"no {ADAPTER_WEIGHTS} in {adapter_dir}: not an engram-peft adapter folder")
        from engram_probe.arch.nanochat_import import read_state

        return pickled, read_state(pickled)  # torch.load(weights_only=True): tensors only
    try:
        meta, tensors = read_all(path)
    except UnreadableSafetensors as exc:
        raise ModelFileError(f"{path}: not a readable safetensors file, truncated or corrupt ({exc})") from exc
    if meta.get("format") != "engram-peft":
        raise ModelFileError(f"{path}: metadata field format must be engram-peft, got {json.dumps(meta.get('format'))}")
    return path, tensors


def check_adapter_keys(path: Path, tensors: dict[str, Tensor], cfg: HFEngramConfig) -> None:
    """Keys, shapes (but the tables'), dtypes and values of the adapter tensors against the config."""
    expected = adapter_keys(cfg)
    missing, unexpected = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise ModelFileError(
            f"{path.name} does not fit {CONFIG} (target_layers {list(cfg.engram_layers)}, hc_mult {cfg.hc_mult}): "
            f"missing keys {missing[:4]}{' …' if len(missing) > 4 else ''}, "
            f"unexpected keys {unexpected[:4]}{' …' if len(unexpected) > 4 else ''}"
        )
    for key, shape in expected.items():
        if shape is not None and tuple(tensors[key].shape) != shape:
            raise ModelFileError(
                f"{path.name}: {key} has shape {list(tensors[key].shape)}, {CONFIG} needs {list(shape)}"
            )
        want = torch.int64 if key.endswith("offsets") else torch.float32
        if tensors[key].dtype != want:
            raise ModelFileError(f"{path.name}: {key} is {tensors[key].dtype}, engram-peft writes {want}")
    bad = first_non_finite(tensors)
    if bad is not None:
        raise ModelFileError(f"{path.name}: tensor {bad} holds NaN or infinite values; the adapter is damaged")


def check_tables(path: Path, tensors: dict[str, Tensor], cfg: HFEngramConfig, hasher: Any) -> None:
    """Each layer's table has one row per address the contract's primes give (Σ primes × dim per head)."""
    for layer in cfg.engram_layers:
        key = f"{layer}.multi_head_embedding.embedding.weight"
        shape = (hasher.table_rows(layer), cfg.dim_per_head)
        if tuple(tensors[key].shape) != shape:
            primes = [int(p) for p in hasher.primes(layer)]
            raise ModelFileError(
                f"{path.name}: {key} has shape {list(tensors[key].shape)}, but layer {layer}'s primes {primes} "
                f"need {list(shape)} (sum of primes × dim per head): the tables do not match {CONFIG}"
            )


def assemble(hf: Any, cfg: HFEngramConfig, hasher: Any, tensors: dict[str, Tensor]) -> HFEngramModel:
    """The hooked model of a loaded base and checked adapter tensors (in eval mode)."""
    rows = {
        layer: int(tensors[f"{layer}.multi_head_embedding.embedding.weight"].shape[0]) for layer in cfg.engram_layers
    }
    model = HFEngramModel(hf, cfg, hasher, rows)
    model.blocks.load_state_dict(engram_state(tensors, cfg))
    return model.eval()


def engram_state(tensors: dict[str, Tensor], cfg: HFEngramConfig) -> dict[str, Tensor]:
    """The adapter tensors under this model's names (branch weights stacked, key projections concatenated)."""
    out: dict[str, Tensor] = {}
    branches = range(cfg.hc_mult)
    for layer in cfg.engram_layers:
        p, q = f"{layer}.", f"{layer}.engram."
        out[f"{layer}.engram_offsets"] = tensors[p + "multi_head_embedding.offsets"]
        out[q + "table.weight"] = tensors[p + "multi_head_embedding.embedding.weight"]
        out[q + "W_V.weight"] = tensors[p + "gating.w_v.weight"]
        out[q + "W_K.weight"] = torch.cat([tensors[f"{p}gating.w_k.{b}.weight"] for b in branches])
        out[q + "norm_h"] = torch.stack([tensors[f"{p}gating.norm_h.{b}.weight"] for b in branches])
        out[q + "norm_k"] = torch.stack([tensors[f"{p}gating.norm_k.{b}.weight"] for b in branches])
        out[q + "conv_norm"] = torch.stack([tensors[f"{p}short_conv.norms.{b}.weight"] for b in branches])
        out[q + "conv_weight"] = tensors[p + "short_conv.conv.weight"]
    return out


def check_base_files(base_dir: Path, trust_pickle: bool) -> None:
    """The base's weights are safetensors, whole (a ``.bin`` pickle only when trusted)."""
    index = base_dir / BASE_INDEX
    if index.is_file():
        weight_map = read_json(index).get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise ModelFileError(f"{index}: field weight_map must map tensor names to shard files")
        files = sorted({base_dir / str(name) for name in weight_map.values()})
    elif (base_dir / BASE_WEIGHTS).is_file():
        files = [base_dir / BASE_WEIGHTS]
    else:
        if not trust_pickle:
            raise ModelFileError(
                f"{base_dir} holds its weights only as .bin pickles ({', '.join(BASE_PICKLES)}), and loading a "
                "pickle can run code; convert them to model.safetensors, or pass --trust-pickle if you trust them"
            )
        check_base_pickles(base_dir)
        return
    for path in files:
        try:
            read_metadata(path)
        except UnreadableSafetensors as exc:
            raise ModelFileError(f"{path}: not a readable safetensors file, truncated or corrupt ({exc})") from exc


def check_base_pickles(base_dir: Path) -> None:
    """Trusted ``.bin`` weights still hold tensors only: each file is read with ``weights_only`` before
    transformers reads it (so an object that would run code is refused in one line, not a traceback)."""
    from engram_probe.arch.nanochat_import import read_state

    index = base_dir / BASE_PICKLES[1]
    if index.is_file():
        weight_map = read_json(index).get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise ModelFileError(f"{index}: field weight_map must map tensor names to shard files")
        files = sorted({base_dir / str(name) for name in weight_map.values()})
    else:
        files = [base_dir / BASE_PICKLES[0]]
    for path in files:
        if not path.is_file():
            raise ModelFileError(f"{base_dir}: the weights file {path.name} is missing")
        try:
            read_state(path)
        except ModelFileError as exc:
            raise ModelFileError(f"{base_dir}: {exc}") from exc


def load_base(base_dir: Path, cfg: HFEngramConfig, trust_pickle: bool) -> Any:
    """The base causal LM in float32, from the local folder only, checked to hold the layers the adapter hooks."""
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    check_base_files(base_dir, trust_pickle)
    where = f"{base_dir / CONFIG}"
    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # our commands report their own progress; a tiny base loads in well under 1 s
    try:
        hf = AutoModelForCausalLM.from_pretrained(
            str(base_dir),
            dtype=torch.float32,
            local_files_only=True,
            use_safetensors=not trust_pickle or None,
            weights_only=True,
        )
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelFileError(f"{base_dir}: transformers cannot load this base ({str(exc).splitlines()[0]})") from exc
    finally:
        if shown:
            hf_logging.enable_progress_bar()
    if type(hf).__name__ != cfg.base_architecture:
        raise ModelFileError(f"{where}: field architectures names {cfg.base_architecture}, loaded {type(hf).__name__}")
    layers: Any = None
    stack: Any = None
    try:
        layers = resolve(hf, cfg.layer_container_path)
        stack = resolve(hf, cfg.layer_container_path.rpartition(".")[0])
    except AttributeError:
        pass
    fits = (
        isinstance(layers, torch.nn.ModuleList)
        and len(layers) == cfg.n_layers
        and all(hasattr(layer, part) for layer in layers for part in LAYER_PARTS)
        and all(hasattr(stack, part) for part in STACK_PARTS)
        and isinstance(hf.get_output_embeddings(), torch.nn.Linear)
    )
    if not fits:
        raise ModelFileError(
            f"{where}: base {cfg.base_architecture} is not supported: its decoder layers at layer_container_path "
            f"{cfg.layer_container_path} do not have {', '.join(LAYER_PARTS)} (supported: {', '.join(TESTED_BASES)})"
        )
    bad = first_non_finite(dict(hf.state_dict()))
    if bad is not None:
        raise ModelFileError(f"{base_dir}: tensor {bad} holds NaN or infinite values; the weights are damaged")
    return hf.eval()


def address_contract(adapter_dir: Path, base_dir: Path, path: Path, tensors: dict[str, Tensor]) -> Any:
    """The engram-peft address contract of this pair (``engram_probe.contracts.engram_peft``); a trusted legacy
    pickle's saved offsets and table shapes are handed over from its tensors, already read tensors-only."""
    from engram_probe.contracts.engram_peft import engram_peft_contract
    from engram_probe.contracts.engram_peft_files import saved_layers_from_tensors

    try:
        saved = (path, saved_layers_from_tensors(path, tensors)) if path.name == ADAPTER_PICKLE else None
        return engram_peft_contract(adapter_dir, base_dir / TOKENIZER, saved)
    except ContractError as exc:
        raise ModelFileError(str(exc)) from exc


def load_hf_engram(base_dir: Path, adapter_dir: Path | None, trust_pickle: bool = False) -> LoadedModel:
    """Base + adapter as one hooked model; every check runs before anything is built."""
    if adapter_dir is None:
        raise ModelFileError(
            f"{base_dir} is a Hugging Face base model folder: give its engram-peft adapter folder too "
            "(engram=ADAPTER_DIR, --engram ADAPTER_DIR)"
        )
    adapter_dir = Path(adapter_dir)
    if not adapter_dir.is_dir():
        raise ModelFileError(f"no engram-peft adapter folder at {adapter_dir}")
    base_architecture(read_json(base_dir / CONFIG), str(base_dir / CONFIG))
    cfg = read_config(base_dir, adapter_dir)
    path, tensors = read_adapter_tensors(adapter_dir, trust_pickle)
    check_adapter_keys(path, tensors, cfg)
    if not (base_dir / TOKENIZER).is_file():
        raise ModelFileError(f"no {TOKENIZER} in {base_dir}: the addresses need the base's tokenizer")
    hasher = address_contract(adapter_dir, base_dir, path, tensors)
    check_tables(path, tensors, cfg, hasher)
    tokenizer = HFTokenizer.from_folder(base_dir)
    hf = load_base(base_dir, cfg, trust_pickle)
    # a PEFT LoRA saved in the same folder: checked here, kept out of the audited model (base + Engram); it is
    # the layered evaluation's shared adapter (engram_probe.layered.adapter.folder_adapter)
    lora = read_folder_lora(adapter_dir, hf, trust_pickle)
    model = assemble(hf, cfg, hasher, tensors)
    provenance: dict[str, Any] = {
        "base": str(base_dir),
        "adapter": str(adapter_dir),
        "base_architecture": cfg.base_architecture,
    }
    if lora is not None:
        provenance["lora"] = lora.describe()
    return LoadedModel(model, tokenizer, model.weights_digest(), {"imported_from": provenance}, base_dir, adapter_dir)


def _load(root: Path, options: LoadOptions) -> LoadedModel:
    adapter = Path(options.engram) if options.engram is not None else None
    return load_hf_engram(root, adapter, options.trust_pickle)


LOADER = ArchitectureLoader(
    name=HFEngramModel.architecture,
    needs=f"{CONFIG} naming its architectures and {BASE_WEIGHTS} (or shards), given with engram=ADAPTER_DIR "
    f"(an engram-peft adapter folder: {CONFIG} and {ADAPTER_WEIGHTS})",
    recognises=is_hf_base_dir,
    load=_load,
    takes_engram=True,
)
