"""Isolation proof cost: one user's proof against a table shared with 1,000 users, over one plain forward.

The user's own facts are written (unembed); the other 999 users' facts own the rows their teacher-forced positions
read, with random values: the proof's cost depends on which rows are overridden and read, not on how the values
were found. Both sides run interleaved in the same process on the same probe tensor.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import torch

from benchmarks.bench_audit import probe_tokens
from benchmarks.common import emit, interleaved
from benchmarks.fixtures import fact_specs, user_memory
from engram_probe.arch.loaded import LoadedModel
from engram_probe.isolation.prove import prove_probe, text_probes
from engram_probe.isolation.shared import merge
from engram_probe.memory.answers import answer_tokens, position_rows, teacher_forced
from engram_probe.memory.user_memory import Fact, UserMemory
from engram_probe.memory.writing import FactSpec

GOAL = 2.2  # the same budget as an audit
USERS = 1_000
FACTS_PER_USER = 3


def synthetic_fact(lm: LoadedModel, spec: FactSpec, fact_id: str, rng: np.random.Generator) -> Fact:
    """A fact owning the rows its teacher-forced positions read in the last Engram layer, with random values."""
    layer = lm.model.cfg.engram_layers[-1]
    trigger = spec.triggers[0]
    answer = answer_tokens(lm.tokenizer, trigger, spec.answer)
    seq, positions = teacher_forced(lm.tokenizer.encode(trigger), answer)
    rows = torch.unique(position_rows(lm.model, seq, positions, layer).flatten())
    dim = lm.model.engram_module(layer).table.weight.shape[1]
    values = torch.from_numpy(rng.standard_normal((rows.numel(), dim)).astype(np.float32))
    row_ids = torch.stack([torch.full_like(rows, layer), rows], dim=1).to(torch.int64)
    return Fact(
        fact_id=fact_id,
        triggers=[trigger],
        answer=spec.answer,
        gold_token_id=answer[0],
        gold_token=lm.tokenizer.token_text(answer[0]),
        strategy="synthetic",
        layer=layer,
        row_ids=row_ids,
        values=values,
        written_at=dt.datetime.now(dt.UTC).isoformat(),
        answer_token_ids=answer,
    )


def population(lm: LoadedModel, users: int, per_user: int) -> list[UserMemory]:
    """``users - 1`` synthetic users, then the benchmarked user (written for real) listed last."""
    rng = np.random.default_rng(7)
    specs = fact_specs((users - 1) * per_user + per_user, seed=11)[per_user:]
    others = [
        UserMemory(
            f"u{i:04d}",
            [
                synthetic_fact(lm, s, f"u{i:04d}-f{j}", rng)
                for j, s in enumerate(specs[i * per_user : (i + 1) * per_user])
            ],
        )
        for i in range(users - 1)
    ]
    return [*others, user_memory(lm, per_user, strategy="unembed", user="bench")]


def run(lm: LoadedModel) -> dict[str, Any]:
    """Proof / plain forward at three probe lengths on the shipped model, with 1,000 users in the table."""
    memories = population(lm, USERS, FACTS_PER_USER)
    table = merge(lm, memories, "last-write-wins")
    mine = memories[-1]
    rows = []
    for length in (32, 128, lm.cfg.n_ctx):
        ids = probe_tokens(lm, mine, length)
        (probe,) = text_probes(lm, [lm.tokenizer.decode(ids[1:])])
        tokens = torch.tensor([list(probe.token_ids)])

        @torch.no_grad()
        def plain(tokens: torch.Tensor = tokens) -> None:
            lm.model(tokens, overlay=table.overlay)

        def proof(probe: Any = probe) -> None:
            prove_probe(table, "bench", probe)

        t = interleaved({"plain": plain, "proof": proof}, repeat=9)
        result = prove_probe(table, "bench", probe)
        rows.append(
            {
                "tokens": int(tokens.shape[1]),
                "users": USERS,
                "table_rows": int(table.overlay.keys.numel()),
                "first_foreign_read": result["first_foreign_read"],
                "plain_ms": t["plain"] * 1e3,
                "proof_ms": t["proof"] * 1e3,
                "ratio": t["proof"] / t["plain"],
            }
        )
    worst = max(r["ratio"] for r in rows)
    payload = {"rows": rows, "goal": GOAL, "met": worst <= GOAL}
    summary = ", ".join(f"{r['tokens']} tok {r['ratio']:.2f}x" for r in rows)
    return emit(
        "isolation_proof",
        payload,
        f"isolation proof / plain forward, {USERS:,} users: {summary} (goal <= {GOAL}x, "
        f"{'met' if worst <= GOAL else 'MISSED'})",
    )


if __name__ == "__main__":
    from engram_probe.arch.workbench_checkpoint import load_checkpoint

    run(load_checkpoint())
