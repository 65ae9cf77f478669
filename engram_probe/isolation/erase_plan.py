"""Erasing one user's facts from a shared table: the plan, and the proof that the erased value is gone.

In a table that many users share, a row the erased fact owned can be owned by another fact too: the same user's
(it then keeps that fact's value) or another user's (restoring it to the base value would damage that user's
fact). The plan sorts every row of the erased facts into the three cases and names the facts. The proof, bit-exact,
reads every teacher-forced position of each erased fact (its trigger followed by its answer) in the table after the
erase: each row read there either is not overridden (the base table's row, by construction of the overlay, which
substitutes only the rows it holds) or holds a value whose raw bytes differ from every value the erased facts
wrote. A row whose remaining value happens to equal an erased value byte for byte is a finding, not a pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from engram_probe.arch.loaded import LoadedModel
from engram_probe.contracts.base import RowKey
from engram_probe.memory.answers import teacher_forced
from engram_probe.memory.overlay import MemoryOverlay
from engram_probe.memory.user_memory import Fact, UserMemory

PLAN_METHOD = (
    "every row of the erased facts is sorted by who else owns it in the shared table; every row read at the erased "
    "facts' teacher-forced positions after the erase is compared by raw bytes with every value the erased facts wrote"
)


class ErasePlanError(ValueError):
    """A plan that cannot be made: an unknown user or fact."""


def _bytes(t: torch.Tensor) -> bytes:
    return t.detach().contiguous().numpy().tobytes()


def _after(memories: Sequence[UserMemory], user: str, gone: set[str]) -> list[UserMemory]:
    out = [m.without(gone) if m.user_id == user else m for m in memories]
    return [m for m in out if len(m)]


def _erased(memories: Sequence[UserMemory], user: str, fact_ids: Sequence[str]) -> list[Fact]:
    mine = next((m for m in memories if m.user_id == user), None)
    if mine is None:
        known = ", ".join(m.user_id for m in memories) or "none"
        raise ErasePlanError(f"user {user!r} is not in the shared table (users: {known})")
    have = {f.fact_id for f in mine.facts}
    missing = [f for f in fact_ids if f not in have]
    if missing or not fact_ids:
        raise ErasePlanError(
            f"user {user!r} has no fact {', '.join(map(repr, missing))}"
            if missing
            else "name at least one fact to erase"
        )
    return [f for f in mine.facts if f.fact_id in set(fact_ids)]


def row_plan(memories: Sequence[UserMemory], user: str, erased: Sequence[Fact]) -> list[dict[str, Any]]:
    """Each row of the erased facts: restored to the base table, kept by the user's other fact, or held by others."""
    table = MemoryOverlay(memories)
    gone = {f.fact_id for f in erased}
    out = []
    for key in sorted({k for f in erased for k in f.rows}):
        owners = [(u, [f for f in facts if not (u == user and f in gone)]) for u, facts in table.owners_of(key)]
        others = [{"user": u, "facts": facts} for u, facts in owners if u != user and facts]
        own = [f for u, facts in owners if u == user for f in facts]
        fate = "held by other users" if others else "kept by the user's other fact" if own else "restored"
        out.append({"layer": key[0], "row": key[1], "fate": fate, "own_facts": own, "other_users": others})
    return out


def _values_written(erased: Sequence[Fact]) -> dict[RowKey, set[bytes]]:
    out: dict[RowKey, set[bytes]] = {}
    for fact in erased:
        for key, value in zip(fact.rows, fact.values, strict=True):
            out.setdefault(key, set()).add(_bytes(value))
    return out


def _after_values(memories: Sequence[UserMemory]) -> dict[RowKey, tuple[str, torch.Tensor]]:
    """Each overridden row of the shared table, with the user whose value wins it (the last listed owner)."""
    out: dict[RowKey, tuple[str, torch.Tensor]] = {}
    for memory in memories:
        for key, value in memory.row_map().items():
            out[key] = (memory.user_id, value)
    return out


def read_proof(lm: LoadedModel, after: Sequence[UserMemory], erased: Sequence[Fact]) -> list[dict[str, Any]]:
    """Per erased fact: every row its teacher-forced positions read after the erase, and what that row holds."""
    written = _values_written(erased)
    table = _after_values(after)
    out = []
    for fact in erased:
        prompt = lm.tokenizer.encode(fact.triggers[0])
        seq, positions = teacher_forced(prompt, fact.answer_token_ids)
        seq = seq[: lm.model.max_tokens]
        positions = [p for p in positions if p < len(seq)]
        reads = {"base": 0, "other value": 0, "erased value": 0}
        findings = []
        for layer in lm.model.cfg.engram_layers:
            addr = lm.model.hasher.addresses(np.asarray(seq, dtype=np.int64), layer)
            for t in positions:
                for row in addr[t].tolist():
                    key = (layer, int(row))
                    held = table.get(key)
                    if held is None:
                        reads["base"] += 1
                    elif _bytes(held[1]) in written.get(key, set()):
                        reads["erased value"] += 1
                        findings.append({"position": t, "layer": layer, "row": int(row), "held_by": held[0]})
                    else:
                        reads["other value"] += 1
        out.append(
            {
                "fact_id": fact.fact_id,
                "positions": positions,
                "rows_read": sum(reads.values()),
                "read_base": reads["base"],
                "read_other_values": reads["other value"],
                "read_erased_values": reads["erased value"],
                "findings": findings,
                "clean": not findings,
            }
        )
    return out


def erase_plan(lm: LoadedModel, memories: Sequence[UserMemory], user: str, fact_ids: Sequence[str]) -> dict[str, Any]:
    """The erasure plan and its proof for ``user``'s ``fact_ids`` in the table shared by ``memories``."""
    erased = _erased(memories, user, list(dict.fromkeys(fact_ids)))
    after = _after(memories, user, {f.fact_id for f in erased})
    rows = row_plan(memories, user, erased)
    reads = read_proof(lm, after, erased)
    damaged: dict[tuple[str, str], int] = {}
    for r in rows:
        for other in r["other_users"]:
            for fid in other["facts"]:
                damaged[(other["user"], fid)] = damaged.get((other["user"], fid), 0) + 1
    counts = {fate: sum(r["fate"] == fate for r in rows) for fate in ("restored", "kept by the user's other fact")}
    return {
        "user": user,
        "erased": [f.fact_id for f in erased],
        "users_in_table": [m.user_id for m in memories],
        "rows": rows,
        "rows_restored": counts["restored"],
        "rows_kept_by_own_facts": counts["kept by the user's other fact"],
        "rows_held_by_other_users": sum(r["fate"] == "held by other users" for r in rows),
        "facts_sharing_rows": [
            {"user": u, "fact_id": f, "rows": n, "would_lose": "these rows would return to the base table"}
            for (u, f), n in sorted(damaged.items())
        ],
        "reads": reads,
        "erased_value_gone": all(r["clean"] for r in reads),
        "method": PLAN_METHOD,
    }


def plan_verdict(plan: dict[str, Any]) -> str:
    """One sentence for people: whether the erased value is gone, and what the shared rows stop."""
    n = len(plan["rows"])
    gone = (
        f"none of the erased facts' {sum(r['rows_read'] for r in plan['reads']):,} reads at their trigger and answer "
        "positions finds a value they wrote"
        if plan["erased_value_gone"]
        else "some reads at the erased facts' positions still find a value they wrote"
    )
    held = plan["rows_held_by_other_users"]
    rest = (
        f"; {held:,} of the {n:,} rows stay overridden because "
        f"{len({s['user'] for s in plan['facts_sharing_rows']}):,} other user(s) wrote them too"
        if held
        else f"; all {n:,} rows return to the base table or to the user's own remaining facts"
    )
    return gone + rest
