"""What no UI message may contain: command-line flags, temporary paths, Python type names or tracebacks."""

from __future__ import annotations

import os
import re
import tempfile
from typing import Any

FLAG = re.compile(r"(?<![\w-])--[a-z][\w-]*")
TYPE_NAMES = re.compile(
    r"<class '|object at 0x|\bNoneType\b|\bTraceback\b|\b(?:Type|Key|Value|Attribute|Index|Runtime|OS)Error\b"
)


def temporary_roots() -> list[str]:
    """Folders under which a path is temporary (the system's, and Gradio's upload folder)."""
    roots = {tempfile.gettempdir(), "/tmp/", "/var/tmp/"}
    if os.environ.get("GRADIO_TEMP_DIR"):
        roots.add(os.environ["GRADIO_TEMP_DIR"])
    return sorted(r.rstrip("/") + "/" for r in roots)


def problems(message: str) -> list[str]:
    """Each way ``message`` falls short of plain words, named (empty when it reads well)."""
    found = [f"a command-line flag {m.group(0)!r}" for m in FLAG.finditer(message)]
    found += [f"a Python name {m.group(0)!r}" for m in TYPE_NAMES.finditer(message)]
    found += [f"a temporary path under {r}" for r in temporary_roots() if r in message]
    return found


def messages(value: Any) -> list[str]:
    """The texts a handler's outputs show a person: strings (not file paths, not plot JSON) and table cells."""
    if isinstance(value, str):
        if os.path.isabs(value) and os.path.exists(value):  # a file the client downloaded, not a message
            return []
        return [] if value.lstrip().startswith(("{", "[")) else [value]
    if isinstance(value, (list, tuple)):
        return [m for v in value for m in messages(v)]
    if isinstance(value, dict):  # a table: its headers and cells; a plot carries no message
        return [] if "plot" in value else messages(value.get("headers", [])) + messages(value.get("data", []))
    return []
