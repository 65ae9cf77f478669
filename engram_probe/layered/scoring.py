"""Scores of one condition: direct recall, indirect answers (the paper's and stricter metrics), held-out loss."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from engram_probe.arch.loaded import LoadedModel
from engram_probe.audit.contrasts import token_nll
from engram_probe.layered.samples import IndirectProbe
from engram_probe.memory.writing import FactWriter, gold_rank, pad_batch, resolve_layer

GENERATED_TOKENS = 16
YES_NO = {"yes", "no"}


@dataclass(frozen=True)
class IndirectAnswer:
    probe: IndirectProbe
    prompt_ids: list[int]
    generated_ids: list[int]
    text: str
    top1: bool  # paper: first generated token = first token of " " + gold's first word
    any: bool  # paper: lower-cased gold is a substring of the 16 generated tokens
    first_word_exact: bool  # stricter: the answer begins with the gold's first word, ending at a word boundary
    exact: bool  # stricter: the first line of the answer is the gold (case and a final period ignored)
    strict_eligible: bool  # gold is not yes/no and does not appear in the question

    def as_dict(self) -> dict[str, Any]:
        return {
            "question": self.probe.question,
            "gold": self.probe.gold,
            "answer": self.text,
            "top1": self.top1,
            "any": self.any,
            "first_word_exact": self.first_word_exact,
            "exact": self.exact,
            "strict_eligible": self.strict_eligible,
        }


def first_word(gold: str) -> str:
    parts = gold.split()
    return parts[0] if parts else gold


def score_answer(lm: LoadedModel, probe: IndirectProbe, prompt_ids: list[int], gen_ids: list[int]) -> IndirectAnswer:
    text = lm.tokenizer.decode(gen_ids)
    gold = probe.gold.strip()
    want = lm.tokenizer.encode(" " + first_word(gold), bos=False)
    head = text.lstrip()
    word = first_word(gold)
    line = text.strip().split("\n", 1)[0].strip().rstrip(".").strip()
    return IndirectAnswer(
        probe=probe,
        prompt_ids=prompt_ids,
        generated_ids=gen_ids,
        text=text,
        top1=bool(gen_ids) and bool(want) and gen_ids[0] == want[0],
        any=gold.lower() in text.lower(),
        first_word_exact=bool(re.match(re.escape(word) + r"(?![A-Za-z0-9])", head, flags=re.IGNORECASE)),
        exact=line.lower() == gold.lower().rstrip("."),
        strict_eligible=gold.lower() not in YES_NO and gold.lower() not in probe.question.lower(),
    )


@torch.no_grad()
def greedy_batch(
    model: Any, prompts: Sequence[Sequence[int]], n_new: int, pad_id: int, overlay: Any = None
) -> list[list[int]]:
    """Greedy continuations of several prompts in one right-padded batch, by full recomputation.

    Row i's next token is read at its own last position; causal attention, suffix n-grams and the causal
    conv never look right, so the padding after a row's end cannot reach it.
    """
    batch, last = pad_batch(prompts, pad_id)
    batch = torch.cat([batch, torch.full((len(prompts), n_new), pad_id, dtype=torch.int64)], dim=1)
    rows = torch.arange(len(prompts))
    for _ in range(n_new):
        width = int(last.max()) + 1
        logits = model(batch[:, :width], overlay=overlay)
        nxt = logits[rows, last].argmax(-1)
        last = last + 1
        batch[rows, last] = nxt
    return [batch[i, len(p) : len(p) + n_new].tolist() for i, p in enumerate(prompts)]


def answer_indirect(lm: LoadedModel, model: Any, overlay: Any, probes: Sequence[IndirectProbe]) -> list[IndirectAnswer]:
    """Greedy 16 tokens after 'Q: <question>\\nA:' for every probe, batched."""
    if not probes:
        return []
    prompts = [lm.tokenizer.encode(p.prompt) for p in probes]
    n_new = min(GENERATED_TOKENS, lm.model.max_tokens - max(len(p) for p in prompts))
    gens = greedy_batch(model, prompts, n_new, lm.tokenizer.bos_id, overlay)
    return [score_answer(lm, p, ids, g) for p, ids, g in zip(probes, prompts, gens, strict=True)]


@torch.no_grad()
def direct_ranks(lm: LoadedModel, model: Any, overlay: Any, specs: Sequence[Any]) -> list[int]:
    """Rank of the gold first token at each fact prompt's last position (one padded batch)."""
    writer = FactWriter(model, lm.tokenizer)
    layer = resolve_layer(lm.model, None)
    prepared = [writer.prepare(s, layer) for s in specs]
    batch, last = pad_batch([p.prompts[0] for p in prepared], lm.tokenizer.bos_id)
    logits = model(batch, overlay=overlay)[torch.arange(len(prepared)), last]
    return [gold_rank(row, p.gold) for row, p in zip(logits, prepared, strict=True)]


@torch.no_grad()
def heldout_loss(lm: LoadedModel, model: Any, overlay: Any, texts: Sequence[str]) -> float:
    """Mean next-token loss (nats/token) over held-out texts."""
    total, n = 0.0, 0
    for text in texts:
        ids = lm.tokenizer.encode(text)[: lm.model.max_tokens]
        if len(ids) < 2:
            continue
        nll = token_nll(model, torch.tensor([ids]), overlay).double()
        total += float(nll.sum())
        n += nll.numel()
    return total / max(1, n)


def summarise(ranks: Sequence[int], answers: Sequence[IndirectAnswer]) -> dict[str, Any]:
    n, m = len(ranks), len(answers)
    eligible = [a for a in answers if a.strict_eligible]
    return {
        "direct_n": n,
        "direct_top1": sum(r == 1 for r in ranks) / n if n else 0.0,
        "direct_top5": sum(r <= 5 for r in ranks) / n if n else 0.0,
        "indirect_n": m,
        "indirect_top1": sum(a.top1 for a in answers) / m if m else 0.0,
        "indirect_any": sum(a.any for a in answers) / m if m else 0.0,
        "first_word_exact": sum(a.first_word_exact for a in answers) / m if m else 0.0,
        "exact_answer": sum(a.exact for a in answers) / m if m else 0.0,
        "strict_n": len(eligible),
        "indirect_any_strict": sum(a.any for a in eligible) / len(eligible) if eligible else 0.0,
    }
