"""The paper's nanochat-engram configuration (its GPTConfig fields), with the names the audit engine reads."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

import torch

from engram_probe.contracts.fields import INT64_MAX, NGRAM, POSITIVE, Int, IntList, Rule, Text, check_fields

GPT_FIELDS = (
    "sequence_len",
    "vocab_size",
    "n_layer",
    "n_head",
    "n_kv_head",
    "n_embd",
    "window_pattern",
    "engram_layer_ids",
    "engram_max_ngram_size",
    "engram_vocab_per_ngram",
    "engram_n_head_per_ngram",
    "engram_n_embed_per_ngram",
    "engram_kernel_size",
)
# One rule per GPTConfig field; engram_layer_ids is checked against n_layer once n_layer is known.
RULES: dict[str, Rule] = {
    "sequence_len": POSITIVE,
    "vocab_size": POSITIVE,
    "n_layer": POSITIVE,
    "n_head": POSITIVE,
    "n_kv_head": POSITIVE,
    "n_embd": POSITIVE,
    "window_pattern": Text(),
    "engram_max_ngram_size": NGRAM,
    "engram_vocab_per_ngram": Int(3, INT64_MAX),
    "engram_n_head_per_ngram": POSITIVE,
    "engram_n_embed_per_ngram": POSITIVE,
    "engram_kernel_size": POSITIVE,
}
SMEAR_CHANNELS = 24
VE_GATE_CHANNELS = 12
ROPE_BASE = 100_000.0
QK_SCALE = 1.2
SOFTCAP = 15.0


class UnsupportedConfig(ValueError):
    """A config field this implementation does not support; the message names it."""


@dataclass(frozen=True)
class NanochatConfig:
    """GPTConfig of a nanochat-engram checkpoint. Properties give the audit engine's field names."""

    sequence_len: int
    vocab_size: int
    n_layer: int
    n_head: int
    n_kv_head: int
    n_embd: int
    window_pattern: str = "L"
    engram_layer_ids: tuple[int, ...] = ()
    engram_max_ngram_size: int = 3
    engram_vocab_per_ngram: int = 50_000
    engram_n_head_per_ngram: int = 8
    engram_n_embed_per_ngram: int = 256
    engram_kernel_size: int = 4
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        check_fields({k: getattr(self, k) for k in GPT_FIELDS}, RULES, "", UnsupportedConfig)
        depth = IntList(0, self.n_layer - 1, distinct=True, note=f"(n_layer is {self.n_layer})")
        object.__setattr__(
            self,
            "engram_layer_ids",
            tuple(depth.check("engram_layer_ids", self.engram_layer_ids, "", UnsupportedConfig)),
        )
        if self.n_embd % self.n_head or self.n_head % self.n_kv_head:
            raise UnsupportedConfig(
                f"n_embd ({self.n_embd}) must divide by n_head ({self.n_head}), and n_head by n_kv_head "
                f"({self.n_kv_head})"
            )
        if self.n_embd < SMEAR_CHANNELS:
            raise UnsupportedConfig(f"n_embd must be at least {SMEAR_CHANNELS} (the smear gate reads 24 channels)")
        if set(self.window_pattern.upper()) - {"L"}:
            raise UnsupportedConfig(
                f"window_pattern {self.window_pattern!r}: sliding windows ('S') are not implemented; only 'L'"
            )
        if self.head_dim % 2:
            raise UnsupportedConfig(
                f"field n_embd / n_head (the head dim) must be even for rotary positions, "
                f"got {self.n_embd} / {self.n_head} = {self.head_dim}"
            )
        if self.engram_n_embed_per_ngram % self.engram_n_head_per_ngram:
            raise UnsupportedConfig("engram_n_embed_per_ngram must divide by engram_n_head_per_ngram")

    # ------------------------------------------------------------ derived sizes
    @property
    def padded_vocab(self) -> int:
        return -(-self.vocab_size // 64) * 64

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    @property
    def ve_layers(self) -> tuple[int, ...]:
        """Layers with value embeddings: the last layer and every second one below it."""
        return tuple(i for i in range(self.n_layer) if i % 2 == (self.n_layer - 1) % 2)

    @property
    def backout_layer(self) -> int:
        return self.n_layer // 2

    # ------------------------------------------------------------ names the audit engine reads
    n_layers = property(lambda self: self.n_layer)
    d_model = property(lambda self: self.n_embd)
    n_heads = property(lambda self: self.n_head)
    d_head = property(lambda self: self.head_dim)
    d_mlp = property(lambda self: 4 * self.n_embd)
    d_vocab = property(lambda self: self.vocab_size)
    n_ctx = property(lambda self: self.sequence_len)
    act_fn = "relu_sq"
    engram_layers = property(lambda self: self.engram_layer_ids)
    ngram_orders = property(lambda self: tuple(range(2, self.engram_max_ngram_size + 1)))
    heads_per_order = property(lambda self: self.engram_n_head_per_ngram)
    dim_per_head = property(lambda self: self.engram_n_embed_per_ngram // self.engram_n_head_per_ngram)
    table_size_per_head = property(lambda self: self.engram_vocab_per_ngram)
    conv_kernel = property(lambda self: self.engram_kernel_size)
    conv_dilation = property(lambda self: self.engram_max_ngram_size)
    max_ngram = property(lambda self: self.engram_max_ngram_size)
    seed = 0  # the reference never sets the hash seed
    eps = float(torch.finfo(torch.float32).eps)  # F.rms_norm's default for float32

    @property
    def n_engram_heads(self) -> int:
        return (self.engram_max_ngram_size - 1) * self.engram_n_head_per_ngram

    @property
    def engram_hidden(self) -> int:
        return self.n_engram_heads * self.dim_per_head

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in GPT_FIELDS}
        d["engram_layer_ids"] = list(self.engram_layer_ids)
        return {"architecture": "nanochat-engram", **d}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def replace(self, **changes: Any) -> NanochatConfig:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_saved(cls, data: dict[str, Any]) -> NanochatConfig:
        """From the checkpoint's config.json (argparse args + GPTConfig fields); only GPTConfig fields count."""
        missing = [k for k in GPT_FIELDS if k not in data and k not in ("window_pattern", "engram_kernel_size")]
        if missing:
            raise UnsupportedConfig(f"config.json lacks {missing}")
        fields = {k: data[k] for k in GPT_FIELDS if k in data}
        if not fields.get("engram_layer_ids"):
            raise UnsupportedConfig("engram_layer_ids is empty: this checkpoint has no Engram layers to audit")
        return cls(**fields, extra={k: v for k, v in data.items() if k not in GPT_FIELDS})
