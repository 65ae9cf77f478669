"""What loading a model directory gives, and how an architecture registers its loader (imports no architecture)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engram_probe.arch.base import ArchConfig, EngramModelBase
from engram_probe.tokenizer import EngramTokenizer


class ModelFileError(ValueError):
    """A model directory is missing, truncated, corrupted or inconsistent."""


@dataclass
class LoadedModel:
    """A model with its tokenizer and provenance, as loaded from a model directory."""

    model: EngramModelBase
    tokenizer: EngramTokenizer
    weights_sha256: str
    training: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    engram_path: Path | None = None  # the engram-peft adapter folder of a Hugging Face base (``path``)

    @property
    def cfg(self) -> Any:  # an ArchConfig; Any so callers may read an architecture's own fields
        return self.model.cfg


@dataclass(frozen=True)
class LoadOptions:
    """Options a caller may pass to any loader; a loader ignores those that do not concern its format."""

    trust_pickle: bool = False  # allow the canonical-map pickle of a nanochat-engram checkpoint, .bin/.pt weights
    engram: str | Path | None = None  # an engram-peft adapter folder, for a Hugging Face base folder


@dataclass(frozen=True)
class ArchitectureLoader:
    """How one architecture recognises a model directory and loads it (registered in ``engram_probe.arch.loading``)."""

    name: str
    needs: str  # what the directory must hold, in words, for the "not recognised" message
    recognises: Callable[[Path], bool]
    load: Callable[[Path, LoadOptions], LoadedModel]
    takes_engram: bool = False  # it reads the ``engram`` option (every other loader refuses it rather than drop it)


__all__ = ["ArchConfig", "ArchitectureLoader", "LoadOptions", "LoadedModel", "ModelFileError"]
