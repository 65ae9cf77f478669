"""Write cost per fact for each strategy (unembed, opt, joint at 10 and 100 facts), with the recall reached."""

from __future__ import annotations

import time
from typing import Any

from benchmarks.common import emit
from benchmarks.fixtures import fact_specs
from engram_probe.arch.loaded import LoadedModel
from engram_probe.memory.overlay import MemoryOverlay
from engram_probe.memory.user_memory import UserMemory
from engram_probe.memory.writing import FactWriter, recall


def run(lm: LoadedModel) -> dict[str, Any]:
    writer = FactWriter(lm.model, lm.tokenizer)
    rows = []
    for strategy, n in (("unembed", 10), ("unembed", 100), ("opt", 10), ("opt", 100), ("joint", 10), ("joint", 100)):
        specs = fact_specs(n)
        writer.write(UserMemory("warm"), specs[:1], strategy)  # warm-up (first Adam import etc.)
        t0 = time.perf_counter()
        res = writer.write(UserMemory("w"), specs, strategy)
        ms = (time.perf_counter() - t0) * 1000
        mem = UserMemory("w", res.facts)
        prompts = [lm.tokenizer.encode(s.triggers[0]) for s in specs]
        ranks = [
            r["rank"] for r in recall(lm.model, prompts, [f.gold_token_id for f in res.facts], MemoryOverlay([mem]))
        ]
        rows.append(
            {
                "strategy": strategy,
                "facts": n,
                "ms_total": ms,
                "ms_per_fact": ms / n,
                "write_ms_per_fact": res.cost_ms / n,
                "recall_top1": sum(r == 1 for r in ranks) / n,
                "recall_top5": sum(r <= 5 for r in ranks) / n,
                "rows": mem.n_rows,
            }
        )
    summary = "; ".join(
        f"{r['strategy']}@{r['facts']}: {r['write_ms_per_fact']:.1f} ms/fact, top-1 {r['recall_top1']:.2f}"
        for r in rows
    )
    return emit(
        "write_cost",
        {
            "rows": rows,
            "note": "opt facts are written one after another, each trained "
            "with the earlier ones present; joint optimises all facts together",
        },
        summary,
    )
