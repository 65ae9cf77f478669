"""The shipped default model: contract, determinism, size, and `engram-probe info`."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import torch

from engram_probe.arch.workbench_checkpoint import weights_digest
from engram_probe.contracts.workbench_config import DEFAULT_MODEL_DIR
from tests.helpers import raw_bytes

pytestmark = pytest.mark.integration

CONTRACT_HOOKS = ["hook_embed", "ln_final.hook_normalized"] + [
    f"blocks.{{i}}.{h}"
    for h in (
        "hook_resid_pre",
        "hook_resid_mid",
        "hook_resid_post",
        "hook_attn_out",
        "hook_mlp_out",
        "attn.hook_pattern",
    )
]
ENGRAM_HOOKS = ["hook_addresses", "hook_rows", "hook_gate", "hook_value", "hook_conv", "hook_out"]


def test_shape_of_the_default_model(shipped: Any) -> None:
    cfg = shipped.cfg
    assert cfg.n_layers >= 4
    assert len(cfg.engram_layers) == 2 and min(cfg.engram_layers) < max(cfg.engram_layers)
    assert cfg.n_engram_heads == 16
    total = sum(p.stat().st_size for p in DEFAULT_MODEL_DIR.iterdir())
    assert total <= 25 * 1000 * 1000
    assert shipped.weights_sha256 == weights_digest(shipped.model)
    # issue 12: a real context, tables where collisions are rare, and Engram beating its twin
    assert cfg.n_ctx >= 512 and cfg.positional_embedding_type == "rotary" and shipped.model.max_tokens >= 512
    assert all(shipped.model.hasher.primes(layer).min() >= 16_384 for layer in cfg.engram_layers)
    assert shipped.training["heldout"]["loss"] < shipped.training["heldout"]["loss_no_engram"]


def test_weights_are_stored_in_bf16_and_compute_in_float32(shipped: Any) -> None:
    from safetensors import safe_open

    with safe_open(str(DEFAULT_MODEL_DIR / "model.safetensors"), "pt") as f:
        assert f.metadata()["storage_dtype"] == "bfloat16"
        stored = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not a dict)
    state = shipped.model.state_dict()
    for name, t in stored.items():
        if t.is_floating_point():
            assert t.dtype == torch.bfloat16 and state[name].dtype == torch.float32
            assert raw_bytes(t.float()) == raw_bytes(state[name])


def test_every_contract_hook_exists_and_fires(shipped: Any) -> None:
    names = set(shipped.model.hook_dict)
    for i in range(shipped.cfg.n_layers):
        for h in CONTRACT_HOOKS:
            assert h.format(i=i) in names
    for layer in shipped.cfg.engram_layers:
        for h in ENGRAM_HOOKS:
            assert f"blocks.{layer}.engram.{h}" in names
    ids = torch.tensor([shipped.tokenizer.encode("My name is Harper and I live in Portland.")])
    _, cache = shipped.model.run_with_cache(ids)
    assert set(cache.keys()) == names
    assert cache["blocks.1.engram.hook_rows"].shape[-2:] == (16, shipped.cfg.dim_per_head)


def test_two_forwards_give_identical_bytes(shipped: Any) -> None:
    ids = torch.tensor([shipped.tokenizer.encode("The weather in the morning was cold, so I stayed home.")])
    with torch.no_grad():
        a = shipped.model(ids)
        b = shipped.model(ids)
    assert raw_bytes(a) == raw_bytes(b)


def test_info_json_reports_the_contract_fields() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "engram_probe.cli", "info", "--json"], capture_output=True, text=True, check=True
    )
    info = json.loads(out.stdout)
    assert len(info["model"]["sha256"]) == 64
    assert info["config"]["n_layers"] >= 4 and len(info["config"]["engram_layers"]) == 2
    assert info["params"]["total"] > info["params"]["engram_tables"] > 0
    assert isinstance(info["heldout"]["loss"], float) and isinstance(info["heldout"]["loss_no_engram"], float)
    assert info["heldout"]["loss"] < info["heldout"]["loss_no_engram"]
    assert info["shape"]["n_ctx"] >= 512 and info["shape"]["rows_per_head_min"] >= 16_384
    assert info["storage"] == "bfloat16"


def test_info_on_a_damaged_model_is_a_clear_error(tmp_path: Any) -> None:
    import shutil

    shutil.copytree(DEFAULT_MODEL_DIR, tmp_path / "m")
    w = tmp_path / "m" / "model.safetensors"
    w.write_bytes(w.read_bytes()[:1000])
    out = subprocess.run(
        [sys.executable, "-m", "engram_probe.cli", "info", "--model", str(tmp_path / "m")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert "truncated or corrupt" in out.stderr and "Traceback" not in out.stderr
