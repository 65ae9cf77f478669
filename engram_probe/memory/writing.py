"""Write strategies: turn (trigger, answer) facts into Engram rows.

All strategies write the rows addressed at each trigger's last position in one Engram
layer (default: the early one, see ``DEFAULT_LAYER``). Training never touches the shared weights: gradients are
taken with ``torch.autograd.grad`` with respect to the new rows only, through an overlay.
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
from engram_probe.memory.ids import check_text
from engram_probe.memory.overlay import MemoryOverlay, RowOverride
from engram_probe.memory.user_memory import Fact, UserMemory
from engram_probe.tokenizer import EngramTokenizer

STRATEGIES = ("unembed", "opt", "joint")
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class FactSpec:
    """A fact to write: one or more trigger prompts (paraphrases) and the answer."""

    triggers: tuple[str, ...]
    answer: str
    key: str | None = None

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
    # past the steps above, keep optimising while some prompt's top-1 is not the gold token, up to this many
    # steps in all (0: stop at the steps above)
    opt_max_steps: int = 60
    joint_max_steps: int = 0


@dataclass
class PreparedFact:
    spec: FactSpec
    prompts: list[list[int]]
    gold: int
    gold_text: str
    rows: Tensor  # [n_triggers * heads] row ids (unique, sorted) in ``layer``


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


class AnswerError(ValueError):
    """An answer that cannot be turned into a gold token."""


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


def gold_token(tokenizer: EngramTokenizer, prompt: str, answer: str) -> tuple[int, str]:
    """First token of the answer as it follows the prompt (with a separating space)."""
    if not answer or not answer.strip():
        raise AnswerError("the answer is empty")
    sep = "" if answer[0].isspace() or prompt.endswith((" ", "\n")) else " "
    prefix = tokenizer.encode(prompt)
    full = tokenizer.encode(prompt + sep + answer)
    if len(full) > len(prefix) and full[: len(prefix)] == prefix:
        tok = full[len(prefix)]
    else:
        ids = tokenizer.encode(sep + answer, bos=False)
        if not ids:
            raise AnswerError(f"the answer {answer!r} tokenises to nothing")
        tok = ids[0]
    return tok, tokenizer.token_text(tok)


def check_prompt(model: EngramModelBase, tokenizer: EngramTokenizer, prompt: str) -> list[int]:
    if not prompt or not prompt.strip():
        raise ValueError("the trigger prompt is empty")
    ids = tokenizer.encode(prompt)
    if len(ids) > model.max_tokens:
        raise ValueError(f"the prompt has {len(ids)} tokens; the context holds {model.max_tokens}")
    return ids


def trigger_rows(model: EngramModelBase, token_ids: Sequence[int], layer: int) -> Tensor:
    """Row ids read at the last position of a prompt in one Engram layer ([heads])."""
    import numpy as np

    addr = model.hasher.addresses(np.asarray(token_ids, dtype=np.int64), layer)
    return torch.from_numpy(addr[-1].copy())


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
    model: EngramModelBase, prompts: Sequence[Sequence[int]], golds: Sequence[int], overlay: Any = None
) -> list[dict[str, Any]]:
    """Gold rank and probability at each prompt's last position, one unpadded forward each."""
    out = []
    for ids, gold in zip(prompts, golds, strict=True):
        logits = model(torch.tensor([list(ids)]), overlay=overlay)[0, -1]
        prob = torch.softmax(logits.double(), -1)[gold]
        out.append({"rank": gold_rank(logits, gold), "prob": float(prob), "top1": int(logits.argmax())})
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
        gold, gold_text = gold_token(self.tokenizer, spec.triggers[0], spec.answer)
        rows = torch.unique(torch.cat([trigger_rows(self.model, p, layer) for p in prompts]))
        return PreparedFact(spec, prompts, gold, gold_text, rows)

    def unembed_rows(self, prepared: PreparedFact, layer: int) -> dict[int, Tensor]:
        """Closed form per trigger: scale * pinv(W_V) u_gold, split into per-head slices."""
        weights = self.model.writer_weights(layer)
        cfg = self.model.cfg
        with torch.no_grad():
            u = weights.unembed[prepared.gold].detach().double()
            e = torch.linalg.pinv(weights.value.detach().double()) @ (u / u.norm())
            e = (self.settings.scale * e).float().view(cfg.n_engram_heads, cfg.dim_per_head)
        out: dict[int, Tensor] = {}
        for p in prepared.prompts:
            for r, vec in zip(trigger_rows(self.model, p, layer).tolist(), e, strict=True):
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
        prompts = [p for f in prepared for p in f.prompts]
        golds = torch.tensor([f.gold for f in prepared for _ in f.prompts])
        batch, last = pad_batch(prompts, self.tokenizer.bos_id)
        opt = torch.optim.Adam([values], lr=lr)
        for step in range(max(steps, max_steps)):
            override = merged_override(base, layer, rows, values)
            logits = self.model(batch, overlay=override)[torch.arange(len(prompts)), last]
            if step >= steps and bool((logits.argmax(-1) == golds).all()):
                break  # past the fixed budget, every prompt already recalls its gold token
            loss = F.cross_entropy(logits, golds)
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
        golds = [f.gold for f in prepared for _ in f.prompts]
        before = recall(self.model, prompts, golds, base)
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
        after = recall(self.model, prompts, golds, MemoryOverlay([after_mem]))
        return WriteResult(facts, before, after, cost, {"layer": n, "strategy": strategy})
