"""Paired runs: the base and edited forwards of one identical tensor, compared hook by hook as the edited run goes.

The base forward is recorded in full. During the edited forward each hook value is handed, as
it is produced, to the comparisons (the bit-exact proof, changed fractions) together with the
base value of the same hook; then both are dropped unless a report figure reads that hook. At
4,096 tokens the attention scores and patterns are almost all of a run's hooks, and no figure
reads them, so the edited run's copy of them never accumulates and the base copy shrinks as the
edited run advances.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from engram_probe.arch.base import EngramModelBase, RowOverlay
from engram_probe.audit.allocator import keep_freed_buffers


@dataclass
class PairedRun:
    """Base and edited forwards of one identical token tensor, with every hook cached."""

    tokens: Tensor
    base: dict[str, Tensor]
    edited: dict[str, Tensor]
    threads: int
    dtype: str
    axes: Mapping[str, int]  # each hook's declared position axis (the model's ``hook_axes``)

    def axis(self, name: str) -> int:
        """The position axis of hook ``name``, as the model declared it."""
        if name not in self.axes:
            raise ValueError(f"hook {name} has no declared position axis in this run")
        return self.axes[name]


def prepare_pair(model: EngramModelBase, tokens: Tensor) -> tuple[Tensor, dict[int, Tensor], int]:
    """Checked tokens, their addresses (one hashing pass, read by both runs) and the thread count to hold."""
    if tokens.ndim != 2 or tokens.shape[0] != 1:
        raise ValueError("paired runs take a single [1, pos] sequence")
    keep_freed_buffers()
    threads = torch.get_num_threads()
    tokens = model.check_tokens(tokens)
    return tokens, model.engram_addresses(tokens), threads


def residual_hooks(n_layers: int) -> list[str]:
    """The residual-stream hooks of a delta matrix: block-0 input, each block's output, the logits."""
    return ["blocks.0.hook_resid_pre"] + [f"blocks.{i}.hook_resid_post" for i in range(n_layers)] + ["hook_logits"]


class HookComparison(Protocol):
    """Anything fed one hook's base and edited values at a time, with the hook's declared position axis
    (see ``ByteProof``, ``ChangedFraction``)."""

    def add(self, name: str, a: Tensor, b: Tensor, axis: int) -> None: ...


def figure_hooks(n_layers: int, engram_layers: Sequence[int]) -> set[str]:
    """Every hook the report's figures read after the run (change sizes, delta matrix, gates, value path, ranks)."""
    names = set(residual_hooks(n_layers)) | {"ln_final.hook_normalized"}
    for i in range(n_layers):
        names |= {f"blocks.{i}.hook_attn_out", f"blocks.{i}.hook_mlp_out"}
    for i in engram_layers:
        names |= {f"blocks.{i}.engram.hook_{k}" for k in ("value", "conv", "gate", "out", "rows")}
    return names


class _ComparingSlot(dict[str, Tensor]):
    """The edited forward's recording slot: each value is compared when recorded, then kept or dropped."""

    def __init__(
        self,
        base: dict[str, Tensor],
        comparisons: Sequence[HookComparison],
        keep: Collection[str],
        axes: Mapping[str, int],
    ) -> None:
        super().__init__()
        self.base, self.comparisons, self.keep, self.axes = base, comparisons, keep, axes
        self.seen: set[str] = set()

    def __setitem__(self, name: str, value: Tensor) -> None:
        if name in self.seen:
            raise RuntimeError(f"hook {name} fired twice in one forward, so it cannot be compared as it is produced")
        self.seen.add(name)
        if name not in self.base:
            return  # reported once the forward ends: the runs do not cover the same hooks
        for comparison in self.comparisons:
            comparison.add(name, self.base[name], value, self.axes[name])
        if name in self.keep:
            super().__setitem__(name, value)
        else:
            del self.base[name]  # neither side of this hook is needed any more


@torch.no_grad()
def paired_run(
    model: EngramModelBase,
    tokens: Tensor,
    overlay: RowOverlay | None,
    comparisons: Sequence[HookComparison] = (),
    keep: Collection[str] | None = None,
    edited_model: EngramModelBase | None = None,
    base_overlay: RowOverlay | None = None,
) -> PairedRun:
    """Run base and edited on the *same* tensor object, with the same addresses, dtype and thread count.

    Each comparison sees every hook once, as (name, base value, edited value), while the edited run
    produces it. The returned run holds the hooks named in ``keep`` (every hook when None).
    ``edited_model`` (e.g. a LoRA-adapted copy) replaces the overlay for model-level contrasts. ``base_overlay``
    is an overlay the base run carries (default none: the bare table), e.g. one user's rows against a shared table.
    """
    tokens, addresses, threads = prepare_pair(model, tokens)
    _, base = model.forward_recorded(tokens, overlay=base_overlay, addresses=addresses)
    names = set(base)
    if names != set(model.hook_dict):
        raise RuntimeError("a hook did not record: the cache does not cover every hook point")
    dtype = str(base["hook_logits"].dtype)
    axes = dict(model.hook_axes)  # an edited copy (LoRA) has the same hooks; the base model's declaration counts
    slot = _ComparingSlot(base, comparisons, names if keep is None else keep, axes)
    if edited_model is not None:
        edited_model.forward_recorded(tokens, addresses=addresses, slot=slot)
    else:
        model.forward_recorded(tokens, overlay=overlay, addresses=addresses, slot=slot)
    if torch.get_num_threads() != threads:
        raise RuntimeError("thread count changed between the base and edited runs")
    if slot.seen != names:
        raise RuntimeError("a hook did not record: the cache does not cover every hook point")
    return PairedRun(tokens, base, dict(slot), threads, dtype, axes)
