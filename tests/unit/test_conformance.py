"""Every registered architecture meets the seam: hooks, declared axes, the proof, docs, copies, writers, loading.

Each test runs once per architecture registered in ``engram_probe.arch.loading``, on a tiny random model
directory of that architecture (``tests/helpers.TINY_ARCHITECTURES``), loaded through the registry.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

from engram_probe.arch.loaded import ModelFileError
from engram_probe.arch.loading import open_model, registered
from engram_probe.arch.tl_adapter import RecordingHookPoint, query_hook
from engram_probe.arch.workbench import EngramTransformer
from engram_probe.audit.paired import paired_run
from engram_probe.audit.proof import bit_exact_proof
from engram_probe.audit.readmap import classify_positions, read_map
from engram_probe.memory import MemoryOverlay, UserMemory
from engram_probe.memory.writing import STRATEGIES, FactSpec, FactWriter, WriteSettings
from tests.helpers import TINY_ARCHITECTURES, LeakyOverlay, tiny_cfg
from tests.unit.test_docs import documented_hooks

ARCHITECTURES = sorted(TINY_ARCHITECTURES)
TRIGGER, ANSWER = "the dog ran to", "park"
PROBE = "hello there. the dog ran to"
SETTINGS = WriteSettings(opt_steps=3, opt_max_steps=0, joint_steps=3, joint_max_steps=0)


@pytest.fixture(scope="module", params=ARCHITECTURES)
def arch(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Any, Path]:
    name = request.param
    root = tmp_path_factory.mktemp(name.replace("-", "_")) / "model"
    weights = TINY_ARCHITECTURES[name].write(root)
    return name, open_model(root, **TINY_ARCHITECTURES[name].options(root)), weights


@pytest.fixture(scope="module")
def memory(arch: tuple[str, Any, Path]) -> UserMemory:
    _, lm, _ = arch
    # a one-token answer: the rows of later answer positions collide with position 1 in these tiny tables,
    # and the proof test needs an untouched position before the write site
    spec = replace(FactSpec.of(TRIGGER, ANSWER), answer_limit=1)
    res = FactWriter(lm.model, lm.tokenizer, SETTINGS).write(UserMemory("ann"), [spec], "opt")
    return UserMemory("ann", res.facts)


def test_every_registered_architecture_has_a_tiny_model_here() -> None:
    assert {loader.name for loader in registered()} == set(TINY_ARCHITECTURES)


def test_the_registry_loads_each_directory_as_its_own_architecture(arch: tuple[str, Any, Path]) -> None:
    name, lm, _ = arch
    assert lm.model.architecture == name and lm.weights_sha256 == lm.model.weights_digest()


def test_every_hook_records_with_positions_on_its_declared_axis(arch: tuple[str, Any, Path]) -> None:
    _, lm, _ = arch
    tokens = torch.tensor([lm.tokenizer.encode(PROBE)])
    _, cache = lm.model.forward_recorded(tokens)
    assert set(cache) == set(lm.model.hook_dict) == set(lm.model.hook_axes)
    wrong = {n: tuple(v.shape) for n, v in cache.items() if v.shape[lm.model.position_axis(n)] != tokens.shape[1]}
    assert not wrong, f"hooks whose declared position axis is not {tokens.shape[1]} long: {wrong}"


def test_the_proof_passes_on_a_clean_overlay_and_fails_on_a_leaky_one(
    arch: tuple[str, Any, Path], memory: UserMemory
) -> None:
    _, lm, _ = arch
    ids = lm.tokenizer.encode(PROBE)
    overlay = MemoryOverlay([memory])
    classes = classify_positions(len(ids), read_map(lm.model.hasher, overlay, ids))
    assert classes[1] == "untouched" and "write_site" in classes
    good = bit_exact_proof(paired_run(lm.model, torch.tensor([ids]), overlay), classes)
    assert good["identical"] and good["pairs_compared"] > 0
    bad = bit_exact_proof(paired_run(lm.model, torch.tensor([ids]), LeakyOverlay(overlay)), classes)
    assert not bad["identical"] and 1 in {m["position"] for m in bad["mismatches"]}


def test_the_hooks_page_lists_exactly_this_architectures_hooks(arch: tuple[str, Any, Path]) -> None:
    name, lm, _ = arch
    assert documented_hooks(lm.cfg, TINY_ARCHITECTURES[name].docs_section) == set(lm.model.hook_dict)


def test_blank_copy_computes_the_same_and_shares_no_weights(arch: tuple[str, Any, Path]) -> None:
    _, lm, _ = arch
    copy = lm.model.blank_copy()
    tokens = torch.tensor([lm.tokenizer.encode(PROBE)])
    assert type(copy) is type(lm.model) and copy.weights_digest() == lm.model.weights_digest()
    assert torch.equal(copy(tokens), lm.model(tokens))
    with torch.no_grad():
        copy.unembed.weight.add_(1.0)
    assert lm.model.weights_digest() == lm.weights_sha256 != copy.weights_digest()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_each_writer_writes_rows_the_model_reads_and_leaves_the_weights(
    arch: tuple[str, Any, Path], strategy: str
) -> None:
    _, lm, _ = arch
    res = FactWriter(lm.model, lm.tokenizer, SETTINGS).write(UserMemory("bo"), [FactSpec.of(TRIGGER, ANSWER)], strategy)
    (fact,) = res.facts
    assert fact.layer in lm.cfg.engram_layers and fact.values.shape[1] == lm.cfg.dim_per_head
    tokens = torch.tensor([lm.tokenizer.encode(TRIGGER)])
    edited = lm.model(tokens, overlay=MemoryOverlay([UserMemory("bo", res.facts)]))
    assert not torch.equal(edited[0, -1], lm.model(tokens)[0, -1])
    assert lm.model.weights_digest() == lm.weights_sha256


def test_the_loader_refuses_a_truncated_weights_file(arch: tuple[str, Any, Path], tmp_path: Path) -> None:
    name, _, _ = arch
    weights = TINY_ARCHITECTURES[name].write(tmp_path / "m")
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match=weights.name):
        open_model(tmp_path / "m", **TINY_ARCHITECTURES[name].options(tmp_path / "m"))


def test_an_unrecognised_directory_is_told_what_each_architecture_needs(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(ModelFileError) as err:
        open_model(tmp_path)
    for loader in registered():
        assert f"{loader.name} needs {loader.needs}" in str(err.value)
    assert "model.safetensors" in str(err.value) and "model.pt" in str(err.value)


class _UndeclaredHook(EngramTransformer):
    def init_weights(self) -> None:
        self.hook_extra = RecordingHookPoint()  # no position axis
        super().init_weights()


def test_a_hook_without_a_declared_axis_is_refused_when_the_model_is_built() -> None:
    with pytest.raises(ValueError, match="hook_extra declares no position axis"):
        _UndeclaredHook(tiny_cfg())


class _QueryAxisHook(EngramTransformer):
    """A hook of a new shape, [batch, 3, pos, d_model], whose name says nothing about its position axis."""

    def init_weights(self) -> None:
        self.hook_stack = query_hook()
        super().init_weights()

    def compute_logits(self, tokens: torch.Tensor, addresses: dict[int, torch.Tensor], overlay: Any) -> torch.Tensor:
        logits = super().compute_logits(tokens, addresses, overlay)
        self.hook_stack(logits.unsqueeze(1).expand(-1, 3, -1, -1))
        return logits


def test_the_proof_slices_each_hook_on_the_axis_it_declares() -> None:
    model = _QueryAxisHook(tiny_cfg()).eval()
    assert model.position_axis("hook_stack") == 2
    tokens = torch.arange(10).unsqueeze(0)
    classes = ["untouched"] * 10
    run = paired_run(model, tokens, None)
    proof = bit_exact_proof(run, classes)
    assert proof["identical"] and proof["hooks"] == len(model.hook_dict)
    per_position = {n: v.numel() // v.shape[model.position_axis(n)] for n, v in run.base.items()}
    assert proof["values_compared"] == 10 * sum(per_position.values())
    run.edited["hook_stack"] = run.edited["hook_stack"].clone()
    run.edited["hook_stack"][0, :, 7] += 1.0  # query position 7 of the new hook, on every one of its 3 slices
    found = bit_exact_proof(run, classes)["mismatches"]
    assert [(m["hook"], m["position"], m["values_differing"]) for m in found] == [("hook_stack", 7, 3 * 64)]
