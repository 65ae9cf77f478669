"""The shared adapter's settings, importable without torch or PEFT (the CLI builds its parser from them)."""

from __future__ import annotations

from dataclasses import dataclass

QKV_TARGETS = r"blocks\.\d+\.attn\.W_[QKV]"


@dataclass(frozen=True)
class AdapterSettings:
    """Defaults from the paper's shared adapter (rank 16 on Q/K/V, alpha 2r, 2,000 steps, lr 3e-4, batch 1)."""

    rank: int = 16
    alpha: int = 32
    target_modules: str = QKV_TARGETS
    lr: float = 3e-4
    steps: int = 2000
    max_len: int = 320
    seed: int = 42
