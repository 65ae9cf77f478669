"""Engram Workbench library: hashing, the hooked Engram model, user memory, audits and reports."""

from typing import Any

__version__ = "0.1.0"


def load_model(path: Any = None, trust_pickle: bool = False) -> Any:
    """The hooked model of a model directory (default: the shipped model); see ``engram_probe.arch.loading``."""
    from engram_probe.arch.loading import load_model as load

    return load(path, trust_pickle)
