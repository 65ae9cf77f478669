"""One entry point for every supported model directory: the workbench format or the paper's nanochat-engram."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engram_probe.checkpoint import DEFAULT_MODEL_DIR, WEIGHTS_FILE, LoadedModel, ModelFileError, load_checkpoint


def open_model(model_dir: str | Path | None = None, trust_pickle: bool = False) -> LoadedModel:
    """The model with its tokenizer and digest: the shipped model by default, else the directory's format."""
    from engram_probe.arch.nanochat_import import is_nanochat_dir, load_nanochat

    if model_dir is None:
        return load_checkpoint(None)
    root = Path(model_dir)
    if not root.is_dir():
        raise ModelFileError(f"no model directory at {root}")
    if (root / WEIGHTS_FILE).is_file():
        return load_checkpoint(root)
    if is_nanochat_dir(root):
        return load_nanochat(root, trust_pickle=trust_pickle)
    raise ModelFileError(
        f"{root} holds neither a workbench model ({WEIGHTS_FILE}) nor a nanochat-engram checkpoint (model.pt)"
    )


def load_model(path: str | Path | None = None, trust_pickle: bool = False) -> Any:
    """The hooked model of a directory (default: the shipped model); ``model(tokens[batch, pos])`` gives logits.

    The tokenizer and digest are attached as ``model.tokenizer`` and ``model.weights_sha256``.
    """
    lm = open_model(path, trust_pickle)
    lm.model.tokenizer = lm.tokenizer
    lm.model.weights_sha256 = lm.weights_sha256
    return lm.model


__all__ = ["DEFAULT_MODEL_DIR", "load_model", "open_model"]
