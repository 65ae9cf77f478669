"""The overlay-format registry: every registered format recognises its own files and no other's, reads what it
writes, refuses a truncated file by name; unknown files are told the formats; the docs and CLI help follow it."""

from __future__ import annotations

import argparse
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from engram_probe.contracts import AddressContract, load_contract
from engram_probe.memory.transfer import export_memory
from engram_probe.memory.user_memory import Fact, UserMemory
from engram_probe.overlays import OverlayFileError, read_overlay
from engram_probe.overlays import registry as reg
from engram_probe.overlays.bridge import model_contract
from engram_probe.overlays.registry import OverlayFormat, detect, file_head, formats_help, formats_table, registered
from tests.helpers import tiny_lm

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "contracts"
DOC = ROOT / "docs" / "production-models.md"


def pleo_fixture(tmp: Path) -> tuple[Path, AddressContract]:
    shutil.copy(FIX / "qwen_ple" / "alice.pleo", tmp / "alice.pleo")  # without its sidecar: rows only
    return tmp / "alice.pleo", load_contract("qwen3.8-ple")


def v41_fixture(tmp: Path) -> tuple[Path, AddressContract]:
    v = FIX / "v41_tiny"
    return v / "alice.safetensors", load_contract("deepseek-v4.1", v / "config.json", v / "tokenizer.json")


def export_fixture(tmp: Path) -> tuple[Path, AddressContract]:
    """A real memory export of a tiny model: one fact owning exactly the rows its trigger reads."""
    lm = tiny_lm(seed=2)
    contract = model_contract(lm)
    layer = lm.cfg.engram_layers[0]
    ids = contract.encode("My dog is")
    rows = np.unique(contract.addresses(np.asarray(ids), layer)[-1])
    fact = Fact(
        fact_id="pet",
        triggers=["My dog is"],
        answer="Rex",
        gold_token_id=5,
        gold_token=lm.tokenizer.token_text(5),
        strategy="unembed",
        layer=layer,
        row_ids=torch.tensor([[layer, int(r)] for r in rows]),
        values=torch.randn(len(rows), lm.cfg.dim_per_head, generator=torch.Generator().manual_seed(0)),
        written_at="2026-01-01T00:00:00+00:00",
    )
    path = tmp / "ann.safetensors"
    export_memory(UserMemory("ann", [fact]), path, lm.weights_sha256, lm.model.hasher)
    return path, contract


# one real file per registered format (the first test fails when a format is registered without one)
FIXTURES: dict[str, Callable[[Path], tuple[Path, AddressContract]]] = {
    "pleo": pleo_fixture,
    "engram-row-overrides/deepseek-v4.1/1": v41_fixture,
    "engram-probe-memory/1": export_fixture,
}
NAMES = [f.name for f in registered()]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, AddressContract]]:
    tmp = tmp_path_factory.mktemp("formats")
    return {name: make(tmp) for name, make in FIXTURES.items()}


def test_every_registered_format_has_a_conformance_fixture() -> None:
    assert set(NAMES) == set(FIXTURES)


@pytest.mark.parametrize("name", NAMES)
def test_each_format_recognises_its_own_file_and_refuses_the_others(name: str, files: dict[str, Any]) -> None:
    fmt = reg.get_format(name)
    own, _ = files[name]
    assert fmt.sniff(own, file_head(own)) and detect(own) is fmt
    for other, (path, _) in files.items():
        if other != name:
            assert not fmt.sniff(path, file_head(path)), f"{name} claims the {other} fixture"


@pytest.mark.parametrize("name", NAMES)
def test_each_format_reads_its_file_and_reads_back_what_it_writes(
    name: str, files: dict[str, Any], tmp_path: Path
) -> None:
    fmt = reg.get_format(name)
    path, contract = files[name]
    first, seen = reg.read_rows(path, contract)
    assert seen is fmt and first.format == name and first.n_rows > 0
    if fmt.write is None:
        return
    again = fmt.write(first, tmp_path / path.name, contract)  # same name: a .pleo's user is its file name
    back, seen_back = reg.read_rows(again, contract)
    assert seen_back is fmt and back.user == first.user
    assert sorted(back.layers) == sorted(first.layers)
    for layer, (rows, values) in first.layers.items():
        assert back.rows(layer).tolist() == rows.tolist()
        assert back.layers[layer][1].tobytes() == values.tobytes()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("keep", [0.75, 0.5, 7])
def test_a_truncated_file_of_each_format_is_refused_naming_the_file(
    name: str, keep: float, files: dict[str, Any], tmp_path: Path
) -> None:
    path, contract = files[name]
    data = path.read_bytes()
    cut = tmp_path / f"cut-{path.name}"
    cut.write_bytes(data[: int(len(data) * keep) if keep < 1 else int(keep)])
    with pytest.raises(OverlayFileError, match=re.escape(cut.name)):
        read_overlay(cut, contract)


def test_a_file_of_no_format_is_told_every_format_and_what_it_looks_like(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not an overlay")
    other = tmp_path / "other.safetensors"
    save_file({"x": torch.zeros(1)}, str(other), metadata={"format": "someone-else/1"})
    contract = load_contract("qwen3.8-ple")
    for path, reason in ((text, "not a readable safetensors file"), (other, "unknown overlay format 'someone-else/1'")):
        with pytest.raises(OverlayFileError) as err:
            read_overlay(path, contract)
        message = str(err.value)
        assert message.startswith(f"{path.name}: {reason}") and "\n" not in message
        for fmt in registered():
            assert f"{fmt.label} ({fmt.looks_like})" in message


def test_a_second_format_of_the_same_name_is_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):
        reg.register(reg.get_format("pleo"))


def test_the_docs_format_table_is_the_generated_one() -> None:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"<!-- overlay-formats:begin[^>]*-->\n(.*?)<!-- overlay-formats:end -->", text, flags=re.S)
    assert found is not None, "docs/production-models.md lost its overlay-formats markers"
    assert found.group(1) == formats_table(), "regenerate the table with engram_probe.overlays.registry.formats_table"


def subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


def help_of(argv: list[str], flag: str) -> str:
    from engram_probe.cli import build_parser

    parser = build_parser(argv)
    for name in argv:
        parser = subcommand(parser, name)
    return next(str(a.help) for a in parser._actions if flag in a.option_strings)


def test_cli_overlay_help_is_generated_from_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = OverlayFormat("test-only/1", "test-only .tox", "a file of the test", (".tox",), lambda p, h: False, None)  # type: ignore[arg-type]
    monkeypatch.setitem(reg._FORMATS, extra.name, extra)
    for argv, flag in ((["contract", "census"], "--overlay"), (["import"], "--file")):
        shown = help_of(argv, flag)
        assert formats_help() in shown and "test-only .tox" in shown
    assert formats_help(markdown=True).endswith("or test-only `.tox`")
