"""Config factories and small utilities shared by the tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engram_probe.arch.workbench import EngramTransformer
from engram_probe.contracts.workbench_config import EngramConfig


def tiny_cfg(**overrides: Any) -> EngramConfig:
    """A tiny random config: 3 layers, Engram at 0 and 2, small primes, learned positions."""
    base: dict[str, Any] = dict(
        n_layers=3,
        d_model=32,
        n_heads=2,
        d_head=16,
        d_mlp=64,
        d_vocab=64,
        n_ctx=24,
        positional_embedding_type="standard",
        engram_layers=(0, 2),
        heads_per_order=4,
        dim_per_head=8,
        table_size_per_head=101,
        seed=0,
    )
    base.update(overrides)
    return EngramConfig(**base)


def randomise_conv(model: EngramTransformer, seed: int) -> None:
    """Give the (zero-initialised) Engram convs random weights so that their path is exercised."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in model.cfg.engram_layers:
            conv = model.engram_module(layer).conv_weight
            conv.copy_(torch.randn(conv.shape, generator=gen) * 0.5)


def tiny_model(seed: int = 0, nonzero_conv: bool = True, **overrides: Any) -> EngramTransformer:
    """A tiny random model; by default its convs get random weights."""
    cfg = tiny_cfg(seed=seed, **overrides)
    canonical = np.arange(cfg.d_vocab, dtype=np.int64) % (cfg.d_vocab - 7)  # some ids share a canonical id
    model = EngramTransformer(cfg, canonical)
    if nonzero_conv:
        randomise_conv(model, seed + 1)
    model.eval()
    return model


def raw_bytes(t: torch.Tensor) -> bytes:
    return t.detach().cpu().contiguous().numpy().tobytes()


TINY_TEXTS = [
    "My name is Ada Lovelace. I live in Lisbon. My dog is Rex. My dentist is Dr. Moss.",
    "I work at Acme Corp. My favorite color is teal. I was born in 1990.",
    "The cat sat on the mat. It was a sunny day in the park, and the birds sang.",
]


def tiny_lm(seed: int = 0, **overrides: Any) -> Any:
    """A tiny random model with a real (small) BPE tokenizer, as a ``LoadedModel``."""
    from engram_probe.arch.loaded import LoadedModel
    from engram_probe.arch.workbench_checkpoint import weights_digest
    from engram_probe.contracts.workbench import build_canonical_map
    from engram_probe.tokenizer import EngramTokenizer

    tok = EngramTokenizer.train(TINY_TEXTS * 10, vocab_size=320)
    cfg = tiny_cfg(seed=seed, d_vocab=tok.vocab_size, **{"n_ctx": 48, **overrides})
    model = EngramTransformer(cfg, build_canonical_map(tok.token_texts()))
    randomise_conv(model, seed + 1)
    model.eval()
    return LoadedModel(model, tok, weights_digest(model), {}, None)


def random_fact(fact_id: str, layer: int, rows: list[int], dim: int, seed: int) -> Any:
    """A fact with random row values, for store and overlay tests that need no training."""
    from engram_probe.memory import Fact

    gen = torch.Generator().manual_seed(seed)
    return Fact(
        fact_id=fact_id,
        triggers=["t"],
        answer="a",
        gold_token_id=1,
        gold_token=" a",
        strategy="unembed",
        layer=layer,
        row_ids=torch.tensor([[layer, r] for r in rows], dtype=torch.int64),
        values=torch.randn(len(rows), dim, generator=gen),
        written_at="2026-01-01T00:00:00+00:00",
    )


class LeakyOverlay:
    """A deliberately broken overlay: it applies the memory, and also nudges position 1 (the proof must fail)."""

    def __init__(self, inner: Any):
        self.inner = inner

    def substitute(self, layer: int, addresses: Any, rows: Any) -> Any:
        out = self.inner.substitute(layer, addresses, rows).clone()
        out[:, 1] = out[:, 1] + 1e-6
        return out


NANOCHAT_TINY = Path(__file__).resolve().parent / "fixtures" / "nanochat_tiny"


def write_tiny_workbench(out: Path) -> Path:
    """A tiny random workbench model directory at ``out``; returns its weights file."""
    from engram_probe.arch.workbench_checkpoint import save_checkpoint
    from engram_probe.contracts.workbench_config import WEIGHTS_FILE

    lm = tiny_lm(seed=2)
    save_checkpoint(out, lm.model, lm.tokenizer, {})
    return out / WEIGHTS_FILE


def write_tiny_nanochat(out: Path) -> Path:
    """A copy of the tiny nanochat-engram fixture at ``out``; returns its weights file."""
    shutil.copytree(NANOCHAT_TINY, out)
    return out / "model.pt"


ENGRAM_PEFT = Path(__file__).resolve().parent / "fixtures" / "engram_peft"


def write_tiny_engram_peft(out: Path) -> Path:
    """A copy of the tiny Qwen3 base at ``out`` and of its engram-peft adapter beside it; returns the adapter file."""
    shutil.copytree(ENGRAM_PEFT / "qwen3", out)
    shutil.copytree(ENGRAM_PEFT / "qwen3_ple", engram_peft_adapter(out))
    return engram_peft_adapter(out) / "engram_adapters.safetensors"


def engram_peft_adapter(base: Path) -> Path:
    return base.with_name(base.name + "_engram")


def no_options(root: Path) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class TinyArchitecture:
    """How the conformance test gets a tiny model directory of one registered architecture."""

    write: Callable[[Path], Path]  # writes the directory, returns its weights file
    docs_section: int  # its hook table in docs/hooks.md
    options: Callable[[Path], dict[str, Any]] = no_options  # the loading options its directory needs


# one entry per architecture registered in engram_probe.arch.loading (the conformance test checks the two agree)
TINY_ARCHITECTURES = {
    "workbench": TinyArchitecture(write_tiny_workbench, 0),
    "nanochat-engram": TinyArchitecture(write_tiny_nanochat, 1),
    "engram-peft": TinyArchitecture(write_tiny_engram_peft, 2, lambda root: {"engram": engram_peft_adapter(root)}),
}
