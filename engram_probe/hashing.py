"""Deterministic N-gram hashing: token compression, primes, and row addresses.

Pure numpy, vectorised, and independent of torch so that a corpus can be scanned
without running the model. Addresses depend only on the canonical token ids, the
config and the seed: they are identical in every process and on every machine.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engram_probe.config import EngramConfig

INT64_MAX = np.iinfo(np.int64).max
# Marks a token whose text is only whitespace, so that stripping does not merge it
# with the empty string (a private-use code point, never produced by real text).
WHITESPACE_SENTINEL = "\ue000"
REPLACEMENT_CHAR = "\ufffd"


def normalize_token_text(text: str) -> str:
    """Canonical form of one token's text: NFKC, strip accents, lowercase, collapse spaces."""
    norm = unicodedata.normalize("NFKC", text)
    norm = unicodedata.normalize("NFD", norm)
    norm = "".join(ch for ch in norm if not unicodedata.combining(ch))
    norm = norm.lower()
    norm = " ".join(norm.split()) if norm.strip() else norm
    if norm and not norm.strip():
        return WHITESPACE_SENTINEL
    return norm.strip()


def build_canonical_map(token_texts: Sequence[str]) -> np.ndarray:
    """Map raw token ids to canonical ids; tokens with equal normal forms share an id.

    Tokens whose text holds a partial UTF-8 sequence (U+FFFD) keep a unique id, since
    their normal form says nothing about the bytes they stand for.
    """
    key_to_id: dict[str, int] = {}
    out = np.empty(len(token_texts), dtype=np.int64)
    for raw_id, text in enumerate(token_texts):
        key = f"\x00raw:{raw_id}" if REPLACEMENT_CHAR in text else normalize_token_text(text)
        if key not in key_to_id:
            key_to_id[key] = len(key_to_id)
        out[raw_id] = key_to_id[key]
    return out


def is_prime(n: int) -> bool:
    """Deterministic trial division; enough for table sizes below ~10^9."""
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    f = 3
    while f * f <= n:
        if n % f == 0:
            return False
        f += 2
    return True


def next_primes(after: int, count: int, exclude: set[int]) -> list[int]:
    """The ``count`` smallest primes greater than ``after`` that are not in ``exclude``."""
    found: list[int] = []
    n = after + 1
    while len(found) < count:
        if n not in exclude and is_prime(n):
            found.append(n)
        n += 1
    return found


@dataclass(frozen=True)
class HeadInfo:
    """Where one hash head of one Engram layer lives in that layer's table."""

    head: int
    order: int
    head_in_order: int
    prime: int
    offset: int


class NgramHasher:
    """Multi-head multiplicative-XOR hash of suffix n-grams into per-layer tables."""

    def __init__(self, cfg: EngramConfig, canonical_map: np.ndarray, pad_id: int | None = None):
        self.cfg = cfg
        self.canonical_map = np.asarray(canonical_map, dtype=np.int64)
        if self.canonical_map.ndim != 1 or len(self.canonical_map) != cfg.d_vocab:
            raise ValueError(
                f"canonical map must have one entry per raw token ({cfg.d_vocab}), got shape {self.canonical_map.shape}"
            )
        self.compressed_vocab = int(self.canonical_map.max()) + 1
        self.pad_id = int(self.canonical_map[0]) if pad_id is None else int(pad_id)
        half_bound = (INT64_MAX // self.compressed_vocab) // 2
        self.multipliers: dict[int, np.ndarray] = {}
        self.heads: dict[int, list[HeadInfo]] = {}
        seen: set[int] = set()
        for layer in cfg.engram_layers:
            rng = np.random.default_rng(cfg.seed + 10007 * layer)
            r = rng.integers(0, half_bound, size=cfg.max_ngram, dtype=np.int64)
            self.multipliers[layer] = 2 * r + 1
            infos: list[HeadInfo] = []
            offset = 0
            for order in cfg.ngram_orders:
                primes = next_primes(cfg.table_size_per_head - 1, cfg.heads_per_order, seen)
                seen.update(primes)
                for k, p in enumerate(primes):
                    infos.append(HeadInfo(len(infos), order, k, p, offset))
                    offset += p
            self.heads[layer] = infos
        self._primes = {L: np.array([h.prime for h in hs], dtype=np.int64) for L, hs in self.heads.items()}
        self._offsets = {L: np.array([h.offset for h in hs], dtype=np.int64) for L, hs in self.heads.items()}

    def table_rows(self, layer: int) -> int:
        """Number of rows in the table of one Engram layer."""
        last = self.heads[layer][-1]
        return last.offset + last.prime

    def primes(self, layer: int) -> np.ndarray:
        return self._primes[layer].copy()

    def offsets(self, layer: int) -> np.ndarray:
        return self._offsets[layer].copy()

    def compress(self, token_ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(token_ids, dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self.canonical_map)):
            raise ValueError(f"token id out of range 0..{len(self.canonical_map) - 1}")
        return self.canonical_map[ids]

    def order_mixes(self, token_ids: np.ndarray, layer: int) -> list[np.ndarray]:
        """The XOR mix of each suffix n-gram, one contiguous [..., T] int64 array per order."""
        x = self.compress(token_ids)
        m = self.multipliers[layer]
        t = x.shape[-1]
        pad_width = [(0, 0)] * (x.ndim - 1) + [(self.cfg.max_ngram - 1, 0)]
        padded = np.pad(x, pad_width, constant_values=self.pad_id)
        base = self.cfg.max_ngram - 1
        mix = np.zeros(x.shape, dtype=np.int64)
        out = []
        done = 0
        for order in self.cfg.ngram_orders:
            for k in range(done, order):
                mix ^= padded[..., base - k : base - k + t] * m[k]
            done = order
            out.append(mix.copy())
        return out

    def mixes(self, token_ids: np.ndarray, layer: int) -> np.ndarray:
        """The XOR mix of each suffix n-gram: [..., T, n_orders] (int64)."""
        return np.stack(self.order_mixes(token_ids, layer), axis=-1)

    def addresses_by_head(self, token_ids: np.ndarray, layer: int) -> np.ndarray:
        """Global row ids, head-major: [n_engram_heads, ..., T] (each head's slice contiguous)."""
        mixes = self.order_mixes(token_ids, layer)
        out = np.empty((self.cfg.n_engram_heads, *mixes[0].shape), dtype=np.int64)
        order_index = {order: j for j, order in enumerate(self.cfg.ngram_orders)}
        for info in self.heads[layer]:
            # a scalar divisor lets numpy use its fast integer-division path (about 10x an array divisor)
            np.remainder(mixes[order_index[info.order]], info.prime, out=out[info.head])
            out[info.head] += info.offset
        return out

    def addresses(self, token_ids: np.ndarray, layer: int) -> np.ndarray:
        """Global row ids read at every position: [..., T, n_engram_heads] (int64, C-contiguous)."""
        return np.ascontiguousarray(np.moveaxis(self.addresses_by_head(token_ids, layer), 0, -1))

    def head_of_row(self, layer: int, row: int) -> HeadInfo:
        """The hash head whose slice of the table contains ``row``."""
        offsets = self._offsets[layer]
        idx = int(np.searchsorted(offsets, row, side="right")) - 1
        info = self.heads[layer][idx]
        if not 0 <= row - info.offset < info.prime:
            raise ValueError(f"row {row} is outside layer {layer}'s table")
        return info

    def digest(self) -> str:
        """SHA-256 over everything that determines addresses."""
        h = hashlib.sha256()
        h.update(self.canonical_map.tobytes())
        for layer in self.cfg.engram_layers:
            h.update(self.multipliers[layer].tobytes())
            h.update(self._primes[layer].tobytes())
        return h.hexdigest()
