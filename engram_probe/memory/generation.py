"""Greedy generation with or without a user's memory, and which of the memory's rows each position reads.

One path for every greedy continuation the workbench shows or scores: the whole-answer recall of the writers
and the evaluation, ``engram-probe generate`` and the UI's "ask the model". Decoding is the model's own
(``EngramModelBase.generate``: full recomputation, so the hashes always see the real history).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from engram_probe.arch.base import EngramModelBase
from engram_probe.memory.overlay import MemoryOverlay, RowOverride
from engram_probe.tokenizer import EngramTokenizer


@dataclass(frozen=True)
class PositionRead:
    """The memory's rows one position reads in one Engram layer, and the facts that own them."""

    position: int
    token: str
    generated: bool  # the position holds a generated token (else a prompt token)
    layer: int
    rows: tuple[int, ...]
    facts: tuple[str, ...] = ()  # "user/fact" of each owner, when the overlay is a user memory

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "token": self.token,
            "generated": self.generated,
            "layer": self.layer,
            "rows": list(self.rows),
            "facts": list(self.facts),
        }


@dataclass
class Generation:
    """A greedy continuation of a prompt: its new tokens, their text, and the memory rows read on the way."""

    prompt_ids: list[int]
    new_ids: list[int]
    text: str
    reads: list[PositionRead] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "prompt_tokens": len(self.prompt_ids),
            "new_token_ids": list(self.new_ids),
            "text": self.text,
            "rows_read": [r.as_dict() for r in self.reads],
        }


@torch.no_grad()
def greedy(
    model: EngramModelBase, prompt_ids: Sequence[int], overlay: Any, max_new_tokens: int
) -> tuple[list[int], Tensor]:
    """Up to ``max_new_tokens`` greedy tokens after ``prompt_ids``, and the logits at the prompt's last position."""
    if max_new_tokens < 1:
        raise ValueError(f"at least one new token is needed, got {max_new_tokens}")
    prompt = list(prompt_ids)
    first = model(torch.tensor([prompt]), overlay=overlay)[0, -1]
    new = [int(first.argmax())]
    if max_new_tokens > 1 and len(prompt) + 1 < model.max_tokens:
        out = model.generate(torch.tensor([[*prompt, new[0]]]), max_new_tokens - 1, overlay=overlay)
        new += [int(t) for t in out[0, len(prompt) + 1 :].tolist()]
    return new, first


def decode(tokenizer: EngramTokenizer | None, ids: Sequence[int]) -> str:
    """The text of token ids (``#id`` for each token when no tokenizer is at hand)."""
    if tokenizer is None:
        return " ".join(f"#{int(i)}" for i in ids)
    return tokenizer.decode(list(ids))


def rows_read(
    model: EngramModelBase,
    token_ids: Sequence[int],
    overlay: RowOverride | None,
    tokenizer: EngramTokenizer | None = None,
    generated_from: int | None = None,
) -> list[PositionRead]:
    """Every position of ``token_ids`` that reads one of the overlay's rows, per Engram layer, in order.

    ``generated_from``: the first position holding a generated token (positions before it are the prompt's).
    """
    if overlay is None or not token_ids:
        return []
    ids = np.asarray(list(token_ids), dtype=np.int64)
    start = len(ids) if generated_from is None else generated_from
    out = []
    for layer in sorted(overlay.layers):
        addr = torch.from_numpy(model.hasher.addresses(ids, layer).copy())
        hits = overlay.hit_mask(layer, addr)
        for pos in torch.nonzero(hits.any(-1)).flatten().tolist():
            rows = tuple(sorted({int(r) for r in addr[pos][hits[pos]].tolist()}))
            facts: tuple[str, ...] = ()
            if isinstance(overlay, MemoryOverlay):
                owners = (o for r in rows for o in overlay.owners_of((layer, r)))
                facts = tuple(dict.fromkeys(f"{u}/{f}" for u, fs in owners for f in fs))
            token = decode(tokenizer, [int(ids[pos])])
            out.append(PositionRead(int(pos), token, pos >= start, layer, rows, facts))
    out.sort(key=lambda r: (r.position, r.layer))
    return out


def generate(
    model: EngramModelBase,
    tokenizer: EngramTokenizer,
    prompt: str | Sequence[int],
    overlay: RowOverride | None,
    max_new_tokens: int,
) -> Generation:
    """Greedy continuation of ``prompt`` (text, or token ids with the BOS) under ``overlay`` (None: no memory)."""
    prompt_ids = tokenizer.encode(prompt) if isinstance(prompt, str) else list(prompt)
    if len(prompt_ids) >= model.max_tokens:
        raise ValueError(f"the prompt has {len(prompt_ids):,} tokens; the context holds {model.max_tokens:,}")
    new, _ = greedy(model, prompt_ids, overlay, max_new_tokens)
    # the last new token is never run through the model, so the rows read are those of every position before it
    reads = rows_read(model, [*prompt_ids, *new[:-1]], overlay, tokenizer, generated_from=len(prompt_ids))
    return Generation(prompt_ids, new, decode(tokenizer, new), reads)
