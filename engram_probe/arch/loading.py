"""One entry point for every supported model directory: the registry of architecture loaders.

Each architecture says how it recognises a directory and how it loads one (an ``ArchitectureLoader``
next to its format); this module is the one place they are registered, in the order they are asked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engram_probe.arch.loaded import ArchitectureLoader, LoadedModel, LoadOptions, ModelFileError

_EXTRA: list[ArchitectureLoader] = []


def registered() -> tuple[ArchitectureLoader, ...]:
    """Every architecture loader, in the order a directory is offered to them."""
    from engram_probe.arch.hf_engram_load import LOADER as hf_engram
    from engram_probe.arch.nanochat_import import LOADER as nanochat
    from engram_probe.arch.workbench_checkpoint import LOADER as workbench

    # a Hugging Face base folder also holds model.safetensors, so it is asked before the workbench's format
    return (hf_engram, workbench, nanochat, *_EXTRA)


def register(loader: ArchitectureLoader) -> None:
    """Add a third architecture's loader (asked after the built-in ones); a name may be registered once."""
    if any(known.name == loader.name for known in registered()):
        raise ValueError(f"an architecture named {loader.name!r} is already registered")
    _EXTRA.append(loader)


def _options(options: dict[str, Any]) -> LoadOptions:
    known = set(LoadOptions.__dataclass_fields__)
    unknown = sorted(set(options) - known)
    if unknown:
        allowed = ", ".join(sorted(known))
        raise ValueError(f"unknown model loading option {', '.join(unknown)}; the options are {allowed}")
    return LoadOptions(**options)


def open_model(model_dir: str | Path | None = None, trust_pickle: bool = False, **options: Any) -> LoadedModel:
    """The model with its tokenizer and digest: the shipped model by default, else whichever architecture fits."""
    from engram_probe.contracts.workbench_config import DEFAULT_MODEL_DIR

    opts = _options({"trust_pickle": trust_pickle, **options})
    root = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
    if model_dir is not None and not root.is_dir():
        raise ModelFileError(f"no model directory at {root}")
    loaders = registered()
    for loader in loaders:
        if loader.recognises(root):
            if opts.engram is not None and not loader.takes_engram:
                raise ModelFileError(
                    f"{root} is a {loader.name} model directory; engram= (an engram-peft adapter folder) applies "
                    "only to a Hugging Face base model folder"
                )
            return loader.load(root, opts)
    needs = "; ".join(f"{loader.name} needs {loader.needs}" for loader in loaders)
    raise ModelFileError(f"{root} is not a model directory of any known architecture ({needs})")


def load_model(path: str | Path | None = None, trust_pickle: bool = False, **options: Any) -> Any:
    """The hooked model of a directory (default: the shipped model); ``model(tokens[batch, pos])`` gives logits.

    The tokenizer and digest are attached as ``model.tokenizer`` and ``model.weights_sha256``.
    """
    lm = open_model(path, trust_pickle, **options)
    lm.model.tokenizer = lm.tokenizer
    lm.model.weights_sha256 = lm.weights_sha256
    return lm.model


__all__ = ["ArchitectureLoader", "LoadedModel", "ModelFileError", "load_model", "open_model", "register", "registered"]
