"""docs/engram-peft.md works as written: each command of its bash block runs on the committed fixtures
(tests/fixtures/engram_peft, PROVENANCE.md), and the report it writes says what the page says."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "engram-peft.md"

pytestmark = pytest.mark.integration


def doc_commands() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert block is not None, "docs/engram-peft.md has no bash block"
    return [line.split("  #")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_every_command_of_the_page_runs_and_the_audit_it_writes_verifies(tmp_path: Path) -> None:
    commands = doc_commands()
    assert commands[0].startswith("M=") and any(c.startswith("engram-probe verify") for c in commands)
    script = "set -e\n" + "\n".join(c.replace("/tmp/ep", str(tmp_path)) for c in commands) + "\n"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "\nVERIFIED: all " in out.stdout and "Traceback" not in out.stderr
    doc = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    fix = "tests/fixtures/engram_peft"
    assert doc["model"]["engram_path"] == f"{fix}/llama_engram" and doc["model"]["contract"]["name"] == "engram-peft"
    # the locality proof compares real positions (the page's facts are first read at position 12) and holds
    assert doc["summary"]["positions"]["untouched"] == 12 and doc["proof"]["values_compared"] > 0
    assert doc["summary"]["untouched_bit_exact"] is True
    # the per-user LoRA (on the base's own attention projections) changes what the rows leave bit-identical
    lora = doc["contrasts"]["lora"]
    assert all(t.endswith(("q_proj", "k_proj", "v_proj", "o_proj")) for t in lora["targets"])
    held = doc["contrasts"]["heldout_loss"]["engram_attribution"]
    assert lora["untouched_changed_fraction"] > 0 and lora["heldout_changed_fraction"] > 0
    assert held["delta_elsewhere"] == held["max_abs_token_delta_elsewhere"] == 0
    assert (tmp_path / "report.html").stat().st_size > 0 and (tmp_path / "ada.safetensors").is_file()
    assert "note: " in out.stdout  # contract show lists the deviations from DeepSeek's demo
    # a report whose adapter hint is not the adapter loads no model from it, and does not verify
    doc["model"]["engram_path"] = str(tmp_path)
    (tmp_path / "forged.json").write_text(json.dumps(doc), encoding="utf-8")
    forged = subprocess.run(
        [sys.executable, "-m", "engram_probe.cli", "verify", str(tmp_path / "forged.json")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert forged.returncode == 1 and "NOT VERIFIED" in forged.stdout and "Traceback" not in forged.stderr
