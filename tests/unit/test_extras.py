"""Issue 21, dependencies: the library and CLI run without the optional parts, and a command that needs one
names the extra to install, in one line."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# pyarrow is in the scale extra, but transformer-lens needs it too (through datasets), so it is always there
OPTIONAL = ("gradio", "dask", "distributed", "playwright", "gguf")

# run the CLI with the optional packages made unimportable, as on an install without the extras
BLOCKED = f"""
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {OPTIONAL!r}:
            raise ImportError(f"blocked {{name}}")
        return None
sys.meta_path.insert(0, Block())
from engram_probe.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    return subprocess.run(
        [sys.executable, "-c", BLOCKED, *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300
    )


def test_the_core_install_leaves_the_ui_dask_the_browser_and_gguf_to_extras() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"])
    assert not [m for m in (*OPTIONAL, "pyarrow") if m in core]
    extras = project["optional-dependencies"]
    assert {"ui", "scale", "formats", "pdf", "dev"} <= set(extras)
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert ".[ui,scale,formats,pdf]" in setup and ".[ui,scale,formats,pdf,dev]" in setup


def test_the_cli_runs_without_the_extras() -> None:
    out = run("info", "--json")
    assert out.returncode == 0, out.stderr
    assert '"sha256"' in out.stdout


def test_a_command_that_needs_an_extra_names_it_in_one_line(tmp_path: Path) -> None:
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 60)
    out = run("contract", "show", "--contract", "qwen3.8-ple", "--config", str(gguf))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "engram-workbench[formats]" in out.stderr
    served = run("serve", "--port", "1")
    assert served.returncode == 2 and "Traceback" not in served.stderr and len(served.stderr.strip().splitlines()) == 1
