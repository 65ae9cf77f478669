"""Qwen3.8-Flash-Next's PLE n-gram table: raw ids, EOS-cut windows, uint64 products.

At position t the window is ``[x_t, x_{t-1}, x_{t-2}]``. A predecessor that does not exist
or is the EOS id cuts the window: it and every older slot become the EOS id (the current
token is never replaced). Order n mixes ``XOR_{j<n} ctx[j]·mult[j] (mod 2^64)``; head g of
order n is column ``(n − 2)·heads + g`` and reads ``mix % size[col] + offset[col]``. All
sixteen columns live in one packed table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from jaxtyping import Int

from engram_probe.contracts.base import AddressContract, Check, Column, ContractError, RowFormat, token_array

PLE_TABLE = 0  # the single packed table's "layer" key in read maps and overlays


class PleContract(AddressContract):
    """The PLE contract from the ``qwen4exp.ple.*`` constants."""

    family = "ple-uint64-xor"
    salt_rule = "mix_n ^= salt (as uint64) before the modulo, for every order n"

    def __init__(
        self,
        *,
        name: str,
        version: str,
        eos_token_id: int,
        ngram_size: int,
        heads_per_ngram: int,
        multipliers: Sequence[int],
        head_sizes: Sequence[int],
        head_offsets: Sequence[int],
        padded_rows: int | None,
        row_format: RowFormat,
        source: str,
        vocab_size: int | None = None,
        tokenizer: Any = None,
    ):
        self.name, self.version, self.source = name, version, source
        self.layers = (PLE_TABLE,)
        self.row_format = row_format
        self.tokenizer = tokenizer
        self.eos = int(eos_token_id)
        self.ngram_size = int(ngram_size)
        self.heads_per_ngram = int(heads_per_ngram)
        self.vocab_size = vocab_size
        n_cols = (self.ngram_size - 1) * self.heads_per_ngram
        if self.ngram_size < 2 or self.heads_per_ngram < 1:
            raise ContractError(f"{name}: ngram_size must be >= 2 and heads_per_ngram >= 1")
        if len(multipliers) != self.ngram_size:
            raise ContractError(
                f"{name}: layer_multipliers has {len(multipliers)} values, ngram_size needs {self.ngram_size}"
            )
        if len(head_sizes) != n_cols or len(head_offsets) != n_cols:
            raise ContractError(
                f"{name}: head_vocab_sizes ({len(head_sizes)}) and head_offsets ({len(head_offsets)}) must have "
                f"(ngram_size - 1) * heads_per_ngram = {n_cols} values"
            )
        if any(int(m) <= 0 or int(m) >= 2**64 for m in multipliers):
            raise ContractError(f"{name}: layer_multipliers must be in 1..2^64-1")
        if any(int(s) < 1 for s in head_sizes):
            raise ContractError(f"{name}: head_vocab_sizes must be positive")
        self.multipliers = np.array([int(m) for m in multipliers], dtype=np.uint64)
        self._columns = [
            Column(PLE_TABLE, c, 2 + c // self.heads_per_ngram, c % self.heads_per_ngram, int(s), int(o))
            for c, (s, o) in enumerate(zip(head_sizes, head_offsets, strict=True))
        ]
        expected = np.concatenate([[0], np.cumsum([int(s) for s in head_sizes])[:-1]]).tolist()
        if [int(o) for o in head_offsets] != expected:
            bad = next(i for i, (a, b) in enumerate(zip(head_offsets, expected, strict=True)) if int(a) != b)
            raise ContractError(
                f"{name}: head_offsets[{bad}] is {int(head_offsets[bad])}, but the running sum of head_vocab_sizes "
                f"gives {expected[bad]}"
            )
        self.addressable_rows = int(sum(int(s) for s in head_sizes))
        self.padded_rows = self.addressable_rows if padded_rows is None else int(padded_rows)
        if self.padded_rows < self.addressable_rows:
            raise ContractError(
                f"{name}: the table has {self.padded_rows} rows but its heads address {self.addressable_rows}"
            )

    def columns(self, layer: int) -> list[Column]:
        self.check_layer(layer)
        return self._columns

    def table_rows(self, layer: int) -> int:
        self.check_layer(layer)
        return self.addressable_rows

    def _check_ids(self, ids: np.ndarray) -> None:
        if ids.size == 0:
            return
        low, high = int(ids.min()), int(ids.max())
        limit = self.vocab_size if self.vocab_size is not None else 2**32
        if low < 0 or high >= limit:
            raise ContractError(f"token id out of range 0..{limit - 1}: got {low}..{high}")

    def order_mixes(self, token_ids: np.ndarray, layer: int) -> list[np.ndarray]:
        """uint64 mixes of each order (2..ngram_size), [..., T] each."""
        self.check_layer(layer)
        ids = token_array(token_ids)
        self._check_ids(ids)
        x = ids.astype(np.uint64)
        t = x.shape[-1]
        base = self.ngram_size - 1
        eos = np.uint64(self.eos)
        padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(base, 0)], constant_values=eos)
        mix = x * self.multipliers[0]
        cut = np.zeros(x.shape, dtype=bool)
        out = []
        for s in range(1, self.ngram_size):
            src = padded[..., base - s : base - s + t]
            cut |= src == eos  # a missing (padded as EOS) or EOS predecessor cuts this and older slots
            mix = mix ^ (np.where(cut, eos, src) * self.multipliers[s])
            out.append(mix ^ np.asarray(self.salt).astype(np.uint64) if self.is_salted else mix)
        return out

    def addresses_by_column(self, token_ids: np.ndarray, layer: int) -> Int[np.ndarray, "cols *batch pos"]:
        mixes = self.order_mixes(token_ids, layer)
        out = np.empty((len(self._columns), *mixes[0].shape), dtype=np.int64)
        for col in self._columns:
            rem = np.remainder(mixes[col.order - 2], np.uint64(col.size))
            out[col.column] = rem.astype(np.int64) + col.offset
        return out

    def hash_inputs(self, token_ids: np.ndarray) -> np.ndarray:
        return token_array(token_ids)

    def ngram_from(self, hashed: np.ndarray, position: int, order: int) -> tuple[int, ...]:
        out = [int(hashed[position])]
        cut = False
        for s in range(1, order):
            src = int(hashed[position - s]) if position - s >= 0 else self.eos
            cut = cut or src == self.eos
            out.append(self.eos if cut else src)
        return tuple(out)

    def spec(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "rule": "ctx = [x_t, x_t-1, x_t-2] with a missing or EOS predecessor and all older slots set to EOS; "
            "mix_n = XOR_{j<n} ctx[j]*mult[j] mod 2^64; col = (n-2)*heads_per_ngram + g; "
            "row = mix_n % head_vocab_sizes[col] + head_offsets[col]",
            "eos_token_id": self.eos,
            "ngram_size": self.ngram_size,
            "heads_per_ngram": self.heads_per_ngram,
            "layer_multipliers": [int(m) for m in self.multipliers],
            "head_vocab_sizes": [c.size for c in self._columns],
            "head_offsets": [c.offset for c in self._columns],
            "addressable_rows": self.addressable_rows,
            "padded_rows": self.padded_rows,
            "vocab_size": self.vocab_size,
        }

    def checks(self) -> list[Check]:
        from engram_probe.contracts.primes import is_prime

        sizes = [c.size for c in self._columns]
        return [
            Check("head sizes prime", all(is_prime(s) for s in sizes), f"{len(sizes)} sizes {sizes[0]}..{sizes[-1]}"),
            Check("offsets", True, "head_offsets are the exclusive running sum of head_vocab_sizes"),
            Check(
                "table size",
                self.padded_rows >= self.addressable_rows,
                f"{self.addressable_rows} addressable rows, padded to {self.padded_rows}",
            ),
        ]
