"""Read-only overlays: substitute user rows at lookup time, never touching shared tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from jaxtyping import Float, Int
from torch import Tensor

from engram_probe.contracts.base import RowKey
from engram_probe.memory.user_memory import KEY_SHIFT, UserMemory, last_wins

PRECEDENCE_RULE = (
    "On a row that several users' memories own, the memory listed later in the overlay wins "
    "(list a shared/org memory first and the user's own memory last). Within one user, the most "
    "recently written fact that owns a row wins."
)


class RowOverride:
    """Sorted row ids and values per layer; ``substitute`` swaps them in by address."""

    def __init__(self, layers: dict[int, tuple[Int[Tensor, " k"], Float[Tensor, "k dim"]]]):
        self.layers: dict[int, tuple[Tensor, Tensor]] = {}
        for layer, (ids, vals) in layers.items():
            if ids.numel() == 0:
                continue
            order = torch.argsort(ids)
            ids, vals = ids[order], vals[order]
            if ids.numel() > 1 and bool((ids[1:] == ids[:-1]).any()):
                raise ValueError(f"duplicate row ids in layer {layer}")
            self.layers[layer] = (ids, vals)

    def substitute(
        self, layer: int, addresses: Int[Tensor, "batch pos heads"], rows: Float[Tensor, "batch pos heads dim"]
    ) -> Float[Tensor, "batch pos heads dim"]:
        entry = self.layers.get(layer)
        if entry is None:
            return rows
        ids, vals = entry
        idx = torch.searchsorted(ids, addresses.contiguous()).clamp(max=ids.numel() - 1)
        hit = ids[idx] == addresses
        if not bool(hit.any()):
            return rows  # nothing of this override is read: the table's rows, untouched
        # copy the table's rows once and write only the hits (cheaper than a gather at every address)
        out = rows.clone()
        out[hit] = vals[idx[hit]].to(rows.dtype)
        return out

    def hit_mask(self, layer: int, addresses: Tensor) -> Tensor:
        """True where an address is one of this override's rows."""
        entry = self.layers.get(layer)
        if entry is None:
            return torch.zeros(addresses.shape, dtype=torch.bool)
        ids, _ = entry
        idx = torch.searchsorted(ids, addresses.contiguous()).clamp(max=ids.numel() - 1)
        return ids[idx] == addresses


@dataclass(frozen=True)
class Collision:
    """A row owned by more than one user's memory in one overlay."""

    layer: int
    row: int
    owners: tuple[tuple[str, tuple[str, ...]], ...]  # (user, fact ids) in overlay order
    winner: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "row": self.row,
            "owners": [{"user": u, "facts": list(f)} for u, f in self.owners],
            "winner": self.winner,
        }


class MemoryOverlay(RowOverride):
    """One or more users' memories composed into one read-only overlay.

    Disjoint rows stack. Shared rows are reported in ``collisions`` and resolved by
    :data:`PRECEDENCE_RULE`. Building it is vectorised (no per-row Python work), so switching
    users costs a few tensor operations.
    """

    precedence_rule = PRECEDENCE_RULE

    def __init__(self, memories: Sequence[UserMemory]):
        users = [m.user_id for m in memories]
        if len(set(users)) != len(users):
            raise ValueError(f"a user appears twice in one overlay: {users}")
        self.memories = list(memories)
        compiled = [m.compiled() for m in self.memories if len(m)]
        if len(compiled) == 1:  # one memory: its keys are already unique and sorted
            uniq, merged = compiled[0]
            shared = []
        elif compiled:
            keys = torch.cat([k for k, _ in compiled])
            values = torch.cat([v for _, v in compiled])
            uniq, merged = last_wins(keys, values)
            counts = torch.bincount(torch.unique(keys, return_inverse=True)[1])
            shared = uniq[counts > 1].tolist()
        else:
            uniq, merged, shared = torch.empty(0, dtype=torch.int64), torch.empty(0, 0), []
        self.keys = uniq
        layer_of = uniq >> KEY_SHIFT
        rows_of = uniq & ((1 << KEY_SHIFT) - 1)
        super().__init__(
            {int(L): (rows_of[layer_of == L], merged[layer_of == L]) for L in torch.unique(layer_of).tolist()}
        )
        self._index: dict[RowKey, list[tuple[str, tuple[str, ...]]]] | None = None
        self.collisions = [self._collision(k) for k in shared]

    def owners_of(self, key: RowKey) -> list[tuple[str, tuple[str, ...]]]:
        """(user, fact ids) that own a row, in overlay order."""
        if self._index is None:  # built once, on first use: one pass over every user's rows, not one per lookup
            index: dict[RowKey, list[tuple[str, tuple[str, ...]]]] = {}
            for mem in self.memories:
                for row, facts in mem.owners().items():
                    if facts:
                        index.setdefault(row, []).append((mem.user_id, tuple(facts)))
            self._index = index
        return list(self._index.get(key, ()))

    def _collision(self, packed: int) -> Collision:
        key = (packed >> KEY_SHIFT, packed & ((1 << KEY_SHIFT) - 1))
        owners = tuple(self.owners_of(key))
        return Collision(key[0], key[1], owners, owners[-1][0])

    @property
    def users(self) -> list[str]:
        return [m.user_id for m in self.memories]

    def rows(self) -> set[RowKey]:
        return {(layer, int(r)) for layer, (ids, _) in self.layers.items() for r in ids.tolist()}

    def collision_report(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "rule": PRECEDENCE_RULE,
            "collisions": [c.as_dict() for c in self.collisions],
        }
