"""Users and memories for the benchmarks, generated (never read from ../shared)."""

from __future__ import annotations

from typing import Any

from engram_probe.arch.loaded import LoadedModel
from engram_probe.data.synthetic_users import generate_users
from engram_probe.memory.operations import specs_from_user_record
from engram_probe.memory.user_memory import UserMemory
from engram_probe.memory.writing import FactSpec, FactWriter, WriteSettings


def fact_specs(n: int, seed: int = 5) -> list[FactSpec]:
    """``n`` facts with distinct trigger prompts, drawn from generated users."""
    out: list[FactSpec] = []
    seen: set[str] = set()
    users = generate_users(max(1, n // 10 + 5), seed=seed, prefix="b")
    for user in users:
        for spec in specs_from_user_record(user):
            if spec.triggers[0] not in seen:
                seen.add(spec.triggers[0])
                out.append(spec)
    # names make triggers unique when the templates run out
    i = 0
    while len(out) < n:
        user = users[i % len(users)]
        name = user["attrs"]["first_name"]
        for spec in specs_from_user_record(user):
            trig = f"{name}'s note: {spec.triggers[0]}"
            if trig not in seen and len(out) < n:
                seen.add(trig)
                out.append(FactSpec.of(trig, spec.answer))
        i += 1
    return out[:n]


def user_memory(
    lm: LoadedModel, n: int, strategy: str = "unembed", settings: WriteSettings | None = None, user: str = "bench"
) -> UserMemory:
    res = FactWriter(lm.model, lm.tokenizer, settings).write(UserMemory(user), fact_specs(n), strategy)
    return UserMemory(user, res.facts)


def describe(memory: UserMemory) -> dict[str, Any]:
    return {"facts": len(memory), "rows": memory.n_rows, "bytes": memory.bytes}
