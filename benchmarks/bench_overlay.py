"""Overlay cost: forward with a 100-fact overlay vs plain; user switch vs per-user LoRA swap."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from benchmarks.common import emit, interleaved
from benchmarks.fixtures import fact_specs, user_memory
from engram_probe.arch.loaded import LoadedModel
from engram_probe.audit.engine import heldout_texts
from engram_probe.audit.lora import LoraSettings, lora_state, train_user_lora
from engram_probe.memory.overlay import MemoryOverlay
from engram_probe.memory.store import MemoryStore
from engram_probe.memory.user_memory import Fact, UserMemory

GOAL_FORWARD = 1.05
GOAL_SWITCH = 10.0


def filler_fact(i: int, layer: int, dim: int) -> Fact:
    rows = torch.tensor([[layer, i % 4001], [layer, 4001 + i % 4003]], dtype=torch.int64)
    return Fact(
        f"fill{i:05d}",
        ["t"],
        "a",
        1,
        " a",
        "unembed",
        layer,
        rows,
        torch.randn(2, dim, generator=torch.Generator().manual_seed(i)),
        "2026-01-01T00:00:00+00:00",
    )


def fill_store(store: MemoryStore, n_users: int, lm: LoadedModel) -> None:
    """Add filler users (one small fact each) until the store holds ``n_users`` users."""
    have = len(store.user_ids())
    layer = max(lm.cfg.engram_layers)
    for i in range(have, n_users):
        store.add_facts(f"filler{i:05d}", [filler_fact(i, layer, lm.cfg.dim_per_head)])


def run(lm: LoadedModel) -> dict[str, Any]:
    memory = user_memory(lm, 100, strategy="unembed", user="measured")
    overlay = MemoryOverlay([memory])
    text = " ".join(heldout_texts(10, 7))
    fwd = {}
    for length in (32, lm.cfg.n_ctx):
        ids = torch.tensor([lm.tokenizer.encode(text)[:length]])

        @torch.no_grad()
        def plain(ids: torch.Tensor = ids) -> None:
            lm.model(ids)

        @torch.no_grad()
        def with_overlay(ids: torch.Tensor = ids) -> None:
            lm.model(ids, overlay=overlay)

        t = interleaved({"plain": plain, "overlay": with_overlay}, repeat=25)
        fwd[length] = {
            "plain_ms": t["plain"] * 1e3,
            "overlay_ms": t["overlay"] * 1e3,
            "ratio": t["overlay"] / t["plain"],
        }

    # the per-user LoRA with the same facts, trained to the Engram memory's recall
    specs = fact_specs(100)
    prompts = [lm.tokenizer.encode(s.triggers[0]) for s in specs]
    golds = [f.gold_token_id for f in memory.facts]
    lora = train_user_lora(lm.model, prompts, golds, lm.tokenizer.bos_id, 1.0, LoraSettings(max_steps=50))
    adapter = lora_state(lora.model)
    other = {k: v + 0.01 for k, v in adapter.items()}
    params = dict(lora.model.named_parameters())

    def lora_swap_memory() -> None:
        for src in (other, adapter):  # swap to another user's adapter and back: count one swap each
            with torch.no_grad():
                for k, v in src.items():
                    params[k].copy_(v)

    switch: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        adapter_file = Path(tmp) / "lora.safetensors"
        save_file(adapter, str(adapter_file))

        def lora_swap_disk() -> None:
            loaded = load_file(str(adapter_file))
            with torch.no_grad():
                for k, v in loaded.items():
                    params[k].copy_(v)

        store = MemoryStore(Path(tmp) / "users.db", lm.weights_sha256)
        store.add_facts("measured", memory.facts)
        second = UserMemory("measured", memory.facts)

        def engram_switch_memory() -> None:
            MemoryOverlay([second])
            MemoryOverlay([memory])

        t = interleaved({"engram": engram_switch_memory, "lora": lora_swap_memory}, repeat=25)
        switch["in_memory"] = {
            "engram_ms": t["engram"] / 2 * 1e3,
            "lora_ms": t["lora"] / 2 * 1e3,
            "lora_over_engram": t["lora"] / t["engram"],
        }
        by_users = []
        for n_users in (1, 100, 10_000):
            t0 = time.perf_counter()
            fill_store(store, n_users, lm)
            fill_s = time.perf_counter() - t0

            def engram_from_store() -> None:
                MemoryOverlay([store.load("measured")])

            t = interleaved({"engram": engram_from_store, "lora": lora_swap_disk}, repeat=15)
            by_users.append(
                {
                    "users": len(store.user_ids()),
                    "engram_ms": t["engram"] * 1e3,
                    "lora_from_disk_ms": t["lora"] * 1e3,
                    "lora_over_engram": t["lora"] / t["engram"],
                    "fill_s": fill_s,
                }
            )
        switch["from_store"] = by_users
        store.close()
    worst_fwd = max(v["ratio"] for v in fwd.values())
    best_switch = switch["in_memory"]["lora_over_engram"]
    payload = {
        "facts": len(memory),
        "rows": memory.n_rows,
        "forward": fwd,
        "switch": switch,
        "lora": lora.describe(),
        "goals": {"forward_ratio": GOAL_FORWARD, "switch_speedup": GOAL_SWITCH},
        "met_forward": worst_fwd <= GOAL_FORWARD,
        "met_switch": best_switch >= GOAL_SWITCH,
    }
    growth = by_users[-1]["engram_ms"] / by_users[0]["engram_ms"]
    per_len = ", ".join(f"{k} tok {v['ratio']:.3f}x" for k, v in fwd.items())
    summary = (
        f"forward with 100-fact overlay / plain: {per_len}"
        f" (goal <= {GOAL_FORWARD}x: {'met' if payload['met_forward'] else 'MISSED'}); switch in memory: "
        f"LoRA swap / Engram overlay = {best_switch:.1f}x (goal >= {GOAL_SWITCH}x: "
        f"{'met' if payload['met_switch'] else 'MISSED'}); from the store: Engram "
        + ", ".join(f"{r['users']:,} users {r['engram_ms']:.2f} ms" for r in by_users)
        + f" ({growth:.2f}x from 1 to 10,000 users)"
    )
    return emit("overlay_cost", payload, summary)
