"""Read map and position classes: who reads an edited row, computed from the hash alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from engram_probe.contracts.base import AddressContract
from engram_probe.memory.overlay import MemoryOverlay
from engram_probe.overlays.edited_rows import EditedRows

WRITE_SITE, DOWNSTREAM, UNTOUCHED = "write_site", "downstream", "untouched"
CLASS_RULE = (
    "write_site: the position reads at least one edited row (in any Engram layer). "
    "downstream: the position comes after the first write site and reads no edited row; "
    "attention, and the dilated conv at t+3, t+6, t+9 of a write site, can carry the edit there. "
    "untouched: every other position, i.e. every position before the first write site. "
    "Causal masking means an untouched position can only change if the implementation leaks; "
    "the bit-exact proof checks exactly that."
)


@dataclass(frozen=True)
class ReadHit:
    """One read of an edited row: at ``position``, ``column`` (its n-gram ``order`` and ``head`` within that
    order) of Engram layer ``layer`` reads ``row``, which ``users`` write for ``facts``."""

    position: int
    layer: int
    column: int
    order: int
    head: int
    row: int
    users: tuple[str, ...]
    facts: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["users"], d["facts"] = list(self.users), list(self.facts)
        return d


def read_map(contract: AddressContract, overlay: MemoryOverlay, token_ids: Sequence[int] | np.ndarray) -> list[ReadHit]:
    """Every (position, layer, column) of a token sequence that reads one of the overlay's rows.

    The reads come from the contract read map's index (:class:`~engram_probe.overlays.edited_rows.EditedRows`); the
    owners are the memories' own (the facts that wrote each row)."""
    ids = np.asarray(token_ids, dtype=np.int64)
    if ids.ndim != 1:
        raise ValueError("read_map takes one token sequence")
    index = EditedRows(contract, [], bare_rows=overlay.rows())
    hits = []
    for rd in index.edited_reads(ids):
        owners = overlay.owners_of((rd.layer, rd.row))
        hits.append(
            ReadHit(
                position=rd.position,
                layer=rd.layer,
                column=rd.column.column,
                order=rd.column.order,
                head=rd.column.head,
                row=rd.row,
                users=tuple(u for u, _ in owners),
                facts=tuple(f for _, fs in owners for f in fs),
            )
        )
    return hits


def classify_positions(n_positions: int, hits: Sequence[ReadHit]) -> list[str]:
    """Class of every position under :data:`CLASS_RULE`."""
    sites = {h.position for h in hits}
    first = min(sites) if sites else n_positions
    return [WRITE_SITE if t in sites else DOWNSTREAM if t > first else UNTOUCHED for t in range(n_positions)]


def conv_reach(n_positions: int, hits: Sequence[ReadHit], kernel: int, dilation: int) -> dict[int, list[int]]:
    """For each position, the write sites (in the same Engram layer's conv) it reads through the conv taps."""
    out: dict[int, list[int]] = {}
    sites = sorted({h.position for h in hits})
    for t in range(n_positions):
        src = [s for s in sites if 0 < t - s < kernel * dilation and (t - s) % dilation == 0]
        if src:
            out[t] = src
    return out


def hit_in_format_1(hit: dict[str, Any]) -> dict[str, Any]:
    """A read-map hit as audit reports of format ``engram-probe-report/1`` wrote it: ``head`` was the column.

    Verify compares a re-run with an old report through this, so reports written before the vocabulary change
    still verify; new reports say ``column``, ``order`` and ``head`` (within the order)."""
    old = {k: v for k, v in hit.items() if k != "column"}
    old["head"] = hit["column"]
    return old


def in_format_1(report: dict[str, Any]) -> dict[str, Any]:
    """An audit report body with its read-map hits (``read_map`` and each position's ``hits``) in format /1's form,
    and that format's name, so that a re-run compares field by field with a report written in format /1."""
    out = dict(report, format="engram-probe-report/1")
    out["read_map"] = [hit_in_format_1(h) for h in report.get("read_map", [])]
    out["positions"] = [
        dict(p, hits=[hit_in_format_1(h) for h in p["hits"]]) if "hits" in p else p for p in report.get("positions", [])
    ]
    return out
