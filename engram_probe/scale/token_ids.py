"""Which token ids a contract can address, and the one wording every refusal of an id uses.

An id is a whole number in 0..V-1, where V is the contract's vocabulary when it knows one, and
otherwise anything that fits a signed 64-bit integer (the width every address array uses).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engram_probe.contracts.base import AddressContract

INT64_LIMIT = 1 << 63


def vocabulary_size(contract: AddressContract) -> int | None:
    """The number of token ids the contract addresses, where it knows it (from its map or its tokenizer)."""
    # a compressed map covers the raw vocabulary; a PLE contract with a tokenizer records its size; a multiply-XOR
    # contract without a map takes compressed ids, so its compressed vocabulary is the range
    for name in ("raw_vocab", "vocab_size", "compressed_vocab"):
        size = getattr(contract, name, None)
        if isinstance(size, int | np.integer) and not isinstance(size, bool) and 0 < size <= INT64_LIMIT:
            return int(size)
    return None


def id_limit(contract: AddressContract | None) -> int:
    """One past the largest id the contract accepts."""
    size = vocabulary_size(contract) if contract is not None else None
    return size if size is not None else INT64_LIMIT


def out_of_range(token_id: int, limit: int) -> str:
    """The refusal of one id: the id and the valid range, and where the range comes from."""
    why = "64-bit token ids" if limit == INT64_LIMIT else "the contract's vocabulary"
    return f"token id {token_id} out of range 0..{limit - 1} ({why})"


def first_outside(ids: np.ndarray, limit: int) -> int | None:
    """Index of the first id of an int64 array outside 0..limit-1, or None."""
    bad = (ids < 0) | (ids >= limit) if limit < INT64_LIMIT else ids < 0
    return int(np.argmax(bad)) if bad.any() else None


def check_sequences(contract: AddressContract | None, sequences: Sequence[Sequence[int]]) -> None:
    """Refuse (``ValueError``, naming the id, its sequence and position from 0) an id the contract cannot address."""
    limit = id_limit(contract)
    for i, seq in enumerate(sequences):
        for j, t in enumerate(seq):
            if not 0 <= t < limit:
                raise ValueError(f"{out_of_range(t, limit)} at sequence {i}, position {j}")
