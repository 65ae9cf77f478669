"""The multiplicative-XOR family: the shipped model, the paper's nanochat models and DeepSeek-V4.1.

All three share one rule. Per Engram layer L, ``numpy.random.default_rng(seed + 10007·L)``
draws one odd multiplier per shift; at position p the XOR of ``c[p−s]·mult[s]`` over shifts
s < n is the n-gram's mix; column (n, h) reads ``mix % prime + offset``. Primes are the
smallest unused primes above ``base_size − 1`` (one set across all layers, orders and heads);
offsets are each layer's exclusive prefix sum of its primes. Positions before the start, and
(where the model has them) masked DEAD positions, block every longer n-gram and read the pad id.

The window is named by ``window``. ``"suffix"`` (every model above) hashes the n tokens ending at p,
newest first: ``c[p−s]·mult[s]``. ``"prefix"`` (engram-peft) hashes the first n tokens of the longest
order's window ending at p, oldest first: ``c[p−(N−1)+j]·mult[j]`` for j < n, N the longest order, so
with orders (2, 3) the bigram is (p−2, p−1) and leaves out the current token.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from jaxtyping import Int

from engram_probe.contracts.base import (
    AddressContract,
    Check,
    Column,
    ContractError,
    RowFormat,
    array_digest,
    token_array,
)
from engram_probe.contracts.primes import next_primes

INT64_MAX = int(np.iinfo(np.int64).max)
LAYER_SEED_STRIDE = 10007
DEAD = -1  # a masked position's compressed id
WINDOWS = ("suffix", "prefix")


def multiplier_bound(compressed_vocab: int) -> int:
    """Upper bound (exclusive) of the drawn integers; keeps every product below 2^63."""
    return max(1, (INT64_MAX // compressed_vocab) // 2)


def draw_multipliers(seed: int, layer: int, count: int, compressed_vocab: int) -> np.ndarray:
    """The ``count`` odd multipliers of one layer (int64)."""
    rng = np.random.default_rng(seed + LAYER_SEED_STRIDE * layer)
    r = rng.integers(0, multiplier_bound(compressed_vocab), size=count, dtype=np.int64)
    return 2 * r + 1


def layer_primes(
    layers: Sequence[int], orders: Sequence[int], heads_per_order: int, base_size: int
) -> dict[int, list[list[int]]]:
    """Primes per layer, per order, per head: each order restarts above ``base_size − 1``; none repeats."""
    used: set[int] = set()
    out: dict[int, list[list[int]]] = {}
    for layer in layers:
        out[layer] = []
        for _order in orders:
            primes = next_primes(base_size - 1, heads_per_order, used)
            used.update(primes)
            out[layer].append(primes)
    return out


class MultXorContract(AddressContract):
    """One contract of the multiplicative-XOR family; see the module docstring for the rule."""

    family = "multiplicative-xor"
    salt_rule = "mix_n ^= salt before the modulo, for every order n"

    def __init__(
        self,
        *,
        name: str,
        version: str,
        layers: Sequence[int],
        orders: Sequence[int],
        heads_per_order: int,
        base_size: int,
        compressed_vocab: int,
        pad_id: int,
        row_format: RowFormat,
        source: str,
        seed: int = 0,
        compressed_map: np.ndarray | None = None,
        allows_dead: bool = False,
        tokenizer: Any = None,
        window: str = "suffix",
    ):
        self.name, self.version, self.source = name, version, source
        if window not in WINDOWS:
            raise ContractError(f"{name}: the n-gram window must be one of {', '.join(WINDOWS)}, got {window!r}")
        if window != "suffix" and allows_dead:
            raise ContractError(f"{name}: masked (DEAD) positions are defined for the suffix window only")
        self.window = window
        self.layers = tuple(int(x) for x in layers)
        self.orders = tuple(int(n) for n in orders)
        if any(n < 2 for n in self.orders) or list(self.orders) != sorted(set(self.orders)):
            raise ContractError(f"{name}: n-gram orders must be distinct, ascending and >= 2, got {list(self.orders)}")
        if heads_per_order < 1 or base_size < 3:
            raise ContractError(f"{name}: heads per order must be >= 1 and the table base size >= 3")
        self.max_ngram = max(self.orders)
        self.heads_per_order = int(heads_per_order)
        self.base_size = int(base_size)
        self.seed = int(seed)
        self.compressed_vocab = int(compressed_vocab)
        if self.compressed_vocab < 1:
            raise ContractError(f"{name}: compressed vocabulary size must be >= 1")
        self.compressed_map = None if compressed_map is None else np.asarray(compressed_map, dtype=np.int64)
        if self.compressed_map is not None:
            size = int(self.compressed_map.max()) + 1 if self.compressed_map.size else 0
            if size != self.compressed_vocab:
                raise ContractError(
                    f"{name}: the compressed map has {size} ids but the compressed vocabulary size is "
                    f"{self.compressed_vocab}"
                )
        if not 0 <= pad_id < self.compressed_vocab:
            raise ContractError(f"{name}: pad id {pad_id} is not a compressed id (0..{self.compressed_vocab - 1})")
        self.pad_id = int(pad_id)
        self.allows_dead = allows_dead
        self.row_format = row_format
        self.tokenizer = tokenizer
        self.multipliers = {
            L: draw_multipliers(self.seed, L, self.max_ngram, self.compressed_vocab) for L in self.layers
        }
        self._columns: dict[int, list[Column]] = {}
        for L, per_order in layer_primes(self.layers, self.orders, self.heads_per_order, self.base_size).items():
            cols: list[Column] = []
            offset = 0
            for order, primes in zip(self.orders, per_order, strict=True):
                for h, p in enumerate(primes):
                    cols.append(Column(L, len(cols), order, h, p, offset))
                    offset += p
            self._columns[L] = cols
        self._sizes = {L: np.array([c.size for c in cs], dtype=np.int64) for L, cs in self._columns.items()}
        self._offsets = {L: np.array([c.offset for c in cs], dtype=np.int64) for L, cs in self._columns.items()}

    # --------------------------------------------------------------- structure
    def columns(self, layer: int) -> list[Column]:
        self.check_layer(layer)
        return self._columns[layer]

    def primes(self, layer: int) -> np.ndarray:
        self.check_layer(layer)
        return self._sizes[layer].copy()

    def offsets(self, layer: int) -> np.ndarray:
        self.check_layer(layer)
        return self._offsets[layer].copy()

    # --------------------------------------------------------------- addressing
    @property
    def raw_vocab(self) -> int | None:
        return None if self.compressed_map is None else len(self.compressed_map)

    def compress(self, token_ids: np.ndarray) -> np.ndarray:
        """Compressed ids; without a map, the ids are taken as compressed ids already."""
        ids = token_array(token_ids)
        cmap = self.compressed_map
        mapped = cmap is not None
        limit = self.compressed_vocab if cmap is None else len(cmap)
        if ids.size == 0:
            return ids
        low, high = int(ids.min()), int(ids.max())
        if high >= limit or low < (DEAD if self.allows_dead else 0):
            what = "token id" if mapped else "compressed id"
            dead = f" (or {DEAD} for a masked position)" if self.allows_dead else ""
            raise ContractError(f"{what} out of range 0..{limit - 1}{dead}: got {low}..{high}")
        if cmap is None:
            return ids
        if low < 0:
            return np.where(ids < 0, DEAD, cmap[np.maximum(ids, 0)])
        return cmap[ids]

    def hash_inputs(self, token_ids: np.ndarray) -> np.ndarray:
        return self.compress(token_ids)

    def order_mixes(self, token_ids: np.ndarray, layer: int) -> list[np.ndarray]:
        """The XOR mix of each order's n-gram (see ``window``): one contiguous [..., T] int64 array per order."""
        self.check_layer(layer)
        c = self.compress(token_ids)
        m = self.multipliers[layer]
        t = c.shape[-1]
        base = self.max_ngram - 1
        dead = self.allows_dead and c.size > 0 and bool((c < 0).any())
        pad_width = [(0, 0)] * (c.ndim - 1) + [(base, 0)]
        padded = np.pad(c, pad_width, constant_values=DEAD if dead else self.pad_id)
        mix = np.zeros(c.shape, dtype=np.int64)
        blocked = np.zeros(c.shape, dtype=bool) if dead else None
        out: list[np.ndarray] = []
        done = 0
        for order in self.orders:
            for s in range(done, order):
                # suffix: shift s is c[p-s]; prefix: shift s is c[p-base+s] (oldest first)
                start = base - s if self.window == "suffix" else s
                src = padded[..., start : start + t]
                if blocked is not None:
                    blocked |= src < 0  # a DEAD or missing source blocks this and every longer n-gram
                    src = np.where(blocked, self.pad_id, src)
                mix ^= src * m[s]
            done = order
            out.append(mix ^ self.salt if self.is_salted else mix.copy())  # non-negative: see user_salt
        return out

    def addresses_by_column(self, token_ids: np.ndarray, layer: int) -> Int[np.ndarray, "cols *batch pos"]:
        mixes = self.order_mixes(token_ids, layer)
        out = np.empty((len(self._columns[layer]), *mixes[0].shape), dtype=np.int64)
        order_index = {order: j for j, order in enumerate(self.orders)}
        for col in self._columns[layer]:
            # a scalar divisor takes numpy's fast integer-division path (about 10x an array divisor)
            np.remainder(mixes[order_index[col.order]], col.size, out=out[col.column])
            out[col.column] += col.offset
        return out

    def ngram_from(self, hashed: np.ndarray, position: int, order: int) -> tuple[int, ...]:
        if self.window == "suffix":
            return super().ngram_from(hashed, position, order)
        first = position - (self.max_ngram - 1)
        return tuple(int(hashed[first + j]) if first + j >= 0 else -1 for j in reversed(range(order)))

    # --------------------------------------------------------------- the shipped model's names
    @property
    def canonical_map(self) -> np.ndarray:
        """Raw id -> compressed id (identity when the contract takes compressed ids)."""
        if self.compressed_map is None:
            return np.arange(self.compressed_vocab, dtype=np.int64)
        return self.compressed_map

    def address_digest(self) -> str:
        """SHA-256 over the canonical map, multipliers and primes (the round-1 ``hash_sha256``)."""
        h = hashlib.sha256()
        h.update(self.canonical_map.tobytes())
        for layer in self.layers:
            h.update(self.multipliers[layer].tobytes())
            h.update(self._sizes[layer].tobytes())
        if self.is_salted:  # an unsalted contract keeps the digest it always had
            h.update(json.dumps(self.salt_json(), sort_keys=True).encode())
        return h.hexdigest()

    # --------------------------------------------------------------- identity
    def spec(self) -> dict[str, Any]:
        mix = (
            "mix_n(p) = XOR_{s<n} c[p-s]*mult[L][s]"
            if self.window == "suffix"
            else "mix_n(p) = XOR_{j<n} c[p-(N-1)+j]*mult[L][j], N = the longest order"
        )
        out = {
            "family": self.family,
            "rule": f"{mix}; row = mix_n % prime[L][n][h] + offset[L][col]; "
            "col = index of (n, h) in order-major order; c = compressed id, pad before the start"
            + (" and from the first DEAD (-1) source on" if self.allows_dead else ""),
            "layers": list(self.layers),
            "orders": list(self.orders),
            "heads_per_order": self.heads_per_order,
            "base_size": self.base_size,
            "seed": self.seed,
            "seed_rule": f"numpy.random.default_rng(seed + {LAYER_SEED_STRIDE} * layer)",
            "multiplier_bound": multiplier_bound(self.compressed_vocab),
            "multipliers": {str(L): [int(x) for x in m] for L, m in self.multipliers.items()},
            "compressed_vocab": self.compressed_vocab,
            "compressed_map": None
            if self.compressed_map is None
            else {"raw_vocab": len(self.compressed_map), "sha256": array_digest(self.compressed_map)},
            "pad_id": self.pad_id,
            "dead_positions": self.allows_dead,
        }
        if self.window != "suffix":  # the suffix window's contracts keep the JSON (and digest) they always had
            out["window"] = self.window
        return out

    def checks(self) -> list[Check]:
        out = []
        for L in self.layers:
            sizes = self._sizes[L]
            out.append(
                Check(
                    f"layer {L} primes",
                    bool(len(set(sizes.tolist())) == len(sizes) and sizes.min() > self.base_size - 1),
                    f"{len(sizes)} distinct primes, {int(sizes.min())}..{int(sizes.max())}, sum {int(sizes.sum())}",
                )
            )
        bound = multiplier_bound(self.compressed_vocab)
        ok = all(bool(((m % 2) == 1).all() and (m < 2 * bound + 1).all()) for m in self.multipliers.values())
        out.append(Check("multipliers", ok, f"odd and below 2*{bound}+1, so every product stays below 2^63"))
        return out
