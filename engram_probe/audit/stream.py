"""A paired run that compares the edited forward hook by hook as it runs, instead of keeping both runs whole.

The base forward is recorded in full. During the edited forward each hook value is handed, as
it is produced, to the comparisons (the bit-exact proof, changed fractions) together with the
base value of the same hook; then both are dropped unless a report figure reads that hook. At
4,096 tokens the attention scores and patterns are almost all of a run's hooks, and no figure
reads them, so the edited run's copy of them never accumulates and the base copy shrinks as the
edited run advances.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Protocol

import torch
from torch import Tensor

from engram_probe.arch.base import EngramModelBase, RowOverlay
from engram_probe.audit.proof import PairedRun, prepare_pair, residual_hooks


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
def streamed_run(
    model: EngramModelBase,
    tokens: Tensor,
    overlay: RowOverlay | None,
    comparisons: Sequence[HookComparison],
    keep: Collection[str],
    edited_model: EngramModelBase | None = None,
) -> PairedRun:
    """As ``paired_run`` (same tensor, addresses, dtype and thread count), feeding every hook to ``comparisons``.

    Each comparison sees every hook once, as (name, base value, edited value). The returned run
    holds only the hooks named in ``keep``. ``edited_model`` replaces the overlay, as in ``paired_run``.
    """
    tokens, addresses, threads = prepare_pair(model, tokens)
    _, base = model.forward_recorded(tokens, addresses=addresses)
    names = set(base)
    if names != set(model.hook_dict):
        raise RuntimeError("a hook did not record: the cache does not cover every hook point")
    dtype = str(base["hook_logits"].dtype)
    axes = dict(model.hook_axes)  # an edited copy (LoRA) has the same hooks; the base model's declaration counts
    slot = _ComparingSlot(base, comparisons, keep, axes)
    if edited_model is not None:
        edited_model.forward_recorded(tokens, addresses=addresses, slot=slot)
    else:
        model.forward_recorded(tokens, overlay=overlay, addresses=addresses, slot=slot)
    if torch.get_num_threads() != threads:
        raise RuntimeError("thread count changed between the base and edited runs")
    if slot.seen != names:
        raise RuntimeError("a hook did not record: the cache does not cover every hook point")
    return PairedRun(tokens, base, dict(slot), threads, dtype, axes)
