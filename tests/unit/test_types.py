"""The library and the UI pass the type check configured in pyproject.toml ([tool.mypy])."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_mypy_finds_no_type_errors_in_engram_probe_and_workbench() -> None:
    # the repository's .mypy_cache is git-ignored; a warm cache makes the check take seconds, a cold one about a minute
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "engram_probe", "workbench", "--cache-dir", str(ROOT / ".mypy_cache")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert proc.returncode == 0, f"mypy reported type errors:\n{proc.stdout}{proc.stderr}"
    assert "Success: no issues found" in proc.stdout
