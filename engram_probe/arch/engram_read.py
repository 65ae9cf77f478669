"""The one Engram read every architecture uses: gather rows, let the overlay substitute its own, then hooks.

    rows  = table[addresses]  ->  overlay.substitute(layer, addresses, rows)   (always, when an overlay is given)
    k, v  = W_K e, W_V e                                                        (e = rows concatenated)
    alpha = gate(h, k)
    out   = alpha v + SiLU(causal_dilated_depthwise_conv(rms(alpha v)))

What differs between architectures is a :class:`ReadLayout`: how the conv weight is stored and
which gate is used. The forward is the same arithmetic, in the same order, as each architecture's
own module had before, so logits and every hook are bit-identical.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor, nn

from engram_probe.arch.base import ArchConfig, RowOverlay
from engram_probe.arch.layers import causal_dilated_conv, rms_norm, signed_sqrt_gate
from engram_probe.arch.tl_adapter import RecordingHookPoint, position_hook

# conv weight layouts: "kernel_first" is [kernel, d_model] with tap j reading t − j·dilation; "channels_first" is
# torch's depthwise conv1d layout [d_model, 1, kernel], whose tap j reads t − (kernel−1−j)·dilation
CONV_LAYOUTS = ("kernel_first", "channels_first")
GATES: dict[str, Callable[[Tensor, Tensor, float], Tensor]] = {"signed_sqrt": signed_sqrt_gate}
HOOKS = ("addresses", "rows", "key", "gate", "value", "conv", "out")


@dataclass(frozen=True)
class ReadLayout:
    """What an architecture's Engram read differs in: the conv weight's layout and the gate."""

    conv: str = "kernel_first"
    gate: str = "signed_sqrt"

    def __post_init__(self) -> None:
        if self.conv not in CONV_LAYOUTS:
            raise ValueError(f"Engram conv layout {self.conv!r} is not one of {', '.join(CONV_LAYOUTS)}")
        if self.gate not in GATES:
            raise ValueError(f"Engram gate {self.gate!r} is not one of {', '.join(GATES)}")

    def conv_shape(self, kernel: int, d_model: int) -> tuple[int, ...]:
        return (kernel, d_model) if self.conv == "kernel_first" else (d_model, 1, kernel)


class EngramRead(nn.Module):
    """Hash-keyed N-gram memory read at one layer; a user's overlay swaps rows at lookup time, never in ``table``."""

    # set by name in __init__ (HOOKS)
    hook_addresses: RecordingHookPoint
    hook_rows: RecordingHookPoint
    hook_key: RecordingHookPoint
    hook_gate: RecordingHookPoint
    hook_value: RecordingHookPoint
    hook_conv: RecordingHookPoint
    hook_out: RecordingHookPoint

    def __init__(self, cfg: ArchConfig, layer: int, table_rows: int, layout: ReadLayout) -> None:
        super().__init__()
        self.layer, self.eps, self.dilation, self.layout = layer, cfg.eps, cfg.conv_dilation, layout
        self.gate_fn = GATES[layout.gate]
        self.table = nn.Embedding(table_rows, cfg.dim_per_head)
        self.W_K = nn.Linear(cfg.engram_hidden, cfg.d_model, bias=False)
        self.W_V = nn.Linear(cfg.engram_hidden, cfg.d_model, bias=False)
        self.conv_weight = nn.Parameter(torch.zeros(layout.conv_shape(cfg.conv_kernel, cfg.d_model)))
        # addresses [batch, pos, heads] int64; rows [batch, pos, heads, dim]; gate [batch, pos]; the rest d_model
        for name in HOOKS:
            setattr(self, f"hook_{name}", position_hook())

    def conv_taps(self) -> Float[Tensor, "kernel d_model"]:
        """The conv weight as [kernel, d_model], tap j reading position t − j·dilation."""
        if self.layout.conv == "kernel_first":
            return self.conv_weight
        return self.conv_weight[:, 0, :].flip(-1).T

    def forward(
        self,
        h: Float[Tensor, "batch pos d_model"],
        addresses: Int[Tensor, "batch pos heads"],
        overlay: RowOverlay | None = None,
    ) -> Float[Tensor, "batch pos d_model"]:
        addresses = self.hook_addresses(addresses)
        rows = self.table(addresses)
        if overlay is not None:
            rows = overlay.substitute(self.layer, addresses, rows)
        e = self.hook_rows(rows).flatten(-2)
        k = self.hook_key(self.W_K(e))
        alpha = self.hook_gate(self.gate_fn(h, k, self.eps))
        value = self.hook_value(alpha.unsqueeze(-1) * self.W_V(e))
        conv = self.hook_conv(F.silu(causal_dilated_conv(rms_norm(value, self.eps), self.conv_taps(), self.dilation)))
        return self.hook_out(value + conv)
