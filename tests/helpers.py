"""Config factories and small utilities shared by the tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from engram_probe.config import EngramConfig
from engram_probe.model import EngramTransformer


def tiny_cfg(**overrides: Any) -> EngramConfig:
    """A tiny random config: 3 layers, Engram at 0 and 2, small primes."""
    base: dict[str, Any] = dict(
        n_layers=3,
        d_model=32,
        n_heads=2,
        d_head=16,
        d_mlp=64,
        d_vocab=64,
        n_ctx=24,
        engram_layers=(0, 2),
        heads_per_order=4,
        dim_per_head=8,
        table_size_per_head=101,
        seed=0,
    )
    base.update(overrides)
    return EngramConfig(**base)


def tiny_model(seed: int = 0, nonzero_conv: bool = True, **overrides: Any) -> EngramTransformer:
    """A tiny random model; the conv is given random weights so that its path is exercised."""
    cfg = tiny_cfg(seed=seed, **overrides)
    canonical = np.arange(cfg.d_vocab, dtype=np.int64) % (cfg.d_vocab - 7)  # some ids share a canonical id
    model = EngramTransformer(cfg, canonical)
    if nonzero_conv:
        gen = torch.Generator().manual_seed(seed + 1)
        with torch.no_grad():
            for layer in cfg.engram_layers:
                conv = model.engram_module(layer).conv_weight
                conv.copy_(torch.randn(conv.shape, generator=gen) * 0.5)
    model.eval()
    return model


def raw_bytes(t: torch.Tensor) -> bytes:
    return t.detach().cpu().contiguous().numpy().tobytes()
