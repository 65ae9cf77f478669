"""The six conditions of the layered protocol for one test user, plus the two controls.

A no edit · B per-user LoRA · C per-user rows · D = B + C (rows written with the LoRA attached) ·
E shared adapter only · F shared adapter + per-user rows (written with the adapter attached) ·
F-swap shared adapter + another user's F rows · F-zero shared adapter + the user's F rows set to zero.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch

from engram_probe.arch.base import EngramModelBase
from engram_probe.arch.loaded import LoadedModel
from engram_probe.audit.lora import LoraSettings, train_user_lora
from engram_probe.memory.overlay import MemoryOverlay
from engram_probe.memory.user_memory import UserMemory
from engram_probe.memory.writing import FactSpec, FactWriter, Progress, WriteSettings

CONDITIONS = {
    "A": "no edit",
    "B": "per-user LoRA",
    "C": "per-user rows",
    "D": "per-user LoRA + per-user rows",
    "E": "shared adapter only",
    "F": "shared adapter + per-user rows",
    "F-swap": "shared adapter + another user's rows",
    "F-zero": "shared adapter + the user's rows set to zero",
}
# B: trained on the user's facts until every fact is recalled (or the step budget ends); no early stop on a
# matched target, as in the paper's protocol.
PER_USER_LORA = LoraSettings(rank=16, alpha=32, lr=2e-3, max_steps=400, min_steps=10)


@dataclass
class Condition:
    name: str
    model: EngramModelBase
    memory: UserMemory | None = None

    @property
    def rows(self) -> UserMemory:
        """The rows of a condition that writes them (C, F, F-zero, F-swap)."""
        if self.memory is None:
            raise ValueError(f"condition {self.name} writes no rows")
        return self.memory

    @property
    def overlay(self) -> MemoryOverlay | None:
        return MemoryOverlay([self.memory]) if self.memory is not None and len(self.memory) else None

    def describe(self) -> dict[str, Any]:
        mem = self.memory
        return {
            "condition": self.name,
            "what": CONDITIONS[self.name],
            "rows": mem.n_rows if mem is not None else 0,
            "rows_sha256": mem.digest() if mem is not None else None,
        }


def zeroed(memory: UserMemory) -> UserMemory:
    """The same facts on the same rows, every value zero (F-zero)."""
    facts = [dataclasses.replace(f, values=torch.zeros_like(f.values)) for f in memory.facts]
    return UserMemory(memory.user_id, facts)


def row_keys(memory: UserMemory) -> set[tuple[int, int]]:
    return {(int(a), int(b)) for f in memory.facts for a, b in f.row_ids.tolist()}


def write_rows(
    lm: LoadedModel, model: EngramModelBase, uid: str, specs: list[FactSpec], settings: WriteSettings
) -> UserMemory:
    """All of a user's facts optimised together (joint) through ``model`` (base, LoRA or adapter copy)."""
    res = FactWriter(model, lm.tokenizer, settings).write(UserMemory(uid), specs, "joint")
    return UserMemory(uid, res.facts)


def build_conditions(
    lm: LoadedModel,
    adapter_model: EngramModelBase,
    uid: str,
    specs: list[FactSpec],
    write: WriteSettings | None = None,
    lora: LoraSettings | None = None,
    progress: Progress | None = None,
) -> tuple[dict[str, Condition], dict[str, Any]]:
    """Conditions A-F and F-zero for one user (F-swap needs another user's F rows; see ``with_swap``)."""
    write = write or WriteSettings()
    step = 0

    def tick(msg: str) -> None:
        nonlocal step
        step += 1
        if progress:
            progress(step, 4, msg)

    writer = FactWriter(lm.model, lm.tokenizer, write)
    prepared = [writer.prepare(s, writer_layer(lm)) for s in specs]
    prompts = [p.prompts[0] for p in prepared]
    golds = [p.gold for p in prepared]
    per_user = train_user_lora(lm.model, prompts, golds, lm.tokenizer.bos_id, 1.0, lora or PER_USER_LORA)
    tick("per-user LoRA")
    rows_c = write_rows(lm, lm.model, uid, specs, write)
    tick("rows (C)")
    rows_d = write_rows(lm, per_user.model, uid, specs, write)
    tick("rows with the LoRA attached (D)")
    rows_f = write_rows(lm, adapter_model, uid, specs, write)
    tick("rows with the adapter attached (F)")
    conds = {
        "A": Condition("A", lm.model),
        "B": Condition("B", per_user.model),
        "C": Condition("C", lm.model, rows_c),
        "D": Condition("D", per_user.model, rows_d),
        "E": Condition("E", adapter_model),
        "F": Condition("F", adapter_model, rows_f),
        "F-zero": Condition("F-zero", adapter_model, zeroed(rows_f)),
    }
    return conds, {"per_user_lora": per_user.describe()}


def with_swap(conds: dict[str, Condition], other_f_rows: UserMemory) -> dict[str, Condition]:
    """Add F-swap: the shared adapter with another user's F rows (relabelled as this user's memory)."""
    swapped = UserMemory(conds["F"].memory.user_id if conds["F"].memory else "swap", list(other_f_rows.facts))
    return {**conds, "F-swap": Condition("F-swap", conds["E"].model, swapped)}


def writer_layer(lm: LoadedModel) -> int:
    from engram_probe.memory.writing import resolve_layer

    return resolve_layer(lm.model, None)
