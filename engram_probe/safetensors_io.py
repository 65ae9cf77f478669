"""Reading safetensors files whole, with one error type for every way a file can be unreadable.

Callers turn ``UnreadableSafetensors`` into their own error (overlay, adapter, memory import), each with
its own wording; this module only decides what counts as unreadable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from safetensors import SafetensorError, safe_open

# what safetensors raises for a missing, truncated or garbled file, depending on where it fails
_FAILURES = (SafetensorError, OSError, ValueError, RuntimeError)


class UnreadableSafetensors(ValueError):
    """A file that safetensors cannot open or read to the end; the message is the library's reason."""


def read_metadata(path: str | Path) -> dict[str, str]:
    """The file's string metadata (empty when it has none)."""
    try:
        with safe_open(str(path), "pt") as fh:
            return dict(fh.metadata() or {})
    except _FAILURES as exc:
        raise UnreadableSafetensors(str(exc)) from exc


def read_all(path: str | Path, framework: str = "pt") -> tuple[dict[str, str], dict[str, Any]]:
    """Metadata and every tensor (torch tensors, or numpy arrays with ``framework="np"``), all read first."""
    try:
        with safe_open(str(path), framework) as fh:
            meta = dict(fh.metadata() or {})
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118 (safe_open has no __iter__)
    except _FAILURES as exc:
        raise UnreadableSafetensors(str(exc)) from exc
    return meta, tensors
