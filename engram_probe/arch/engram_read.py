"""The one Engram read every architecture uses: gather rows, let the overlay substitute its own, then hooks.

    rows  = table[addresses]  ->  overlay.substitute(layer, addresses, rows)   (always, when an overlay is given)
    k, v  = W_K e, W_V e                                                        (e = rows concatenated)
    alpha = gate(h, k)
    out   = alpha v + SiLU(causal_dilated_depthwise_conv(rms(alpha v)))

What differs between architectures is a :class:`ReadLayout`: how the conv weight is stored, which
gate is used, and (engram-peft) whether the read has branches with learned norms:

    v = W_V e (one value);  for each branch m:  alpha_m = gate(RMSNorm_m(h), RMSNorm_m(W_K^m e))
    y_m = alpha_m v + SiLU(conv(RMSNorm_m(alpha_m v)))   (conv channels branch-major);  out = sum_m y_m

The forward is the same arithmetic, in the same order, as each architecture's own module had
before, so logits and every hook are bit-identical.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor, nn

from engram_probe.arch.base import ArchConfig, RowOverlay
from engram_probe.arch.layers import causal_dilated_conv, depthwise_causal_conv1d, rms_norm, signed_sqrt_gate
from engram_probe.arch.tl_adapter import RecordingHookPoint, position_hook

# conv weight layouts: "kernel_first" is [kernel, d_model] with tap j reading t − j·dilation; "channels_first" is
# torch's depthwise conv1d layout [d_model, 1, kernel], whose tap j reads t − (kernel−1−j)·dilation
CONV_LAYOUTS = ("kernel_first", "channels_first")
GATES: dict[str, Callable[..., Tensor]] = {"signed_sqrt": signed_sqrt_gate}
HOOKS = ("addresses", "rows", "key", "gate", "value", "conv", "out")
BRANCH_HOOKS = ("branch_gate", "branch_value", "branch_conv", "branch_out")  # reads with learned norms only


@dataclass(frozen=True)
class ReadLayout:
    """What an architecture's Engram read differs in: the conv weight's layout, the gate, and branches.

    ``learned_norms`` selects engram-peft's read: ``branches`` gates that share one value, each with its own
    key projection and learned RMSNorm scales on h and k, and a learned RMSNorm per branch before the conv.
    ``gate_eps`` and ``conv_eps`` replace the config's eps in the gate's and the conv's norms when given.
    """

    conv: str = "kernel_first"
    gate: str = "signed_sqrt"
    branches: int = 1
    learned_norms: bool = False
    gate_eps: float | None = None
    conv_eps: float | None = None

    def __post_init__(self) -> None:
        if self.conv not in CONV_LAYOUTS:
            raise ValueError(f"Engram conv layout {self.conv!r} is not one of {', '.join(CONV_LAYOUTS)}")
        if self.gate not in GATES:
            raise ValueError(f"Engram gate {self.gate!r} is not one of {', '.join(GATES)}")
        if self.branches < 1 or (self.branches > 1 and not self.learned_norms):
            raise ValueError(f"Engram branches must be 1, or at least 1 with learned norms, got {self.branches}")
        if self.learned_norms and self.conv != "channels_first":
            raise ValueError("an Engram read with learned norms stores its conv channels first (torch conv1d)")

    def conv_shape(self, kernel: int, d_model: int) -> tuple[int, ...]:
        if self.conv == "kernel_first":
            return (kernel, d_model)
        return (self.branches * d_model, 1, kernel)


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
    # only with learned norms (BRANCH_HOOKS)
    hook_branch_gate: RecordingHookPoint
    hook_branch_value: RecordingHookPoint
    hook_branch_conv: RecordingHookPoint
    hook_branch_out: RecordingHookPoint

    def __init__(self, cfg: ArchConfig, layer: int, table_rows: int, layout: ReadLayout) -> None:
        super().__init__()
        self.layer, self.eps, self.dilation, self.layout = layer, cfg.eps, cfg.conv_dilation, layout
        self.gate_fn = GATES[layout.gate]
        self.table = nn.Embedding(table_rows, cfg.dim_per_head)
        # with branches, W_K stacks the branches' key projections: rows m·d_model … (m+1)·d_model − 1 are branch m's
        self.W_K = nn.Linear(cfg.engram_hidden, layout.branches * cfg.d_model, bias=False)
        self.W_V = nn.Linear(cfg.engram_hidden, cfg.d_model, bias=False)
        self.conv_weight = nn.Parameter(torch.zeros(layout.conv_shape(cfg.conv_kernel, cfg.d_model)))
        # addresses [batch, pos, heads] int64; rows [batch, pos, heads, dim]; gate [batch, pos]; the rest d_model
        # (with branches: key [batch, pos, branch, d_model], branch_gate [batch, pos, branch], branch_* d_model)
        hooks = HOOKS + BRANCH_HOOKS if layout.learned_norms else HOOKS
        for name in hooks:
            setattr(self, f"hook_{name}", position_hook())
        if layout.learned_norms:
            ones = torch.ones(layout.branches, cfg.d_model)
            self.norm_h, self.norm_k, self.conv_norm = (nn.Parameter(ones.clone()) for _ in range(3))

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
        if self.layout.learned_norms:
            return self._branched(h, e)
        k = self.hook_key(self.W_K(e))
        alpha = self.hook_gate(self.gate_fn(h, k, self.eps))
        value = self.hook_value(alpha.unsqueeze(-1) * self.W_V(e))
        conv = self.hook_conv(F.silu(causal_dilated_conv(rms_norm(value, self.eps), self.conv_taps(), self.dilation)))
        return self.hook_out(value + conv)

    def _branched(self, h: Float[Tensor, "batch pos d_model"], e: Tensor) -> Float[Tensor, "batch pos d_model"]:
        """engram-peft's read, in its order of operations; the summed hooks summarise the branches."""
        lay, width = self.layout, h.shape[-1]
        gate_eps = self.eps if lay.gate_eps is None else lay.gate_eps
        conv_eps = self.eps if lay.conv_eps is None else lay.conv_eps
        value = self.W_V(e)
        # one projection per branch (a slice of W_K), as engram-peft computes them
        keys = [F.linear(e, self.W_K.weight[m * width : (m + 1) * width]) for m in range(lay.branches)]
        key = self.hook_key(torch.stack(keys, dim=2))
        gates = [self.gate_fn(h, key[:, :, m], gate_eps, self.norm_h[m], self.norm_k[m]) for m in range(lay.branches)]
        gate = self.hook_branch_gate(torch.stack(gates, dim=-1))
        self.hook_gate(gate.mean(-1))
        gated = self.hook_branch_value(gate.unsqueeze(-1) * value.unsqueeze(2))
        self.hook_value(gated.sum(2))
        normed = torch.stack([rms_norm(gated[:, :, m], conv_eps, self.conv_norm[m]) for m in range(lay.branches)], 2)
        b, t = normed.shape[:2]
        channels = normed.permute(0, 2, 3, 1).reshape(b, lay.branches * width, t)  # channel m·d_model + j
        conv = depthwise_causal_conv1d(channels, self.conv_weight, self.dilation)
        conv = self.hook_branch_conv(F.silu(conv).view(b, lay.branches, width, t).permute(0, 3, 1, 2))
        self.hook_conv(conv.sum(2))
        return self.hook_out(self.hook_branch_out(conv + gated).sum(2))
