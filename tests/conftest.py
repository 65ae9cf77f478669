"""Shared fixtures: the shipped model, and the workbench served on a free loopback port."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def shipped() -> Any:
    from engram_probe.arch.workbench_checkpoint import load_checkpoint

    return load_checkpoint()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def gradio_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Gradio upload folder per test process, set before any app starts.

    Gradio checks an upload against the folder named by GRADIO_TEMP_DIR at the time of the request, so an app
    started later with another folder would make every earlier app refuse its own uploads.
    """
    folder = tmp_path_factory.mktemp("gradio-tmp")
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory, gradio_temp: Path) -> Iterator[tuple[str, Any]]:
    """The real workbench (shipped model, demo users) on 127.0.0.1:<free port>."""
    from workbench.app import serve

    workdir = tmp_path_factory.mktemp("workbench")
    demo, url, state = serve(host="127.0.0.1", port=free_port(), workdir=str(workdir), block=False)
    try:
        yield url, state
    finally:
        demo.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
