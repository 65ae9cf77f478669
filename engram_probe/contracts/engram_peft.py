"""The address contract of an engram-peft 1.2.7 adapter folder, both engines, read with the workbench's own code.

``deepseek`` engine: the multiplicative-XOR family with three differences from DeepSeek's demo, each
named in :meth:`EngramPeftContract.notes`: the prefix window (orders (2, 3) hash (t−2, t−1) and
(t−2, t−1, t)), per-order primes above ``engram_vocab_size_per_ngram // n_head_per_ngram − 1``, and a
compressed map over the base vocabulary only, added tokens hashed with their raw id. ``qwen_ple``
engine: the Qwen PLE rule (raw ids, fixed multipliers, uint64, EOS cuts) on the one target layer.

Both are cross-checked against ``engram_adapters.safetensors`` (its ``{L}.multi_head_embedding.offsets``
and table shapes; only the header and the offsets are read). engram-peft re-derives
``compressed_vocab_size`` from whatever tokenizer it is given; here a tokenizer that gives another size is
refused, because every multiplier, and so every address, depends on it. engram-peft is never imported.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from engram_probe.contracts.base import Check, ContractError, RowFormat, token_array
from engram_probe.contracts.compression import compressed_map, load_tokenizer
from engram_probe.contracts.engram_peft_files import (
    PLE_EOS,
    PLE_HEADS,
    PLE_MULTIPLIERS,
    PLE_PRIMES_AFTER,
    WEIGHTS_FILE,
    AdapterConfig,
    SavedLayer,
    check_saved_layers,
    read_adapter_config,
    read_saved_layers,
    refuse_clean_up,
)
from engram_probe.contracts.fields import refuse
from engram_probe.contracts.multxor import MultXorContract
from engram_probe.contracts.ple import PleContract
from engram_probe.contracts.primes import next_primes

__all__ = [
    "EngramPeftContract",
    "EngramPeftPleContract",
    "deepseek_primes",
    "engram_peft_contract",
    "read_adapter_config",
]


def deepseek_primes(cfg: AdapterConfig) -> dict[int, list[list[int]]]:
    """engram-peft's primes: layers ascending, per order above ``size // heads − 1``, none used twice."""
    used: set[int] = set()
    out: dict[int, list[list[int]]] = {}
    for layer in sorted(cfg.target_layers):
        out[layer] = []
        for size in cfg.vocab_per_ngram:
            primes = next_primes(size // cfg.heads_per_ngram - 1, cfg.heads_per_ngram, used)
            used.update(primes)
            out[layer].append(primes)
    return out


class EngramPeftContract(MultXorContract):
    """engram-peft's ``deepseek`` engine: see the module docstring."""

    def __init__(
        self,
        cfg: AdapterConfig,
        tokenizer: Any,
        tokenizer_path: Path,
        weights: Path,
        saved: dict[int, SavedLayer] | None = None,
    ):
        self.adapter = cfg
        cmap = compressed_map(tokenizer, "raw-token-shared", added_tokens=False)
        size = int(cmap.max()) + 1 if cmap.size else 0
        if size != cfg.compressed_vocab_size:
            raise ContractError(
                f"{tokenizer_path}: compresses to {size} ids, but {cfg.where}: field compressed_vocab_size is "
                f"{cfg.compressed_vocab_size}; engram-peft would silently re-derive every address from this "
                "tokenizer: give the base model's own tokenizer"
            )
        if cfg.pad_id >= len(cmap):
            raise refuse(cfg.where, "pad_id", f"a base-vocabulary id (0..{len(cmap) - 1})", cfg.pad_id)
        self.pad_raw = cfg.pad_id
        self.full_vocab = int(tokenizer.get_vocab_size(with_added_tokens=True))
        primes = deepseek_primes(cfg)
        flat = {L: [p for per_order in ps for p in per_order] for L, ps in primes.items()}
        saved = saved if saved is not None else read_saved_layers(weights.parent)
        row_format = check_saved_layers(cfg, saved, flat, weights)
        super().__init__(
            name="engram-peft",
            version="1",
            layers=sorted(cfg.target_layers),
            orders=cfg.ngram_sizes,
            heads_per_order=cfg.heads_per_ngram,
            base_size=min(cfg.vocab_per_ngram) // cfg.heads_per_ngram,
            compressed_vocab=size,
            pad_id=int(cmap[cfg.pad_id]),
            row_format=row_format,
            source=f"{Path(cfg.where).name} + {WEIGHTS_FILE} + {tokenizer_path.name}",
            seed=cfg.seed,
            compressed_map=cmap,
            tokenizer=tokenizer,
            window="prefix",
        )
        # the family's primes share one base size; engram-peft's restart per order: put those in
        for L, cols in self._columns.items():
            self._columns[L] = [
                replace(c, size=p, offset=sum(flat[L][: c.column])) for c, p in zip(cols, flat[L], strict=True)
            ]
        self._sizes = {L: np.array(flat[L], dtype=np.int64) for L in self.layers}
        self._offsets = {L: np.array([c.offset for c in cs], dtype=np.int64) for L, cs in self._columns.items()}

    @property
    def raw_vocab(self) -> int | None:
        return self.full_vocab

    def compress(self, token_ids: np.ndarray) -> np.ndarray:
        """Compressed ids; an id past the base vocabulary (an added token) passes through raw, as engram-peft does."""
        ids = token_array(token_ids)
        if ids.size == 0:
            return ids
        cmap = self.compressed_map
        assert cmap is not None
        low, high = int(ids.min()), int(ids.max())
        if low < 0 or high >= self.full_vocab:
            raise ContractError(f"token id out of range 0..{self.full_vocab - 1}: got {low}..{high}")
        if high < len(cmap):
            return cmap[ids]
        return np.where(ids < len(cmap), cmap[np.minimum(ids, len(cmap) - 1)], ids)

    def address_digest(self) -> str:
        """As the family's, plus the window and the pass-through range (neither is in the map)."""
        h = hashlib.sha256(super().address_digest().encode())
        h.update(f"window={self.window};raw_vocab={self.full_vocab}".encode())
        return h.hexdigest()

    def spec(self) -> dict[str, Any]:
        out = super().spec()
        del out["base_size"]
        out.update(
            engine="deepseek",
            vocab_size_per_ngram=list(self.adapter.vocab_per_ngram),
            prime_rule="per layer (ascending) and order: the next unused primes above "
            "vocab_size_per_ngram // heads_per_order - 1",
            pad_token_id=self.pad_raw,
            raw_vocab=self.full_vocab,
            pass_through="ids from compressed_map.raw_vocab to raw_vocab - 1 (added tokens) are hashed raw",
        )
        return out

    def checks(self) -> list[Check]:
        out = [k for k in super().checks() if not k.name.endswith(" primes")]
        for L in self.layers:
            sizes = self._sizes[L]
            detail = f"{len(sizes)} distinct primes, {int(sizes.min())}..{int(sizes.max())}, sum {int(sizes.sum())}"
            out.append(Check(f"layer {L} primes", len(set(sizes.tolist())) == len(sizes), detail))
        out.append(Check("saved offsets", True, f"equal to {WEIGHTS_FILE}'s for layers {list(self.layers)}"))
        return out

    def notes(self) -> list[str]:
        """How this contract deviates from DeepSeek's Engram demo, in plain words."""
        n_max, cfg = self.max_ngram, self.adapter
        base = len(self.compressed_map) if self.compressed_map is not None else 0
        return [
            f"the window is the first n of the last {n_max} tokens: with n-gram sizes {list(self.orders)} the "
            f"{self.orders[0]}-gram hashes tokens t-{n_max - 1}..t-{n_max - self.orders[0]}"
            + (" and excludes the current token t" if self.orders[0] < n_max else "")
            + "; DeepSeek's demo hashes the n tokens ending at t",
            f"rows per head are engram_vocab_size_per_ngram // n_head_per_ngram ({cfg.vocab_per_ngram} // "
            f"{cfg.heads_per_ngram}, primes above that minus one), not engram_vocab_size_per_ngram per head",
            f"compression runs over the base vocabulary ({base} ids); added tokens "
            f"({self.full_vocab - base}) are excluded and hashed with their raw id",
            "a token whose text is a partial UTF-8 sequence is keyed on its raw token string, in the same key "
            "space as normalised texts",
            f"the pad is the compressed id ({self.pad_id}) of the saved pad_id {self.pad_raw}",
        ]

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "notes": self.notes()}


class EngramPeftPleContract(PleContract):
    """engram-peft's ``qwen_ple`` engine: the PLE rule, with its table under the adapter's target layer."""

    def __init__(self, cfg: AdapterConfig, sizes: list[int], row_format: RowFormat, tokenizer: Any, source: str):
        self.adapter = cfg
        super().__init__(
            name="engram-peft",
            version="1",
            eos_token_id=PLE_EOS,
            ngram_size=3,
            heads_per_ngram=PLE_HEADS,
            multipliers=PLE_MULTIPLIERS,
            head_sizes=sizes,
            head_offsets=[sum(sizes[:i]) for i in range(len(sizes))],
            padded_rows=None,
            row_format=row_format,
            source=source,
            vocab_size=None if tokenizer is None else int(tokenizer.get_vocab_size(with_added_tokens=True)),
            tokenizer=tokenizer,
        )
        layer = cfg.target_layers[0]
        self.layers = (layer,)
        self._columns = [replace(c, layer=layer) for c in self._columns]

    def spec(self) -> dict[str, Any]:
        return {**super().spec(), "engine": "qwen_ple", "layer": self.layers[0]}

    def notes(self) -> list[str]:
        return [
            "raw token ids (no compression), Qwen's fixed multipliers in uint64, current token first, "
            f"windows cut at EOS {PLE_EOS}",
            f"one table, under target layer {self.layers[0]} (the qwen3.8-ple contract keys its table 0)",
            "seed and engram_vocab_size_per_ngram are not used; head sizes are prime_sizes, or the first "
            f"{2 * PLE_HEADS} primes above {PLE_PRIMES_AFTER:,}",
        ]

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "notes": self.notes()}


def engram_peft_contract(
    adapter_dir: str | Path,
    tokenizer_path: str | Path | None = None,
    saved: tuple[Path, dict[int, SavedLayer]] | None = None,
) -> EngramPeftContract | EngramPeftPleContract:
    """The contract of an engram-peft adapter folder (or its config.json) with the base's tokenizer.json (or folder).

    The deepseek engine needs the tokenizer (its compressed map sets every multiplier); qwen_ple hashes raw
    ids and takes the tokenizer only to address text. ``saved``: the adapter file and its layers, where the caller
    has already read them (a trusted legacy pickle, which this module never opens)."""
    cfg = read_adapter_config(adapter_dir)
    weights = Path(cfg.where).parent / WEIGHTS_FILE if saved is None else saved[0]
    layers = read_saved_layers(weights.parent) if saved is None else saved[1]
    tok, tok_path = None, None
    if tokenizer_path is not None:
        tok_path = Path(tokenizer_path)
        tok = load_tokenizer(tok_path)
        tok_path = tok_path / "tokenizer.json" if tok_path.is_dir() else tok_path
    if cfg.engine == "deepseek":
        if tok is None or tok_path is None:
            raise ContractError(
                "engram-peft (deepseek engine) needs --tokenizer (the base model's tokenizer.json): its compressed "
                "map, and so its multipliers, come from the tokenizer"
            )
        refuse_clean_up(tok_path)
        return EngramPeftContract(cfg, tok, tok_path, weights, layers)
    sizes = cfg.prime_sizes or next_primes(PLE_PRIMES_AFTER, 2 * PLE_HEADS)
    row_format = check_saved_layers(cfg, layers, {cfg.target_layers[0]: sizes}, weights)
    source = f"{Path(cfg.where).name} + {WEIGHTS_FILE}" + (f" + {tok_path.name}" if tok_path is not None else "")
    return EngramPeftPleContract(cfg, sizes, row_format, tok, source)
