"""Write strategies: turn (trigger, answer) facts into Engram rows.

All strategies teach the whole answer, token by token, at the positions a teacher-forced continuation reads
(``answers``): the trigger's last position predicts the first answer token, the trigger plus that token's last
position the second, and so on, for every trigger paraphrase. A fact owns every row those positions read in one
Engram layer (default: the early one, see ``DEFAULT_LAYER``). Training never touches the shared weights:
gradients are taken with ``torch.autograd.grad`` with respect to the new rows only, through an overlay.

Recall is measured two ways: the first answer token at the trigger's last position (rank, probability, top-1,
as the paper) and the whole answer under greedy generation (``exact``: the generated ids are the answer's).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from engram_probe.arch.base import EngramModelBase
from engram_probe.contracts.workbench_config import DEFAULT_LAYER
from engram_probe.memory.answers import (
    MAX_ANSWER_TOKENS,
    AnswerError,
    answer_tokens,
    gold_token,
    position_rows,
    teacher_forced,
)
from engram_probe.memory.generation import decode, greedy
from engram_probe.memory.ids import check_text
from engram_probe.memory.overlay import MemoryOverlay, RowOverride
from engram_probe.memory.user_memory import Fact, UserMemory
from engram_probe.tokenizer import EngramTokenizer

__all__ = ["MAX_ANSWER_TOKENS", "STRATEGIES", "AnswerError", "FactSpec", "FactWriter", "WriteSettings", "gold_token"]

STRATEGIES = ("unembed", "opt", "joint")
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class FactSpec:
    """A fact to write: one or more trigger prompts (paraphrases) and the answer."""

    triggers: tuple[str, ...]
    answer: str
    key: str | None = None
    # teach only the answer's first n tokens: a fact stored before whole answers owns its first token only, and a
    # contrast that re-writes it must write what it owns
    answer_limit: int | None = None

    @classmethod
    def of(cls, trigger: str | Sequence[str], answer: str, key: str | None = None) -> FactSpec:
        """Checked at the door: every trigger and the answer are text without control characters."""
        triggers = (trigger,) if isinstance(trigger, str) else tuple(trigger)
        if not triggers:
            raise ValueError("a fact needs at least one trigger prompt")
        for t in triggers:
            check_text(t, "the trigger prompt")
        check_text(answer, "the answer")
        if key is not None and not isinstance(key, str):
            raise ValueError("a fact's key must be text")
        return cls(triggers, answer, key)


@dataclass(frozen=True)
class WriteSettings:
    scale: float = 20.0  # unembed: rows = scale * pinv(W_V) u_gold (in units of ||u_gold||)
    opt_steps: int = 20
    opt_lr: float = 0.3
    opt_l2: float = 1e-3
    joint_steps: int = 300
    joint_lr: float = 0.1
    # past the steps above, keep optimising while some teacher-forced position's top-1 is not its answer token
    # (i.e. while greedy generation would not give some whole answer), up to this many
    # steps in all (0: stop at the steps above)
    opt_max_steps: int = 60
    joint_max_steps: int = 0


@dataclass
class PreparedFact:
    spec: FactSpec
    prompts: list[list[int]]
    answers: list[list[int]]  # per prompt: the answer's tokens as they follow that trigger
    gold: int  # the first answer token after the first trigger
    gold_text: str
    rows: Tensor  # row ids (unique, sorted) every teacher-forced position of every trigger reads in ``layer``

    @property
    def answer_ids(self) -> list[int]:
        """The whole answer's tokens after the first trigger (what the stored fact records)."""
        return self.answers[0]

    def continuations(self) -> list[tuple[list[int], list[int], list[int]]]:
        """Per trigger: the teacher-forced sequence, the positions that predict the answer, the answer tokens."""
        return [(*teacher_forced(p, a), a) for p, a in zip(self.prompts, self.answers, strict=True)]


@dataclass
class WriteResult:
    facts: list[Fact]
    recall_before: list[dict[str, Any]]
    recall_after: list[dict[str, Any]]
    cost_ms: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rows(self) -> list[list[int]]:
        seen: dict[tuple[int, int], None] = {}
        for f in self.facts:
            for r in f.rows:
                seen.setdefault(r, None)
        return [list(r) for r in seen]

    @property
    def bytes(self) -> int:
        return sum(f.bytes for f in self.facts)


def resolve_layer(model: EngramModelBase, layer: str | int | None) -> int:
    """'early' (the default, ``None``) is the first Engram layer, 'late' the last; an int must be an Engram layer."""
    layers = model.cfg.engram_layers
    if not layers:
        raise ValueError("this model has no Engram layers")
    if layer is None:
        layer = DEFAULT_LAYER
    if layer == "late":
        return max(layers)
    if layer == "early":
        return min(layers)
    try:
        n = int(layer)
    except (TypeError, ValueError):
        raise ValueError(f"layer must be 'early', 'late' or one of {list(layers)}, got {layer!r}") from None
    if n not in layers:
        raise ValueError(f"layer {n} is not an Engram layer; Engram layers are {list(layers)}")
    return n


def check_prompt(model: EngramModelBase, tokenizer: EngramTokenizer, prompt: str) -> list[int]:
    if not prompt or not prompt.strip():
        raise ValueError("the trigger prompt is empty")
    ids = tokenizer.encode(prompt)
    if len(ids) > model.max_tokens:
        raise ValueError(f"the prompt has {len(ids)} tokens; the context holds {model.max_tokens}")
    return ids


def pad_batch(prompts: Sequence[Sequence[int]], pad_id: int) -> tuple[Tensor, Tensor]:
    """Right-padded batch and the index of each prompt's last token (causal: padding is never seen)."""
    width = max(len(p) for p in prompts)
    batch = torch.full((len(prompts), width), pad_id, dtype=torch.int64)
    for i, p in enumerate(prompts):
        batch[i, : len(p)] = torch.tensor(p)
    last = torch.tensor([len(p) - 1 for p in prompts])
    return batch, last


def gold_rank(logits_last: Tensor, gold: int) -> int:
    """1-based rank of the gold token among the vocabulary (1 = top-1)."""
    return int((logits_last > logits_last[gold]).sum()) + 1


@torch.no_grad()
def recall(
    model: EngramModelBase,
    prompts: Sequence[Sequence[int]],
    answers: Sequence[int | Sequence[int]],
    overlay: Any = None,
    tokenizer: EngramTokenizer | None = None,
) -> list[dict[str, Any]]:
    """Recall of each prompt's answer (token ids; one int is a one-token answer), unpadded forwards.

    Per prompt: the first answer token's ``rank``, ``prob`` and the ``top1`` id at the prompt's last position,
    and the whole answer under greedy generation of as many tokens as it has: ``exact`` (the generated ids are
    the answer's) and ``generated`` (their text; ``tokenizer`` defaults to the one attached to the model).
    """
    tok = tokenizer if tokenizer is not None else getattr(model, "tokenizer", None)
    out = []
    for ids, answer in zip(prompts, answers, strict=True):
        target = [answer] if isinstance(answer, int) else [int(t) for t in answer]
        new, logits = greedy(model, ids, overlay, len(target))
        gold = target[0]
        prob = torch.softmax(logits.double(), -1)[gold]
        out.append(
            {
                "rank": gold_rank(logits, gold),
                "prob": float(prob),
                "top1": int(logits.argmax()),
                "exact": new == target,
                "generated": decode(tok, new),
            }
        )
    return out


def merged_override(base: RowOverride | None, layer: int, rows: Tensor, values: Tensor) -> RowOverride:
    """The base overlay plus trainable ``values`` at ``rows`` (the new rows win)."""
    layers: dict[int, tuple[Tensor, Tensor]] = {}
    if base is not None:
        layers = {k: (ids, vals) for k, (ids, vals) in base.layers.items()}
    if layer in layers:
        ids, vals = layers[layer]
        keep = ~torch.isin(ids, rows)
        layers[layer] = (torch.cat([ids[keep], rows]), torch.cat([vals[keep].detach(), values]))
    else:
        layers[layer] = (rows, values)
    return RowOverride(layers)


class FactWriter:
    """Writes facts for one user with one of the three strategies."""

    def __init__(self, model: EngramModelBase, tokenizer: EngramTokenizer, settings: WriteSettings | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.settings = settings or WriteSettings()

    # ------------------------------------------------------------------ helpers
    def prepare(self, spec: FactSpec, layer: int) -> PreparedFact:
        if not spec.triggers:
            raise ValueError("a fact needs at least one trigger prompt")
        prompts = [check_prompt(self.model, self.tokenizer, t) for t in spec.triggers]
        answers = [answer_tokens(self.tokenizer, t, spec.answer)[: spec.answer_limit] for t in spec.triggers]
        for t, p, a in zip(spec.triggers, prompts, answers, strict=True):
            if len(p) + len(a) - 1 > self.model.max_tokens:
                raise ValueError(
                    f"the trigger {t[:40]!r} and its answer have {len(p) + len(a) - 1:,} tokens; "
                    f"the context holds {self.model.max_tokens:,}"
                )
        gold = answers[0][0]
        prepared = PreparedFact(spec, prompts, answers, gold, self.tokenizer.token_text(gold), torch.empty(0))
        reads = [position_rows(self.model, seq, pos, layer).flatten() for seq, pos, _ in prepared.continuations()]
        prepared.rows = torch.unique(torch.cat(reads))
        return prepared

    def unembed_rows(self, prepared: PreparedFact, layer: int) -> dict[int, Tensor]:
        """Closed form per teacher-forced position: scale * pinv(W_V) u_token, split into per-head slices.

        A row read at several positions keeps the value of the first (first trigger, earliest position)."""
        weights = self.model.writer_weights(layer)
        cfg = self.model.cfg
        vectors: dict[int, Tensor] = {}
        with torch.no_grad():
            pinv = torch.linalg.pinv(weights.value.detach().double())
            for token in dict.fromkeys(t for a in prepared.answers for t in a):
                u = weights.unembed[token].detach().double()
                e = (self.settings.scale * (pinv @ (u / u.norm()))).float()
                vectors[token] = e.view(cfg.n_engram_heads, cfg.dim_per_head)
        out: dict[int, Tensor] = {}
        for seq, positions, answer in prepared.continuations():
            rows = position_rows(self.model, seq, positions, layer)
            for at, token in zip(rows.tolist(), answer, strict=True):
                for r, vec in zip(at, vectors[token], strict=True):
                    out.setdefault(r, vec)
        return out

    def _fact(
        self,
        prepared: PreparedFact,
        layer: int,
        rows: dict[int, Tensor],
        strategy: str,
        ms: float,
        settings: dict[str, Any],
        group: str | None = None,
    ) -> Fact:
        ids = sorted(rows)
        return Fact(
            fact_id=uuid.uuid4().hex[:12],
            triggers=list(prepared.spec.triggers),
            answer=prepared.spec.answer,
            gold_token_id=prepared.gold,
            gold_token=prepared.gold_text,
            answer_token_ids=list(prepared.answer_ids),
            strategy=strategy,
            layer=layer,
            row_ids=torch.tensor([[layer, r] for r in ids], dtype=torch.int64).reshape(-1, 2),
            values=torch.stack([rows[r].detach().float() for r in ids]).clone(),
            written_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            cost_ms=ms,
            settings=settings,
            group=group,
        )

    def _optimise(
        self,
        prepared: list[PreparedFact],
        layer: int,
        init: dict[int, Tensor],
        base: RowOverride | None,
        steps: int,
        lr: float,
        l2: float,
        progress: Progress | None,
        label: str,
        max_steps: int = 0,
    ) -> dict[int, Tensor]:
        rows = torch.tensor(sorted(init), dtype=torch.int64)
        start = torch.stack([init[r] for r in rows.tolist()]).clone()
        values = start.clone().requires_grad_(True)
        forced = [c for f in prepared for c in f.continuations()]
        batch, _ = pad_batch([seq for seq, _, _ in forced], self.tokenizer.bos_id)
        # every (sequence, position) that predicts an answer token, and that token (padding is never read)
        which = torch.tensor([i for i, (_, pos, _) in enumerate(forced) for _ in pos])
        where = torch.tensor([p for _, pos, _ in forced for p in pos])
        targets = torch.tensor([t for _, _, answer in forced for t in answer])
        opt = torch.optim.Adam([values], lr=lr)
        for step in range(max(steps, max_steps)):
            override = merged_override(base, layer, rows, values)
            logits = self.model(batch, overlay=override)[which, where]
            if step >= steps and bool((logits.argmax(-1) == targets).all()):
                break  # past the fixed budget, greedy generation already gives every whole answer
            loss = F.cross_entropy(logits, targets)
            if l2:
                loss = loss + l2 * (values - start).pow(2).mean()
            (grad,) = torch.autograd.grad(loss, [values])
            values.grad = grad
            opt.step()
            if progress:
                progress(step + 1, steps if step < steps else max_steps, f"{label}: loss {loss.item():.3f}")
        return {r: v for r, v in zip(rows.tolist(), values.detach(), strict=True)}

    # ------------------------------------------------------------------ strategies
    def write(
        self,
        user: UserMemory,
        specs: Sequence[FactSpec],
        strategy: str = "opt",
        layer: str | int | None = None,
        progress: Progress | None = None,
    ) -> WriteResult:
        """Write facts into a *new* ``UserMemory`` (the input is not changed) and report recall."""
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
        if not specs:
            raise ValueError("no facts to write")
        n = resolve_layer(self.model, layer)
        prepared = [self.prepare(s, n) for s in specs]
        base = MemoryOverlay([user]) if len(user) else None
        prompts = [p for f in prepared for p in f.prompts]
        answers = [a for f in prepared for a in f.answers]
        before = recall(self.model, prompts, answers, base, self.tokenizer)
        s = self.settings
        t0 = time.perf_counter()
        facts: list[Fact] = []
        if strategy == "joint":
            init: dict[int, list[Tensor]] = {}
            for f in prepared:
                for r, vec in self.unembed_rows(f, n).items():
                    init.setdefault(r, []).append(vec)
            mean_init = {r: torch.stack(v).mean(0) for r, v in init.items()}
            rows = self._optimise(
                prepared, n, mean_init, base, s.joint_steps, s.joint_lr, 0.0, progress, "joint", s.joint_max_steps
            )
            ms = (time.perf_counter() - t0) * 1000
            group = uuid.uuid4().hex[:12]
            for f in prepared:
                own = {r: rows[r] for r in f.rows.tolist()}
                facts.append(
                    self._fact(
                        f, n, own, "joint", ms / len(prepared), {"steps": s.joint_steps, "lr": s.joint_lr}, group
                    )
                )
        else:
            current = UserMemory(user.user_id, list(user.facts))
            for i, f in enumerate(prepared):
                t1 = time.perf_counter()
                rows = self.unembed_rows(f, n)
                cfg: dict[str, Any] = {"scale": s.scale}
                if strategy == "opt":
                    over = MemoryOverlay([current]) if len(current) else None
                    rows = self._optimise(
                        [f],
                        n,
                        rows,
                        over,
                        s.opt_steps,
                        s.opt_lr,
                        s.opt_l2,
                        progress,
                        f"opt fact {i + 1}/{len(prepared)}",
                        s.opt_max_steps,
                    )
                    cfg |= {"steps": s.opt_steps, "lr": s.opt_lr, "l2": s.opt_l2}
                    if s.opt_max_steps > s.opt_steps:
                        cfg["max_steps"] = s.opt_max_steps
                fact = self._fact(f, n, rows, strategy, (time.perf_counter() - t1) * 1000, cfg)
                current.add(fact)
                facts.append(fact)
        cost = (time.perf_counter() - t0) * 1000
        after_mem = UserMemory(user.user_id, [*user.facts, *facts])
        after = recall(self.model, prompts, answers, MemoryOverlay([after_mem]), self.tokenizer)
        return WriteResult(facts, before, after, cost, {"layer": n, "strategy": strategy})
