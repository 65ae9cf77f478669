"""Audit overhead: a full audit (two hooked forwards + byte comparison) over one plain forward."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from benchmarks.common import emit, interleaved
from benchmarks.fixtures import user_memory
from engram_probe.arch.loaded import LoadedModel
from engram_probe.audit.engine import heldout_texts
from engram_probe.audit.paired import paired_run
from engram_probe.audit.proof import bit_exact_proof
from engram_probe.audit.readmap import classify_positions, read_map
from engram_probe.memory.overlay import MemoryOverlay

GOAL = 2.2
FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
NANOCHAT = FIXTURES / "nanochat_tiny"
ENGRAM_PEFT = FIXTURES / "engram_peft"  # tiny Llama + engram-peft 1.2.7 adapter (see its PROVENANCE.md)
# its tables hold about 190 rows per head, so 20 facts make nearly every position a write site and leave the
# proof 2 positions to compare; 3 facts leave it 15
ENGRAM_PEFT_FACTS = 3


def probe_tokens(lm: LoadedModel, memory: Any, length: int) -> list[int]:
    """``length`` tokens of unrelated text with a fact's trigger placed at about two thirds."""
    filler = lm.tokenizer.encode(" ".join(heldout_texts(20, 99)), bos=False)
    trigger = lm.tokenizer.encode(" " + memory.facts[0].triggers[0], bos=False)
    cut = max(0, (2 * length) // 3 - len(trigger))
    ids = [lm.tokenizer.bos_id, *filler[:cut], *trigger]
    return (ids + filler[cut : cut + length])[:length]


def measure(lm: LoadedModel, lengths: tuple[int, ...], facts: int = 20) -> list[dict[str, Any]]:
    """Audit / plain-forward time at each probe length, timed interleaved, with a ``facts``-fact memory."""
    memory = user_memory(lm, facts, strategy="unembed")
    overlay = MemoryOverlay([memory])
    rows = []
    for length in lengths:
        ids = probe_tokens(lm, memory, length)
        tokens = torch.tensor([ids])
        classes = classify_positions(len(ids), read_map(lm.model.hasher, overlay, ids))

        @torch.no_grad()
        def plain(tokens: torch.Tensor = tokens) -> None:
            lm.model(tokens)

        def audit(tokens: torch.Tensor = tokens, classes: list[str] = classes) -> None:
            proof = bit_exact_proof(paired_run(lm.model, tokens, overlay), classes)
            assert proof["identical"]

        t = interleaved({"plain": plain, "audit": audit}, repeat=15)
        rows.append(
            {
                "architecture": lm.model.architecture,
                "tokens": length,
                "facts": facts,
                "plain_ms": t["plain"] * 1e3,
                "audit_ms": t["audit"] * 1e3,
                "ratio": t["audit"] / t["plain"],
                "untouched": classes.count("untouched"),
            }
        )
    return rows


def run(lm: LoadedModel) -> dict[str, Any]:
    """Every architecture in one run: the shipped model, the nanochat-engram and the engram-peft fixtures."""
    from engram_probe.arch.loading import open_model

    nanochat = open_model(NANOCHAT)
    peft = open_model(ENGRAM_PEFT / "llama", engram=ENGRAM_PEFT / "llama_engram")
    rows = measure(lm, (32, 128, lm.cfg.n_ctx)) + measure(nanochat, (32, nanochat.cfg.n_ctx))
    rows += measure(peft, (32, peft.cfg.n_ctx), facts=ENGRAM_PEFT_FACTS)
    worst = max(r["ratio"] for r in rows)
    payload = {"rows": rows, "goal": GOAL, "met": worst <= GOAL, "floor": 2.0}
    summary = ", ".join(f"{r['architecture']} {r['tokens']} tok {r['ratio']:.2f}x" for r in rows)
    return emit(
        "audit_overhead",
        payload,
        f"audit / plain forward: {summary} (goal <= {GOAL}x, {'met' if worst <= GOAL else 'MISSED'})",
    )
