"""``engram-probe scan`` is ``contract scan --contract workbench``: one scan, the same numbers from both commands."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engram_probe.cli import main
from engram_probe.data.corpus import generate_corpus
from engram_probe.memory import UserMemory
from engram_probe.memory.store import MemoryStore
from engram_probe.memory.transfer import export_memory
from engram_probe.memory.writing import FactSpec, FactWriter

pytestmark = pytest.mark.integration

SPECS = [FactSpec.of("My favorite tea is", "oolong"), FactSpec.of("I live in", "Lisbon")]


@pytest.fixture(scope="module")
def inputs(shipped: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Two facts of one user, as an exported memory file and in a store, and a 200-document text corpus."""
    root = tmp_path_factory.mktemp("scan_alias")
    res = FactWriter(shipped.model, shipped.tokenizer).write(UserMemory("alice"), SPECS, "opt")
    memory = UserMemory("alice", res.facts)
    export_memory(memory, root / "m.safetensors", shipped.weights_sha256, shipped.model.hasher)
    with MemoryStore(root / "m.db", shipped.weights_sha256, mode="create") as store:
        store.add_facts("alice", memory.facts)
    docs = [d for d in generate_corpus(600, seed=7) if "\n" not in d][:200]
    docs[50] += " My favorite tea is oolong, I live in Lisbon."  # certain hits, besides any hash collisions
    (root / "corpus.txt").write_text("\n".join(docs) + "\n", encoding="utf-8")
    return {"memory": str(root / "m.safetensors"), "store": str(root / "m.db"), "corpus": str(root / "corpus.txt")}


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main(list(argv)) in (0, None)
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("source", ["memory", "store"])
def test_scan_and_contract_scan_report_the_same_numbers(
    inputs: dict[str, str], capsys: pytest.CaptureFixture[str], source: str
) -> None:
    given = ["--memory", inputs["memory"]] if source == "memory" else ["--store", inputs["store"], "--user", "alice"]
    overlay = ["--overlay", inputs["memory"]] if source == "memory" else ["--store", inputs["store"], "--user", "alice"]
    alias = run_json(capsys, "scan", *given, "--corpus", inputs["corpus"], "--json")
    full = run_json(
        capsys, "contract", "scan", "--contract", "workbench", *overlay, "--corpus", inputs["corpus"], "--json"
    )
    assert alias["result"] == full["result"] and alias["input_sha256"] == full["input_sha256"]
    r = alias["result"]
    assert r["tokens"] > 10_000 and 0 < r["positions_hit"] < r["tokens"]
    assert len(r["facts"]) == 2 and all(f["hits"] > 0 and f["fact"].startswith("alice/") for f in r["facts"])


def test_scan_human_output_is_the_contract_scans(inputs: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    main(["scan", "--memory", inputs["memory"], "--corpus", inputs["corpus"]])
    alias = capsys.readouterr().out
    main(["contract", "scan", "--contract", "workbench", "--overlay", inputs["memory"], "--corpus", inputs["corpus"]])
    assert alias == capsys.readouterr().out and "shards read an edited row" in alias


def test_scan_without_a_memory_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["scan", "--corpus", "corpus.txt"])
    err = capsys.readouterr().err
    assert code == 2 and err == "engram-probe scan: error: give --store (and --user), or --memory FILE\n"


def test_scan_of_another_architectures_folder_is_refused_in_one_line_naming_its_contract(
    inputs: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from pathlib import Path

    nanochat = Path(__file__).resolve().parents[1] / "fixtures" / "nanochat_tiny"
    code = main(["scan", "--model", str(nanochat), "--memory", inputs["memory"], "--corpus", inputs["corpus"]])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "is a nanochat-engram model" in err and "contract scan --contract user-as-engram" in err
