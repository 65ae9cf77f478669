"""The CLI package's command groups end to end in subprocesses: ``contract population`` and its old top-level alias
``population`` run the same census, and asking for help loads no numerical library."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CENSUS = ["--contract", "qwen3.8-ple", "--users", "40,120", "--facts", "8", "--seed", "3", "--json"]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([sys.executable, "-m", "engram_probe.cli", *args], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr + out.stdout
    return out


def census(*command: str) -> dict:
    doc = json.loads(cli(*command, *CENSUS).stdout)
    doc.pop("created_at")
    doc["digests"].pop("report")  # covers the time and the measured figures below
    for size in doc["result"]["sizes"]:
        size.pop("seconds")  # wall time and peak memory: measured, so they differ run to run
        size.pop("peak_rss_mb_so_far")
    return doc


def test_contract_population_and_the_population_alias_give_the_same_census() -> None:
    grouped, alias = census("contract", "population"), census("population")
    assert [s["users"] for s in grouped["result"]["sizes"]] == [40, 120]
    assert grouped["result"]["sizes"][1]["rows_written"] > 0
    assert grouped == alias
    listing = cli("contract", "--help").stdout
    assert "population" in listing and "row census of N synthetic users" in listing


@pytest.mark.parametrize("argv", [["--help"], ["users", "--help"]])
def test_help_starts_without_loading_numpy_or_torch(argv: list[str]) -> None:
    probe = (
        "import sys\n"
        "from engram_probe.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('numpy', 'torch') if m in sys.modules), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "usage: engram-probe" in out.stdout
    assert out.stderr.strip().splitlines()[-1] == "[]"
