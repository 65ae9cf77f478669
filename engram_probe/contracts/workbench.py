"""The shipped architecture's address contract (``workbench``): token canonicalisation and row addresses.

Pure numpy, vectorised, and independent of torch so that a corpus can be scanned
without running the model. Addresses depend only on the canonical token ids, the
config and the seed: they are identical in every process and on every machine.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from engram_probe.contracts.base import RowFormat
from engram_probe.contracts.compression import REPLACEMENT_CHAR, SPACE_SENTINEL
from engram_probe.contracts.multxor import MultXorContract


def normalize_token_text(text: str) -> str:
    """Canonical form of one token's text under the workbench contract: NFKC, strip accents, lowercase, collapse
    whitespace; a whitespace-only token becomes the space sentinel.

    This is not the DeepSeek normaliser of ``contracts/compression.py``, and must not be replaced by it: the two
    differ on 2,352 code points (Python's wider notion of whitespace, and a lone combining mark, which becomes the
    empty string here but keeps its text there), including tokens of the shipped tokenizer, so the shipped
    model's canonical map and every address digest depend on this rule (``tests/unit/test_hashing.py``).
    """
    norm = unicodedata.normalize("NFKC", text)
    norm = unicodedata.normalize("NFD", norm)
    norm = "".join(ch for ch in norm if not unicodedata.combining(ch))
    norm = norm.lower()
    norm = " ".join(norm.split()) if norm.strip() else norm
    if norm and not norm.strip():
        return SPACE_SENTINEL
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


WORKBENCH_CONTRACT_VERSION = "1"


class WorkbenchShape(Protocol):
    """The config fields the shipped contract reads (the architecture's ``EngramConfig`` has them)."""

    @property
    def d_vocab(self) -> int: ...
    @property
    def engram_layers(self) -> Sequence[int]: ...
    @property
    def ngram_orders(self) -> Sequence[int]: ...
    @property
    def heads_per_order(self) -> int: ...
    @property
    def table_size_per_head(self) -> int: ...
    @property
    def dim_per_head(self) -> int: ...
    @property
    def seed(self) -> int: ...


class NgramHasher(MultXorContract):
    """The shipped architecture's address contract (``workbench``), built from its config."""

    def __init__(
        self, cfg: WorkbenchShape, canonical_map: np.ndarray, pad_id: int | None = None, tokenizer: Any = None
    ):
        self.cfg = cfg
        cmap = np.asarray(canonical_map, dtype=np.int64)
        if cmap.ndim != 1 or len(cmap) != cfg.d_vocab:
            raise ValueError(f"canonical map must have one entry per raw token ({cfg.d_vocab}), got shape {cmap.shape}")
        super().__init__(
            name="workbench",
            version=WORKBENCH_CONTRACT_VERSION,
            layers=cfg.engram_layers,
            orders=cfg.ngram_orders,
            heads_per_order=cfg.heads_per_order,
            base_size=cfg.table_size_per_head,
            compressed_vocab=int(cmap.max()) + 1,
            pad_id=int(cmap[0]) if pad_id is None else int(pad_id),
            row_format=RowFormat(cfg.dim_per_head, 4 * cfg.dim_per_head, "float32"),
            source="the model's config.json and tokenizer",
            seed=cfg.seed,
            compressed_map=cmap,
            tokenizer=tokenizer,
        )

    def encode(self, text: str) -> list[int]:
        """Token ids as the model sees them (BOS first)."""
        if self.tokenizer is None:
            return super().encode(text)
        return self.tokenizer.encode(text)

    def encode_batch(self, texts: list[str], starts: bool = True) -> list[np.ndarray]:
        """As the base contract, with BOS first when a text starts a sequence (as :meth:`encode`)."""
        if self.tokenizer is None:
            return super().encode_batch(texts, starts)
        out = self.tokenizer.tok.encode_batch_fast(texts, add_special_tokens=False)
        head = [self.tokenizer.bos_id] if starts else []
        return [np.asarray(head + e.ids, dtype=np.int64) for e in out]

    def token_strings(self, token_ids: Sequence[int]) -> list[str]:
        if self.tokenizer is None:
            return super().token_strings(token_ids)
        return [self.tokenizer.token_text(int(t)) for t in token_ids]
