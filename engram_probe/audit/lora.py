"""Per-user LoRA contrast: the same facts trained into a LoRA (PEFT) on a private model copy."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from peft import LoraConfig, inject_adapter_in_model

from engram_probe.arch.base import EngramModelBase
from engram_probe.memory.answers import teacher_forced
from engram_probe.memory.writing import Progress, pad_batch

ATTENTION_TARGETS = r"blocks\.\d+\.attn\.W_[QKVO]"


def lora_copy(model: EngramModelBase, rank: int, alpha: int, target_modules: str) -> EngramModelBase:
    """A private copy of ``model`` with a fresh PEFT LoRA on ``target_modules`` (TransformerLens names, translated
    by the architecture); the shared model is never touched."""
    clone = model.blank_copy()
    targets = model.peft_target_modules(target_modules)
    config = LoraConfig(r=rank, lora_alpha=alpha, target_modules=targets, lora_dropout=0.0)
    try:
        inject_adapter_in_model(config, clone)
    except ValueError as exc:  # PEFT's "target modules not found"
        raise ValueError(f"no module of this model matches the LoRA targets {target_modules} ({targets})") from exc
    return clone


@dataclass(frozen=True)
class LoraSettings:
    rank: int = 16
    alpha: int = 32
    target_modules: str = ATTENTION_TARGETS
    lr: float = 2e-3
    max_steps: int = 400
    min_steps: int = 10  # trained even when the recall target is already met (e.g. the rows reach recall 0)
    check_every: int = 10
    seed: int = 0


@dataclass
class LoraResult:
    model: EngramModelBase
    steps: int
    recall_top1: float
    train_ms: float
    bytes: int
    params: int
    settings: LoraSettings
    targets: list[str] = field(default_factory=list)
    target_recall: float = 0.0
    start_recall: float = 0.0

    @property
    def note(self) -> str:
        """A plain sentence on how the matched-recall stopping rule played out."""
        s = self.settings
        if self.target_recall <= self.start_recall:
            return (
                f"the Engram rows reach top-1 recall {self.target_recall:.2f}, which the base model already meets "
                f"({self.start_recall:.2f}), so 'matched recall' asks for no training; the LoRA was trained the "
                f"stated minimum of {s.min_steps} steps so that there is an adapter to compare"
            )
        if self.recall_top1 < self.target_recall:
            return (
                f"the LoRA did not reach the Engram rows' recall {self.target_recall:.2f} within {s.max_steps} "
                f"steps (it reached {self.recall_top1:.2f})"
            )
        return f"trained until its top-1 recall reached the Engram rows' {self.target_recall:.2f} ({self.steps} steps)"

    def describe(self) -> dict[str, Any]:
        return {
            "rank": self.settings.rank,
            "alpha": self.settings.alpha,
            "target_modules": self.settings.target_modules,
            "targets": self.targets,
            "steps": self.steps,
            "min_steps": self.settings.min_steps,
            "target_recall": self.target_recall,
            "start_recall": self.start_recall,
            "note": self.note,
            "lr": self.settings.lr,
            "recall_top1": self.recall_top1,
            "train_ms": round(self.train_ms, 1),
            "params": self.params,
            "bytes": self.bytes,
        }


def lora_state(model: EngramModelBase) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n}


@torch.no_grad()
def top1_recall(model: EngramModelBase, batch: torch.Tensor, last: torch.Tensor, golds: torch.Tensor) -> float:
    logits = model(batch)[torch.arange(len(golds)), last]
    return float((logits.argmax(-1) == golds).float().mean())


def teacher_forced_batch(
    prompts: Sequence[Sequence[int]], answers: Sequence[int | Sequence[int]], pad_id: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every prompt's teacher-forced continuation (``answers.teacher_forced``), right-padded, and per answer token
    its (sequence, position) and target; then each prompt's first position (where the first token is predicted)."""
    seqs, rows, positions, targets, first = [], [], [], [], []
    for b, (prompt, answer) in enumerate(zip(prompts, answers, strict=True)):
        tokens = [answer] if isinstance(answer, int) else [int(t) for t in answer]
        seq, at = teacher_forced(prompt, tokens)
        seqs.append(seq)
        rows += [b] * len(at)
        positions += at
        targets += tokens
        first.append(at[0])
    batch, _ = pad_batch(seqs, pad_id)
    return batch, torch.tensor(rows), torch.tensor(positions), torch.tensor(targets), torch.tensor(first)


def train_user_lora(
    model: EngramModelBase,
    prompts: Sequence[Sequence[int]],
    answers: Sequence[int | Sequence[int]],
    pad_id: int,
    target_recall: float,
    settings: LoraSettings | None = None,
    progress: Progress | None = None,
) -> LoraResult:
    """Train a LoRA on the facts until its first-token top-1 recall reaches ``target_recall`` (or the budget ends).

    Each answer (token ids; one int is a one-token answer) is taught at every teacher-forced position, as the
    Engram writers teach it; the stopping rule reads the first answer token, the measure the rows are matched on.
    At least ``settings.min_steps`` are trained, so a target the base model already meets (recall 0, for
    instance) still yields an adapter to compare; ``LoraResult.note`` says which case happened.
    """
    s = settings or LoraSettings()
    torch.manual_seed(s.seed)
    clone = lora_copy(model, s.rank, s.alpha, s.target_modules)
    trainable = []
    for name, p in clone.named_parameters():
        p.requires_grad_("lora_" in name)
        if "lora_" in name:
            trainable.append(p)
    targets = sorted({n.rsplit(".lora_", 1)[0] for n, _ in clone.named_parameters() if "lora_" in n})
    batch, rows, positions, wanted, last = teacher_forced_batch(prompts, answers, pad_id)
    gold_t = torch.tensor([a if isinstance(a, int) else int(a[0]) for a in answers])
    opt = torch.optim.Adam(trainable, lr=s.lr)
    t0 = time.perf_counter()
    steps, recall = 0, top1_recall(clone, batch, last, gold_t)
    start = recall
    while steps < s.max_steps and (recall < target_recall or steps < s.min_steps):
        clone.train()
        logits = clone(batch)[rows, positions]
        loss = F.cross_entropy(logits, wanted)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        steps += 1
        if steps % s.check_every == 0 or steps == s.max_steps:
            clone.eval()
            recall = top1_recall(clone, batch, last, gold_t)
        if progress:
            progress(steps, s.max_steps, f"LoRA loss {loss.item():.3f}, recall {recall:.2f}")
    clone.eval()
    for p in clone.parameters():
        p.requires_grad_(False)
    params = sum(p.numel() for p in trainable)
    return LoraResult(
        clone, steps, recall, (time.perf_counter() - t0) * 1000, params * 4, params, s, targets, target_recall, start
    )
