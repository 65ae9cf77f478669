"""Optional parts of the install, and the one message that names the part a command needs.

``pip install -e .`` gives the library and the CLI. The extras add: ``ui`` (the Gradio workbench),
``scale`` (Dask clusters, Parquet shards, population censuses), ``formats`` (GGUF metadata), ``pdf``
(PDF export through Debian's chromium) and ``dev`` (tests and linters). The README's two commands
install all of them.
"""

from __future__ import annotations

import importlib
from types import ModuleType

EXTRA_OF = {
    "gradio": "ui",
    "dask": "scale",
    "distributed": "scale",
    "pyarrow": "scale",
    "pandas": "scale",
    "gguf": "formats",
    "playwright": "pdf",
}


class MissingExtra(ValueError):
    """An optional part of the install that this command needs is not installed."""


def require(module: str, what: str) -> ModuleType:
    """Import ``module``, or say which extra to install for ``what``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra = EXTRA_OF.get(module.split(".")[0], "all")
        raise MissingExtra(
            f"{what} needs the optional part '{extra}' of the workbench: pip install 'engram-workbench[{extra}]'"
        ) from exc
