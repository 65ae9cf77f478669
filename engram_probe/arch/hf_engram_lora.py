"""The PEFT LoRA an engram-peft adapter folder may hold beside its Engram files.

engram-peft's ``save_pretrained`` on a LoRA-stacked base writes PEFT's ``adapter_config.json`` and
``adapter_model.safetensors`` into the same folder as the Engram adapter. The workbench neither drops nor
merges that LoRA: the model it loads and audits is base + Engram, and the folder's LoRA is the shared
adapter of the layered evaluation (``engram_probe.layered.adapter.folder_adapter``), injected by PEFT on a
private copy. Everything is checked at load, before a model is returned: each refusal is one line naming
the file and the field or key.

Only a plain LoRA is read (rank, alpha, target modules, the A and B matrices of linear layers); any PEFT
option that would change its forward (DoRA, rsLoRA, per-module ranks, biases, saved modules, …) is refused
by name rather than approximated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from engram_probe.arch.hf_engram_config import read_json
from engram_probe.arch.loaded import ModelFileError
from engram_probe.arch.weights import first_non_finite, tensors_digest
from engram_probe.contracts.fields import Int, Text, read_field, shown
from engram_probe.safetensors_io import UnreadableSafetensors, read_all

LORA_CONFIG, LORA_WEIGHTS, LORA_PICKLE = "adapter_config.json", "adapter_model.safetensors", "adapter_model.bin"
SAVED_PREFIX = "base_model.model."  # PEFT's names: the PeftModel's base_model (the tuner), then its model
MODEL_PREFIX = "hf."  # where HFEngramModel keeps the base
ADAPTER_NAME = "default"  # the adapter name PEFT gives an injected LoRA (and strips when it saves)
# Fields that do not change the forward of saved weights in eval mode: provenance, initialisation methods,
# dropout (off in eval), options that only act with another option that must be neutral.
IGNORED = frozenset(
    {
        "task_type",
        "auto_mapping",
        "peft_version",
        "base_model_name_or_path",
        "revision",
        "inference_mode",
        "init_lora_weights",
        "lora_dropout",
        "loftq_config",
        "eva_config",
        "corda_config",
        "lora_ga_config",
        "megatron_core",
        "qalora_group_size",
        "runtime_config",
        "ensure_weight_tying",
    }
)
READ = frozenset({"peft_type", "r", "lora_alpha", "target_modules"})
NEUTRAL: tuple[Any, ...] = (None, False, "none", {}, [])


@dataclass(frozen=True)
class FolderLora:
    """A checked PEFT LoRA, its tensors under the names a ``lora_copy`` of the loaded model gives them."""

    config_path: Path
    weights_path: Path
    rank: int
    alpha: int
    saved_targets: list[str] | str  # ``target_modules`` as PEFT saved it
    targets: str  # the same modules as one regular expression over the loaded model's module names
    state: dict[str, Tensor]

    @property
    def digest(self) -> str:
        return tensors_digest(self.state)

    @property
    def pickled(self) -> bool:
        return self.weights_path.name == LORA_PICKLE

    def describe(self) -> dict[str, Any]:
        """Where it came from and what it is (JSON), for the model's provenance and the layered report."""
        return {
            "config": str(self.config_path),
            "weights": str(self.weights_path),
            "rank": self.rank,
            "alpha": self.alpha,
            "target_modules": self.saved_targets,
            "modules": len(self.state) // 2,
            "params": sum(t.numel() for t in self.state.values()),
            "sha256": self.digest,
        }


def base_pattern(saved: list[str] | str) -> str:
    """PEFT's module matching as one regular expression over the base's module names.

    A list matches a module whose name is an entry or ends with ``.`` + an entry; a string is a regular
    expression matched against the whole name.
    """
    if isinstance(saved, str):
        return f"(?:{saved})"
    return r"(?:.*\.)?(?:" + "|".join(re.escape(name) for name in saved) + ")"


def read_lora_config(path: Path) -> tuple[int, int, list[str] | str]:
    """Rank, alpha and target modules of a plain LoRA; every other option must be off."""
    saved = read_json(path)
    read_field(saved, "peft_type", Text(("LORA",)), str(path), error=ModelFileError)
    rank = read_field(saved, "r", Int(1), str(path), error=ModelFileError)
    alpha = read_field(saved, "lora_alpha", Int(1), str(path), error=ModelFileError)
    targets = saved.get("target_modules")
    names_ok = isinstance(targets, list) and targets and all(isinstance(t, str) and t for t in targets)
    if not (names_ok or (isinstance(targets, str) and targets and targets != "all-linear")):
        raise ModelFileError(
            f"{path}: field target_modules must name the modules (a list of names or a regular expression; "
            f"all-linear is not read), got {shown(targets)}"
        )
    if isinstance(targets, str):
        try:
            re.compile(targets)
        except re.error as exc:
            raise ModelFileError(f"{path}: field target_modules is not a regular expression ({exc})") from exc
    for name in sorted(set(saved) - READ - IGNORED):
        value = saved[name]
        if not any(value == neutral and type(value) is type(neutral) for neutral in NEUTRAL):
            raise ModelFileError(
                f"{path}: field {name} is {shown(value)}; the workbench reads a plain LoRA only (rank, alpha, "
                "target modules), and this option would change its forward"
            )
    return rank, alpha, sorted(targets) if isinstance(targets, list) else str(targets)


def read_lora_tensors(folder: Path, trust_pickle: bool) -> tuple[Path, dict[str, Tensor]]:
    """The LoRA's tensors: ``adapter_model.safetensors``, or PEFT's legacy pickle only when trusted."""
    path = folder / LORA_WEIGHTS
    if path.is_file():
        try:
            return path, read_all(path)[1]
        except UnreadableSafetensors as exc:
            raise ModelFileError(f"{path}: not a readable safetensors file, truncated or corrupt ({exc})") from exc
    pickled = folder / LORA_PICKLE
    if not pickled.is_file():
        raise ModelFileError(f"{folder / LORA_CONFIG} names a PEFT LoRA, but {folder} has no {LORA_WEIGHTS}")
    if not trust_pickle:
        raise ModelFileError(
            f"{pickled}: the LoRA's weights are a pickle, and loading a pickle can run code; save them with "
            f"safe_serialization=True ({LORA_WEIGHTS}), or pass --trust-pickle if you trust this file"
        )
    from engram_probe.arch.nanochat_import import read_state

    return pickled, read_state(pickled)  # torch.load(weights_only=True): tensors only


def read_folder_lora(folder: Path, hf: nn.Module, trust_pickle: bool = False) -> FolderLora | None:
    """The folder's LoRA checked against the loaded base ``hf``; None when the folder holds none."""
    config_path = folder / LORA_CONFIG
    if not config_path.is_file():
        return None
    rank, alpha, saved_targets = read_lora_config(config_path)
    weights_path, tensors = read_lora_tensors(folder, trust_pickle)
    pattern = re.compile(base_pattern(saved_targets))
    matched = {name: m for name, m in hf.named_modules() if name and pattern.fullmatch(name)}
    where = f"{config_path}: field target_modules {shown(saved_targets)}"
    if not matched:
        raise ModelFileError(f"{where} matches no module of the base")
    not_linear = sorted(name for name, m in matched.items() if not isinstance(m, nn.Linear))
    if not_linear:
        raise ModelFileError(f"{where} matches {not_linear[0]}, which is not a linear layer")
    state = lora_state(weights_path, tensors, matched, rank)
    targets = re.escape(MODEL_PREFIX) + base_pattern(saved_targets)
    return FolderLora(config_path, weights_path, rank, alpha, saved_targets, targets, state)


def lora_state(path: Path, tensors: dict[str, Tensor], matched: dict[str, Any], rank: int) -> dict[str, Tensor]:
    """PEFT's saved keys as the injected parameters' names, each shape checked; missing or extra keys refused."""
    expected: dict[str, tuple[str, tuple[int, int]]] = {}
    for name, module in matched.items():
        for part, shape in (("lora_A", (rank, module.in_features)), ("lora_B", (module.out_features, rank))):
            saved = f"{SAVED_PREFIX}{name}.{part}.weight"
            expected[saved] = (f"{MODEL_PREFIX}{name}.{part}.{ADAPTER_NAME}.weight", shape)
    missing, unexpected = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise ModelFileError(
            f"{path.name} does not fit {LORA_CONFIG} (r {rank}, {len(matched)} target modules in the base): "
            f"missing keys {missing[:2]}{' …' if len(missing) > 2 else ''}, "
            f"unexpected keys {unexpected[:2]}{' …' if len(unexpected) > 2 else ''}"
        )
    bad = first_non_finite({saved: tensors[saved] for saved in expected})
    if bad is not None:
        raise ModelFileError(f"{path.name}: tensor {bad} holds NaN or infinite values; the LoRA is damaged")
    state: dict[str, Tensor] = {}
    for saved, (name, shape) in expected.items():
        t = tensors[saved]
        if not t.is_floating_point():
            raise ModelFileError(f"{path.name}: {saved} is {t.dtype}, a LoRA's weights are floating point")
        if tuple(t.shape) != shape:
            raise ModelFileError(f"{path.name}: {saved} has shape {list(t.shape)}, {LORA_CONFIG} needs {list(shape)}")
        state[name] = t.to(torch.float32)  # the model runs in float32 (an upcast of a half-precision LoRA is exact)
    return state
