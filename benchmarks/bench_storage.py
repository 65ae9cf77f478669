"""Storage per user: Engram rows against a per-user LoRA with matched recall, and the 1 M-user projection."""

from __future__ import annotations

from typing import Any

from benchmarks.common import emit
from benchmarks.fixtures import user_memory
from engram_probe.arch.loaded import LoadedModel
from engram_probe.audit.contrasts import fact_recall
from engram_probe.audit.lora import LoraSettings, train_user_lora
from engram_probe.memory.overlay import MemoryOverlay
from engram_probe.memory.writing import WriteSettings

GOAL = 100.0


def run(lm: LoadedModel) -> dict[str, Any]:
    rows = []
    for n in (30, 100):
        mem = user_memory(lm, n, strategy="joint", settings=WriteSettings(joint_steps=300))
        ranks = fact_recall(lm, mem.facts, MemoryOverlay([mem]))
        target = sum(r == 1 for r in ranks) / n
        prompts = [lm.tokenizer.encode(f.triggers[0]) for f in mem.facts]
        golds = [f.gold_token_id for f in mem.facts]
        for rank in (1, 4, 16):
            lora = train_user_lora(
                lm.model,
                prompts,
                golds,
                lm.tokenizer.bos_id,
                target,
                LoraSettings(rank=rank, alpha=2 * rank, max_steps=400),
            )
            if lora.recall_top1 >= target:
                break
        rows.append(
            {
                "facts": n,
                "engram_rows": mem.n_rows,
                "engram_bytes_fp32": mem.bytes,
                "engram_recall_top1": target,
                "lora_rank": lora.settings.rank,
                "lora_bytes_fp32": lora.bytes,
                "lora_recall_top1": lora.recall_top1,
                "lora_matched": lora.recall_top1 >= target,
                "ratio": lora.bytes / mem.bytes,
                "projection_1M_users": {"engram_gb": mem.bytes * 1e6 / 1e9, "lora_gb": lora.bytes * 1e6 / 1e9},
            }
        )
    worst = min(r["ratio"] for r in rows)
    payload = {
        "rows": rows,
        "goal": GOAL,
        "met": worst >= GOAL,
        "note": "the smallest LoRA rank (1, 4, 16) on W_Q/W_K/W_V/W_O that matches the Engram recall; "
        "bytes at fp32 for both; Engram rows are deduplicated",
    }
    summary = "; ".join(
        f"{r['facts']} facts: Engram {r['engram_bytes_fp32']:,} B vs LoRA r{r['lora_rank']} "
        f"{r['lora_bytes_fp32']:,} B = {r['ratio']:.1f}x; 1 M users {r['projection_1M_users']['engram_gb']:.0f}"
        f" GB vs {r['projection_1M_users']['lora_gb']:.0f} GB"
        for r in rows
    )
    return emit("storage", payload, summary + f" (goal >= {GOAL:.0f}x: {'met' if worst >= GOAL else 'MISSED'})")
