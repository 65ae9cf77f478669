"""Read-map evidence for indirect probes: can the user's rows have contributed to the answer at all?"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engram_probe.arch.loaded import LoadedModel
from engram_probe.audit.readmap import read_map
from engram_probe.layered.scoring import IndirectAnswer
from engram_probe.memory.overlay import MemoryOverlay
from engram_probe.memory.user_memory import UserMemory

RULE = (
    "Derived: a row changes the model's output only at positions that read it, and at later positions "
    "through attention. A probe none of whose positions reads the user's rows gets exactly the answer the "
    "same model gives without the rows, until a generated token reads one."
)


def probe_reads(lm: LoadedModel, memory: UserMemory, answer: IndirectAnswer) -> dict[str, Any]:
    """Positions of the probe (and of the generated answer) that read the user's rows, with their n-grams."""
    overlay = MemoryOverlay([memory])
    ids = answer.prompt_ids + answer.generated_ids
    hits = read_map(lm.model.hasher, overlay, ids)
    tokens = [lm.tokenizer.decode([t]) for t in ids]
    n_prompt = len(answer.prompt_ids)
    in_probe = [h for h in hits if h.position < n_prompt]
    ngrams = sorted(
        {(h.position, "".join(tokens[max(0, h.position - h.order + 1) : h.position + 1])) for h in in_probe}
    )
    return {
        "question": answer.probe.question,
        "tokens": tokens[:n_prompt],
        "probe_positions": sorted({h.position for h in in_probe}),
        "probe_ngrams": [{"position": p, "ngram": g} for p, g in ngrams],
        "generated_positions": sorted({h.position - n_prompt for h in hits if h.position >= n_prompt}),
        "read_in_probe": bool(in_probe),
    }


def never_read_share(evidence: Sequence[dict[str, Any]]) -> float:
    return sum(not e["read_in_probe"] for e in evidence) / len(evidence) if evidence else 0.0
