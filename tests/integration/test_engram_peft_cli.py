"""The workbench on a Hugging Face base with an engram-peft adapter, through the real CLI: export and import, info
(the audit with every contrast and verify, from hints and a forged hint: tests/integration/test_engram_peft_doc.py).

The base and adapter are the committed fixtures of tests/fixtures/engram_peft (PROVENANCE.md: a tiny random
LlamaForCausalLM and an adapter written by engram-peft 1.2.7's own save_pretrained)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli_run import run_cli

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "engram_peft"
MODEL = ["--model", str(FIX / "llama"), "--engram", str(FIX / "llama_engram")]


def cli(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    out = run_cli(*args)
    assert out.returncode == code, out.stderr[-3000:] + out.stdout[-2000:]
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("peft") / "memory.db"
    facts = [("my dog is", " kind", "opt"), ("the garden is", " green", "unembed")]
    for prompt, answer, strategy in facts:
        where = ["--store", str(path), "--user", "ada", "--strategy", strategy, "--steps", "40"]
        cli("write", *MODEL, *where, "--prompt", prompt, "--answer", answer)
    return path


def test_a_memory_exported_from_an_engram_peft_model_imports_only_beside_the_same_adapter(
    store: Path, tmp_path: Path
) -> None:
    exported = tmp_path / "ada.safetensors"
    cli("export", *MODEL, "--store", str(store), "--user", "ada", "--out", str(exported))
    other = tmp_path / "other.db"
    cli("import", *MODEL, "--store", str(other), "--file", str(exported))
    facts = json.loads(cli("facts", *MODEL, "--store", str(other), "--user", "ada", "--json").stdout)
    assert len(facts["facts"]) == 2
    qwen = ["--model", str(FIX / "qwen3"), "--engram", str(FIX / "qwen3_engram")]
    refused = cli("import", *qwen, "--store", str(tmp_path / "third.db"), "--file", str(exported), code=2)
    assert "Traceback" not in refused.stderr and refused.stderr.count("\n") == 1


def test_info_names_the_base_and_the_adapter_each_with_its_own_digest() -> None:
    info = json.loads(cli("info", *MODEL, "--json").stdout)["model"]
    parts = info["parts"]
    assert parts["base"]["path"] == str(FIX / "llama") and parts["adapter"]["path"] == str(FIX / "llama_engram")
    assert len({info["sha256"], parts["base"]["sha256"], parts["adapter"]["sha256"]}) == 3
    shipped = json.loads(cli("info", "--json").stdout)["model"]
    assert shipped["parts"] == {}  # the shipped model is one file: no parts to name
