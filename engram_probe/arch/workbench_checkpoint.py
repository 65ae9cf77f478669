"""The workbench model directory: save and load ``EngramTransformer`` as safetensors with provenance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from engram_probe.arch.base import EngramModelBase
from engram_probe.arch.loaded import ArchitectureLoader, LoadedModel, LoadOptions, ModelFileError
from engram_probe.arch.weights import first_non_finite, is_finite, tensors_digest
from engram_probe.arch.workbench import EngramTransformer
from engram_probe.contracts.workbench_config import (
    CONFIG_FILE,
    DEFAULT_MODEL_DIR,
    TOKENIZER_FILE,
    TRAINING_FILE,
    WEIGHTS_FILE,
    EngramConfig,
)
from engram_probe.tokenizer import EngramTokenizer


def weights_digest(model: EngramModelBase) -> str:
    """Digest of every parameter and buffer of the model (the 'base digest')."""
    return model.weights_digest()


STORAGE_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def round_to_storage(model: EngramModelBase, storage: str) -> None:
    """Round every float parameter to ``storage`` precision in place (kept as float32 in memory).

    Run this before evaluating a model that will be saved in bf16, so that the numbers reported
    are those of the weights shipped.
    """
    dtype = STORAGE_DTYPES[storage]
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.copy_(t.to(dtype).to(t.dtype))


def _stored(state: dict[str, torch.Tensor], storage: str) -> dict[str, torch.Tensor]:
    dtype = STORAGE_DTYPES[storage]
    out = {}
    for name, t in state.items():
        if t.is_floating_point() and t.dtype != dtype:
            narrow = t.to(dtype)
            if not torch.equal(narrow.to(t.dtype), t):
                raise ValueError(
                    f"{name} is not exactly representable in {storage}; call round_to_storage before saving"
                )
            t = narrow
        out[name] = t.contiguous()
    return out


def save_checkpoint(
    out_dir: str | Path,
    model: EngramTransformer,
    tokenizer: EngramTokenizer,
    training: dict[str, Any],
    storage: str = "float32",
) -> str:
    """Write weights, tokenizer, config and training facts; return the weights digest.

    With ``storage="bfloat16"`` float tensors are written in bf16 (the model must already hold
    bf16-exact values) and upcast exactly at load; the digest is that of the float32 weights in memory.
    """
    if storage not in STORAGE_DTYPES:
        raise ValueError(f"storage must be one of {sorted(STORAGE_DTYPES)}, got {storage!r}")
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    digest = tensors_digest(state)
    stored = _stored(state, storage)  # refuses before anything is written
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    metadata = {
        "format": "engram-probe/1",
        "config": model.cfg.to_json(),
        "tokenizer_sha256": tokenizer.digest(),
        "weights_sha256": digest,
        "storage_dtype": storage,
        "training": json.dumps(training, sort_keys=True),
    }
    save_file(stored, str(out / WEIGHTS_FILE), metadata=metadata)
    tokenizer.save(out / TOKENIZER_FILE)
    (out / CONFIG_FILE).write_text(json.dumps(model.cfg.to_dict(), indent=2, sort_keys=True) + "\n")
    (out / TRAINING_FILE).write_text(json.dumps(training, indent=2, sort_keys=True) + "\n")
    return digest


def _read_metadata(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return dict(f.metadata() or {})


def load_checkpoint(model_dir: str | Path | None = None) -> LoadedModel:
    """Load a model directory; raise ``ModelFileError`` with a clear reason on any damage."""
    root = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
    weights = root / WEIGHTS_FILE
    if not weights.is_file():
        raise ModelFileError(f"no weights file at {weights}")
    try:
        meta = _read_metadata(weights)
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(f"weights file {weights} is truncated or corrupt ({exc})") from exc
    for key in ("config", "tokenizer_sha256", "weights_sha256"):
        if key not in meta:
            raise ModelFileError(f"weights file {weights} lacks the '{key}' metadata; not an engram-probe model")
    storage = meta.get("storage_dtype", "float32")
    if storage not in STORAGE_DTYPES:
        raise ModelFileError(f"weights file {weights} names an unknown storage dtype {storage!r}")
    # bf16 -> float32 is exact; the model always computes in float32.
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    actual = tensors_digest(state)
    if actual != meta["weights_sha256"]:
        raise ModelFileError(
            f"weights in {weights} do not match their recorded digest "
            f"({actual[:12]}… vs {meta['weights_sha256'][:12]}…): the file was modified or corrupted"
        )
    bad = first_non_finite(state)
    if bad is not None:
        raise ModelFileError(f"{weights}: tensor {bad} holds NaN or infinite values; the weights are damaged")
    try:
        cfg = EngramConfig.from_dict(json.loads(meta["config"]))
    except (ValueError, TypeError) as exc:
        raise ModelFileError(f"{weights}: its config metadata is invalid: {exc}") from exc
    tok_path = root / TOKENIZER_FILE
    if not tok_path.is_file():
        raise ModelFileError(f"no tokenizer at {tok_path}")
    try:
        tokenizer = EngramTokenizer.load(tok_path)
    except ValueError as exc:
        raise ModelFileError(str(exc)) from exc
    if tokenizer.digest() != meta["tokenizer_sha256"]:
        raise ModelFileError(f"tokenizer {tok_path} does not match the one the weights were trained with")
    canonical = state.get("canonical_map")
    if canonical is None:
        raise ModelFileError(f"weights file {weights} has no canonical_map")
    model = EngramTransformer(cfg, canonical.numpy())
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        raise ModelFileError(f"weights do not fit the config: {exc}") from exc
    if missing or unexpected:
        raise ModelFileError(f"weights do not fit the config: missing {missing[:5]}, unexpected {unexpected[:5]}")
    model.eval()
    training = json.loads(meta.get("training", "{}"))
    return LoadedModel(model, tokenizer, actual, training, root)


def _load(root: Path, options: LoadOptions) -> LoadedModel:  # noqa: ARG001
    return load_checkpoint(root)  # nothing in this format is pickled, so trust_pickle does not apply


LOADER = ArchitectureLoader(
    name=EngramTransformer.architecture,
    needs=f"{WEIGHTS_FILE} and {TOKENIZER_FILE}",
    recognises=lambda root: (root / WEIGHTS_FILE).is_file(),
    load=_load,
)

# LoadedModel, ModelFileError and the digest helpers moved to engram_probe.arch.loaded and engram_probe.arch.weights;
# they stay importable from here while callers move (issue 21)
__all__ = [
    "DEFAULT_MODEL_DIR",
    "LOADER",
    "LoadedModel",
    "ModelFileError",
    "first_non_finite",
    "is_finite",
    "load_checkpoint",
    "round_to_storage",
    "save_checkpoint",
    "tensors_digest",
    "weights_digest",
]
