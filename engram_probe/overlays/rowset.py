"""Row overlays of any tool, in one in-memory form: who writes which rows, with which values, for which facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engram_probe.contracts.base import AddressContract
from engram_probe.contracts.fields import INT64_MAX, IntList
from engram_probe.memory.answers import teacher_forced

V41_FORMAT = "engram-row-overrides/deepseek-v4.1/1"


class OverlayFileError(ValueError):
    """An overlay file that cannot be used; nothing was imported from it."""


@dataclass(frozen=True)
class FactTrigger:
    """A fact as the census sees it: its owner, its trigger's token ids, the tables it was written into and, where
    the file names them, its answer's token ids (a file that names none, such as a ``.pleo`` facts sidecar, gives a
    one-token answer: the fact reads its rows at the trigger's last position only)."""

    user: str
    fact_id: str
    trigger_ids: tuple[int, ...]
    layers: tuple[int, ...] | None = None  # None: every table the owner's overlay writes
    trigger_text: str | None = None
    answer_ids: tuple[int, ...] = ()  # (): a one-token answer, whichever token it is

    def __post_init__(self) -> None:
        where = f"facts of {self.user}, fact {self.fact_id}"
        ids = IntList(0, INT64_MAX).check("trigger_ids", list(self.trigger_ids), where, OverlayFileError)
        object.__setattr__(self, "trigger_ids", tuple(ids))
        if self.layers is not None:
            layers = IntList(0, INT64_MAX).check("layers", list(self.layers), where, OverlayFileError)
            object.__setattr__(self, "layers", tuple(layers))
        if self.answer_ids:
            answer = IntList(0, INT64_MAX).check("answer_ids", list(self.answer_ids), where, OverlayFileError)
            object.__setattr__(self, "answer_ids", tuple(answer))

    def continuation(self) -> tuple[list[int], list[int]]:
        """The teacher-forced sequence and the positions in it that read the fact's rows (``answers.teacher_forced``,
        the writers' own): the trigger's last position, then each answer token's but the last."""
        # a one-token answer's sequence is the trigger alone, so the stand-in token below is never read
        return teacher_forced(self.trigger_ids, self.answer_ids or (0,))

    def as_dict(self) -> dict[str, Any]:
        out = {
            "user": self.user,
            "fact_id": self.fact_id,
            "trigger_ids": list(self.trigger_ids),
            "trigger_text": self.trigger_text,
            "layers": None if self.layers is None else list(self.layers),
        }
        return out | ({"answer_ids": list(self.answer_ids)} if self.answer_ids else {})


@dataclass
class OverlayRows:
    """One user's row overrides: per table, sorted unique row ids and their float32 values."""

    user: str
    source: str
    format: str
    layers: dict[int, tuple[np.ndarray, np.ndarray]]
    facts: list[FactTrigger] = field(default_factory=list)
    contract_sha256: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        return sum(len(r) for r, _ in self.layers.values())

    def rows(self, layer: int) -> np.ndarray:
        entry = self.layers.get(layer)
        return entry[0] if entry is not None else np.empty(0, dtype=np.int64)

    def value(self, layer: int, row: int) -> np.ndarray | None:
        entry = self.layers.get(layer)
        if entry is None:
            return None
        rows, vals = entry
        i = int(np.searchsorted(rows, row))
        return vals[i] if i < len(rows) and rows[i] == row else None

    def summary(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "source": self.source,
            "format": self.format,
            "rows": self.n_rows,
            "rows_per_table": {str(L): len(r) for L, (r, _) in sorted(self.layers.items())},
            "facts": len(self.facts),
            "contract_sha256": self.contract_sha256,
            "notes": list(self.notes),
        }


def normalise_rows(
    contract: AddressContract, layer: int, rows: np.ndarray, values: np.ndarray, where: str
) -> tuple[np.ndarray, np.ndarray, int]:
    """Validate rows against the contract and sort them; drop identical duplicates, refuse differing ones.

    Returns (sorted unique rows, their values, number of identical duplicates dropped).
    """
    contract.check_layer(layer)
    rows = np.asarray(rows, dtype=np.int64)
    values = np.ascontiguousarray(values, dtype=np.float32)
    if values.ndim != 2 or values.shape[0] != rows.shape[0]:
        raise OverlayFileError(f"{where}: {rows.shape[0]} row ids but values of shape {tuple(values.shape)}")
    if values.shape[1] != contract.row_format.dim:
        raise OverlayFileError(
            f"{where}: rows have {values.shape[1]} values, but {contract.name} rows have {contract.row_format.dim}"
        )
    limit = contract.table_rows(layer)
    if rows.size and (int(rows.min()) < 0 or int(rows.max()) >= limit):
        bad = int(rows[(rows < 0) | (rows >= limit)][0])
        raise OverlayFileError(f"{where}: row {bad} is outside {contract.name}'s table {layer} (0..{limit - 1})")
    if not np.isfinite(values).all():
        raise OverlayFileError(f"{where}: values contain NaN or infinity")
    order = np.argsort(rows, kind="stable")
    rows, values = rows[order], values[order]
    dup = np.flatnonzero(rows[1:] == rows[:-1]) + 1
    for i in dup:
        if values[i].tobytes() != values[i - 1].tobytes():
            raise OverlayFileError(f"{where}: row {int(rows[i])} appears twice with two different values")
    keep = np.ones(len(rows), dtype=bool)
    keep[dup] = False
    return rows[keep], values[keep], int(dup.size)
