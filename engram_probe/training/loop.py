"""Pretraining of the default model (and its no-Engram twin) on the generated corpus."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from engram_probe.arch.base import next_token_loss
from engram_probe.arch.workbench import EngramTransformer
from engram_probe.contracts.workbench_config import EngramConfig
from engram_probe.tokenizer import EngramTokenizer


@dataclass(frozen=True)
class TrainSettings:
    steps: int = 1500
    batch_size: int = 16
    lr: float = 3e-3
    engram_lr_mult: float = 5.0
    weight_decay: float = 0.05
    warmup: int = 50
    seed: int = 0
    eval_windows: int = 256


def token_stream(tokenizer: EngramTokenizer, docs: list[str]) -> np.ndarray:
    """All documents, each preceded by BOS, as one int64 stream."""
    encoded = tokenizer.encode_batch(docs, bos=True)
    return np.fromiter((t for ids in encoded for t in ids), dtype=np.int64)


def heldout_windows(stream: np.ndarray, n_ctx: int, limit: int) -> torch.Tensor:
    n = min(limit, len(stream) // n_ctx)
    if n == 0:
        raise ValueError(f"held-out stream of {len(stream)} tokens is shorter than one window of {n_ctx}")
    return torch.from_numpy(stream[: n * n_ctx].reshape(n, n_ctx).copy())


@torch.no_grad()
def evaluate_loss(model: EngramTransformer, windows: torch.Tensor, batch_size: int = 32) -> float:
    """Mean next-token cross-entropy (nats/token) over fixed held-out windows."""
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(windows), batch_size):
        batch = windows[i : i + batch_size]
        loss = model(batch, return_type="loss")
        n = batch.shape[0] * (batch.shape[1] - 1)
        total += float(loss) * n
        count += n
    return total / count


def make_optimizer(model: EngramTransformer, s: TrainSettings) -> torch.optim.Optimizer:
    tables, decay, no_decay = [], [], []
    for name, p in model.named_parameters():
        if name.endswith("table.weight"):
            tables.append(p)
        elif p.ndim >= 2 and "embed" not in name:
            decay.append(p)
        else:
            no_decay.append(p)
    groups: list[dict[str, Any]] = [
        {"params": decay, "weight_decay": s.weight_decay, "lr_mult": 1.0},
        {"params": no_decay, "weight_decay": 0.0, "lr_mult": 1.0},
    ]
    if tables:
        groups.append({"params": tables, "weight_decay": 0.0, "lr_mult": s.engram_lr_mult})
    return torch.optim.AdamW(groups, lr=s.lr, betas=(0.9, 0.95))


def lr_at(step: int, s: TrainSettings) -> float:
    if step < s.warmup:
        return s.lr * (step + 1) / s.warmup
    progress = (step - s.warmup) / max(1, s.steps - s.warmup)
    return s.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def train_model(
    cfg: EngramConfig,
    canonical_map: np.ndarray,
    train_stream: np.ndarray,
    heldout: torch.Tensor,
    settings: TrainSettings,
    desc: str = "train",
    on_eval: Callable[[int, float], None] | None = None,
) -> tuple[EngramTransformer, dict[str, Any]]:
    """Train from scratch with a fixed seed; return the model and a log of what happened."""
    torch.manual_seed(settings.seed)
    model = EngramTransformer(cfg, canonical_map)
    opt = make_optimizer(model, settings)
    rng = np.random.default_rng(settings.seed)
    n_ctx = cfg.n_ctx
    max_start = len(train_stream) - n_ctx
    if max_start <= 0:
        raise ValueError("training stream is shorter than the context length")
    curve: list[tuple[int, float]] = []
    start = time.perf_counter()
    model.train()
    bar = tqdm(range(settings.steps), desc=desc, unit="step", mininterval=2.0)
    for step in bar:
        lr = lr_at(step, settings)
        for g in opt.param_groups:
            g["lr"] = lr * g["lr_mult"]
        starts = rng.integers(0, max_start, size=settings.batch_size)
        batch = torch.from_numpy(np.stack([train_stream[s : s + n_ctx] for s in starts]))
        logits = model(batch)
        loss = next_token_loss(logits, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 50 == 0 or step == settings.steps - 1:
            bar.set_postfix(loss=f"{loss.item():.3f}")
        if (step + 1) % max(1, settings.steps // 10) == 0:
            ev = evaluate_loss(model, heldout)
            curve.append((step + 1, ev))
            if on_eval:
                on_eval(step + 1, ev)
            model.train()
    seconds = time.perf_counter() - start
    model.eval()
    final = evaluate_loss(model, heldout)
    log = {
        "settings": asdict(settings),
        "train_seconds": round(seconds, 1),
        "heldout_loss": final,
        "heldout_curve": curve,
        "tokens_seen": settings.steps * settings.batch_size * n_ctx,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
    return model, log
