"""The shipped model's config and directory layout (TransformerLens field names plus an Engram section).

It lives with the contracts because the shipped address contract is read from this config; the architecture
builds its model from the same class.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engram_probe.contracts.fields import (
    INT64_MAX,
    MAX_NGRAM,
    MIN_NGRAM,
    POSITIVE,
    Flag,
    Int,
    IntList,
    Number,
    Rule,
    Text,
    check_fields,
    refuse,
)

# The shipped model's directory: its files, and where the default model lives.
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "config.json"
TRAINING_FILE = "training.json"
DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "assets" / "default"


_RULES: dict[str, Rule] = {
    "n_layers": POSITIVE,
    "d_model": POSITIVE,
    "n_heads": POSITIVE,
    "d_head": POSITIVE,
    "d_mlp": POSITIVE,
    "d_vocab": POSITIVE,
    "n_ctx": Int(),  # its lower bound keeps the message the train command prints
    "act_fn": Text(),
    "normalization_type": Text(),
    "positional_embedding_type": Text(),
    "eps": Number(gt=0),
    "attn_only": Flag(),
    "ngram_orders": IntList(MIN_NGRAM, MAX_NGRAM, distinct=True),
    "heads_per_order": POSITIVE,
    "dim_per_head": POSITIVE,
    "table_size_per_head": Int(3, INT64_MAX),
    "conv_kernel": POSITIVE,
    "conv_dilation": POSITIVE,
    "seed": Int(0, INT64_MAX),
}

# Where writes go unless told. The early Engram layer leaves more blocks to separate facts that read the
# same rows (two "<name> was born in" prompts): joint recall on u000-u019 is 0.972 there, 0.946 late.
DEFAULT_LAYER = "early"


@dataclass(frozen=True)
class EngramConfig:
    """Configuration of an :class:`~engram_probe.arch.workbench.EngramTransformer`.

    The first block of fields uses TransformerLens names so that ``ActivationCache``
    helpers and readers who know TransformerLens find what they expect. The defaults are the
    shipped model's (``engram_probe/assets/default/config.json``).
    """

    n_layers: int = 6
    d_model: int = 128
    n_heads: int = 4
    d_head: int = 32
    d_mlp: int = 512
    d_vocab: int = 4096
    n_ctx: int = 512
    act_fn: str = "gelu"
    normalization_type: str = "RMSPre"
    positional_embedding_type: str = "rotary"
    eps: float = 1e-6
    attn_only: bool = False
    # Engram section.
    engram_layers: tuple[int, ...] = (1, 4)
    ngram_orders: tuple[int, ...] = (2, 3)
    heads_per_order: int = 8
    dim_per_head: int = 16
    table_size_per_head: int = 16384
    conv_kernel: int = 4
    conv_dilation: int = 3
    seed: int = 0
    # Free-form provenance (tokenizer name etc.); not part of the architecture.
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        check_fields({f.name: getattr(self, f.name) for f in dataclasses.fields(self)}, _RULES, "", ValueError)
        if not isinstance(self.extra, dict):
            raise refuse("", "extra", "a JSON object", self.extra, ValueError)
        # empty for the no-Engram twin the training run makes beside the model
        depth = IntList(0, self.n_layers - 1, distinct=True, note=f"(n_layers is {self.n_layers})", empty=True)
        object.__setattr__(
            self, "engram_layers", tuple(depth.check("engram_layers", self.engram_layers, "", ValueError))
        )
        object.__setattr__(self, "ngram_orders", tuple(int(x) for x in self.ngram_orders))
        if list(self.ngram_orders) != sorted(set(self.ngram_orders)):
            raise refuse("", "ngram_orders", "in ascending order", list(self.ngram_orders), ValueError)
        if self.n_heads * self.d_head != self.d_model:
            raise ValueError(
                f"n_heads * d_head must equal d_model, got {self.n_heads} * {self.d_head} != {self.d_model}"
            )
        if self.n_ctx < 2:
            raise ValueError(f"n_ctx must be at least 2, got {self.n_ctx}")
        if self.positional_embedding_type not in ("standard", "rotary"):
            raise ValueError(
                f"positional_embedding_type must be standard or rotary, got {self.positional_embedding_type!r}"
            )
        if self.positional_embedding_type == "rotary" and self.d_head % 2:
            raise ValueError("rotary positions need an even d_head")
        if self.table_size_per_head < 3:
            raise ValueError("table_size_per_head must be at least 3")

    @property
    def n_engram_heads(self) -> int:
        """Hash heads (= rows read) per position per Engram layer."""
        return len(self.ngram_orders) * self.heads_per_order

    @property
    def engram_hidden(self) -> int:
        """Width of the concatenated rows fed to ``W_K`` and ``W_V``."""
        return self.n_engram_heads * self.dim_per_head

    @property
    def max_ngram(self) -> int:
        return max(self.ngram_orders)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EngramConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config fields: {sorted(unknown)}")
        return cls(**data)

    def replace(self, **changes: Any) -> EngramConfig:
        return dataclasses.replace(self, **changes)
