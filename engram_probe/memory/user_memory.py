"""A user's memory: the facts they wrote and the table rows each fact owns.

Every fact keeps its own row values. The user's effective row map is derived: walking
the facts in write order, a later fact's value for a row replaces an earlier one's. So
erasing a fact is exact by construction: the map becomes what it would have been had the
fact never been written, and rows shared with another fact fall back to that fact's value.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from jaxtyping import Float, Int
from torch import Tensor

from engram_probe.contracts.base import RowKey

KEY_SHIFT = 32  # packed key = layer << 32 | row


def pack_keys(row_ids: Tensor) -> Tensor:
    """[k, 2] (layer, row) pairs -> [k] int64 keys that sort by layer, then row."""
    return (row_ids[:, 0] << KEY_SHIFT) | row_ids[:, 1]


def last_wins(keys: Tensor, values: Tensor) -> tuple[Tensor, Tensor]:
    """Unique sorted keys, each with the value of its last occurrence."""
    uniq, inverse = torch.unique(keys, return_inverse=True)
    order = torch.arange(keys.numel())
    last = torch.full((uniq.numel(),), -1, dtype=torch.int64).scatter_reduce(0, inverse, order, reduce="amax")
    return uniq, values[last]


@dataclass
class Fact:
    """One written fact: what triggers it, what it answers, and the rows it owns.

    ``gold_token_id``/``gold_token`` are the answer's first token (the first-token recall reads it);
    ``answer_token_ids`` are all of the answer's tokens as they follow the first trigger, the first being the
    gold token. A fact stored before whole answers were written has none recorded and reads as a one-token
    answer; a one-token answer is stored without the field, so such a fact's content and digest are unchanged.
    """

    fact_id: str
    triggers: list[str]
    answer: str
    gold_token_id: int
    gold_token: str
    strategy: str
    layer: int
    row_ids: Int[Tensor, "k 2"]  # (layer, row) pairs, in the order of ``values``
    values: Float[Tensor, "k dim"]
    written_at: str
    cost_ms: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)
    group: str | None = None  # facts optimised together by ``joint`` share a group id
    answer_token_ids: list[int] = field(default_factory=list)  # empty: the one-token answer [gold_token_id]

    def __post_init__(self) -> None:
        if self.row_ids.ndim != 2 or self.row_ids.shape[1] != 2:
            raise ValueError(f"row_ids must be [k, 2], got {tuple(self.row_ids.shape)}")
        if self.values.ndim != 2 or self.values.shape[0] != self.row_ids.shape[0]:
            raise ValueError("values must be [k, dim] with one row per row id")
        if self.row_ids.dtype != torch.int64 or not self.values.is_floating_point():
            raise ValueError("row ids must be 64-bit integers and values floating point")
        if (
            not isinstance(self.triggers, list)
            or not self.triggers
            or not all(isinstance(t, str) and t.strip() for t in self.triggers)
        ):
            raise ValueError("triggers must be a non-empty list of non-empty prompts")
        if not isinstance(self.answer, str) or not isinstance(self.gold_token, str):
            raise ValueError("answer and gold token must be text")
        if isinstance(self.gold_token_id, bool) or not isinstance(self.gold_token_id, int) or self.gold_token_id < 0:
            raise ValueError(f"gold token id must be a non-negative integer, got {self.gold_token_id!r}")
        if not self.answer_token_ids:
            self.answer_token_ids = [self.gold_token_id]
        if not isinstance(self.answer_token_ids, list) or not all(
            isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in self.answer_token_ids
        ):
            raise ValueError("answer token ids must be a list of non-negative integers")
        if self.answer_token_ids[0] != self.gold_token_id:
            raise ValueError(
                f"the answer's first token {self.answer_token_ids[0]} is not the gold token {self.gold_token_id}"
            )
        if isinstance(self.layer, bool) or not isinstance(self.layer, int):
            raise ValueError(f"layer must be an integer, got {self.layer!r}")
        if self.row_ids.numel() and bool((self.row_ids[:, 0] != self.layer).any()):
            raise ValueError(f"the fact says layer {self.layer} but some of its rows are in another layer")
        if self.row_ids.numel() and bool((self.row_ids < 0).any()):
            raise ValueError("row ids must be non-negative")
        if not bool(torch.isfinite(self.values).all()):
            raise ValueError("row values contain NaN or infinity")
        keys = pack_keys(self.row_ids)
        uniq, inverse = torch.unique(keys, return_inverse=True)
        if uniq.numel() != keys.numel():
            first = torch.full((uniq.numel(),), keys.numel(), dtype=torch.int64).scatter_reduce(
                0, inverse, torch.arange(keys.numel()), reduce="amin"
            )
            if not torch.equal(self.values, self.values[first[inverse]]):
                raise ValueError("the same row appears twice with different values")

    @property
    def rows(self) -> list[RowKey]:
        return [(int(a), int(b)) for a, b in self.row_ids.tolist()]

    @property
    def bytes(self) -> int:
        return self.values.numel() * self.values.element_size()

    @property
    def answer_length(self) -> int:
        """The answer's length in tokens."""
        return len(self.answer_token_ids)

    def meta(self) -> dict[str, Any]:
        """Everything but the tensors, JSON-ready (a one-token answer's ids are left out: see the class)."""
        d = {k: v for k, v in asdict(self).items() if k not in ("row_ids", "values")}
        if self.answer_token_ids == [self.gold_token_id]:
            d.pop("answer_token_ids")
        d["rows"] = [list(r) for r in self.rows]
        return d

    def digest(self) -> str:
        h = hashlib.sha256()
        meta = self.meta()
        meta.pop("cost_ms", None)  # timing is provenance, not content
        h.update(json.dumps(meta, sort_keys=True).encode())
        h.update(self.row_ids.contiguous().numpy().tobytes())
        h.update(self.values.detach().contiguous().numpy().tobytes())
        return h.hexdigest()


class UserMemory:
    """A user's facts and the sparse row map {(layer, row) -> vector} they define."""

    def __init__(self, user_id: str, facts: list[Fact] | None = None):
        if not user_id or not user_id.strip():
            raise ValueError("user id must be a non-empty string")
        self.user_id = user_id
        self.facts: list[Fact] = list(facts or [])
        self._compiled: tuple[tuple[int, int, int], tuple[Tensor, Tensor]] | None = None

    def __len__(self) -> int:
        return len(self.facts)

    def fact(self, fact_id: str) -> Fact:
        for f in self.facts:
            if f.fact_id == fact_id:
                return f
        raise KeyError(f"user {self.user_id!r} has no fact {fact_id!r}")

    def add(self, fact: Fact) -> None:
        if any(f.fact_id == fact.fact_id for f in self.facts):
            raise ValueError(f"fact id {fact.fact_id!r} already exists for user {self.user_id!r}")
        self.facts.append(fact)

    def compiled(self) -> tuple[Tensor, Tensor]:
        """Packed sorted keys [k] and effective values [k, dim] (latest-written fact wins), vectorised.

        Cached until the fact list changes (facts are only ever appended through :meth:`add`).
        """
        stamp = (id(self.facts), len(self.facts), id(self.facts[-1]) if self.facts else 0)
        if self._compiled is not None and self._compiled[0] == stamp:
            return self._compiled[1]
        if not self.facts:
            out = (torch.empty(0, dtype=torch.int64), torch.empty(0, 0))
        else:
            keys = torch.cat([pack_keys(f.row_ids) for f in self.facts])
            values = torch.cat([f.values for f in self.facts]).detach()
            out = last_wins(keys, values)
        self._compiled = (stamp, out)
        return out

    def without(self, fact_ids: set[str]) -> UserMemory:
        """A copy with the given facts erased."""
        missing = fact_ids - {f.fact_id for f in self.facts}
        if missing:
            raise KeyError(f"user {self.user_id!r} has no facts {sorted(missing)}")
        return UserMemory(self.user_id, [f for f in self.facts if f.fact_id not in fact_ids])

    def row_map(self) -> dict[RowKey, Tensor]:
        """Effective value of every row: the latest-written owning fact wins."""
        out: dict[RowKey, Tensor] = {}
        for f in self.facts:
            for key, vec in zip(f.rows, f.values, strict=True):
                out[key] = vec
        return out

    def main_layer(self) -> int | None:
        """The Engram layer most of the facts were written into."""
        layers = [f.layer for f in self.facts]
        return max(dict.fromkeys(layers), key=lambda x: (layers.count(x), -layers.index(x))) if layers else None

    def owners(self) -> dict[RowKey, list[str]]:
        """Facts that own each row, in write order."""
        out: dict[RowKey, list[str]] = {}
        for f in self.facts:
            for key in f.rows:
                out.setdefault(key, []).append(f.fact_id)
        return out

    @property
    def n_rows(self) -> int:
        return int(self.compiled()[0].numel())

    @property
    def bytes(self) -> int:
        values = self.compiled()[1]
        return values.numel() * values.element_size()

    def digest(self) -> str:
        """SHA-256 of the user id and every fact (content, not timing)."""
        h = hashlib.sha256(self.user_id.encode())
        for f in self.facts:
            h.update(f.digest().encode())
        return h.hexdigest()

    def summary(self) -> dict[str, Any]:
        return {
            "user": self.user_id,
            "facts": len(self.facts),
            "rows": self.n_rows,
            "bytes": self.bytes,
            "digest": self.digest(),
        }
