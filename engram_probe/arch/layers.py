"""Tensor maths and small weightless hooked modules that both architectures share."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor, nn

from engram_probe.arch.tl_adapter import RecordingHookPoint, position_hook, query_hook


def rms_norm(x: Tensor, eps: float, weight: Tensor | None = None) -> Tensor:
    """RMSNorm over the last axis, with a learned scale when ``weight`` is given."""
    return F.rms_norm(x, (x.shape[-1],), weight=weight, eps=eps)


def activation(name: str) -> Callable[[Tensor], Tensor]:
    """The MLP non-linearity called ``name`` (the config's ``act_fn``)."""
    table: dict[str, Callable[[Tensor], Tensor]] = {
        "gelu": F.gelu,
        "relu": F.relu,
        "silu": F.silu,
        "relu_sq": lambda x: F.relu(x).square(),
    }
    if name not in table:
        raise ValueError(f"unknown act_fn {name!r}; choose one of {sorted(table)}")
    return table[name]


def signed_sqrt_gate(
    h: Tensor, k: Tensor, eps: float, h_weight: Tensor | None = None, k_weight: Tensor | None = None
) -> Tensor:
    """alpha = sigmoid(sign(g) sqrt(|g|)), g = <rms(h), rms(k)> / sqrt(d) (each norm with its learned scale, if any)."""
    d = h.shape[-1]
    g = (rms_norm(h, eps, h_weight) * rms_norm(k, eps, k_weight)).sum(-1) / math.sqrt(d)
    g = torch.sign(g) * torch.sqrt(torch.clamp(g.abs(), min=1e-6))
    return torch.sigmoid(g)


def causal_dilated_conv(x: Float[Tensor, "batch pos d"], weight: Float[Tensor, "kernel d"], dilation: int) -> Tensor:
    """Depthwise causal conv: y_t = sum_j weight[j] * x_{t - j*dilation} (zero before the start)."""
    t = x.shape[1]
    y = weight[0] * x
    for j in range(1, weight.shape[0]):
        shift = j * dilation
        if shift >= t:
            break
        shifted = F.pad(x[:, : t - shift], (0, 0, shift, 0))
        y = y + weight[j] * shifted
    return y


def depthwise_causal_conv1d(x: Float[Tensor, "batch channels pos"], weight: Tensor, dilation: int) -> Tensor:
    """torch's depthwise conv1d (weight [channels, 1, kernel]) on ``x`` zero-padded on the left: output t reads
    t − (kernel−1−j)·dilation for tap j, so nothing after t."""
    pad = (weight.shape[-1] - 1) * dilation
    return F.conv1d(F.pad(x, (pad, 0)), weight, dilation=dilation, groups=weight.shape[0])


def rope_tables(t: int, d_head: int, base: float, device: torch.device | None = None) -> tuple[Tensor, Tensor]:
    """cos and sin [1, pos, 1, d_head/2] in fp32 for positions 0..t−1."""
    inv_freq = 1.0 / (base ** (torch.arange(0, d_head, 2, dtype=torch.float32, device=device) / d_head))
    angles = torch.outer(torch.arange(t, dtype=torch.float32, device=device), inv_freq)
    return angles.cos()[None, :, None, :], angles.sin()[None, :, None, :]


def rotate(x: Float[Tensor, "batch pos head d"], cos: Tensor, sin: Tensor) -> Tensor:
    """Half-split rotary: (a, b) -> (a·cos + b·sin, b·cos − a·sin), a and b the two halves of the head."""
    half = x.shape[-1] // 2
    a, b = x[..., :half], x[..., half:]
    return torch.cat([a * cos + b * sin, b * cos - a * sin], dim=-1)


def attention_hooks(attn: nn.Module) -> None:
    """Give an attention module its q, k, v, scores, pattern and z hooks (scores and pattern: queries on axis 2)."""
    for name in ("q", "k", "v", "z"):
        setattr(attn, f"hook_{name}", position_hook())  # [batch, pos, head, d_head]
    attn.hook_attn_scores = query_hook()  # [batch, head, query_pos, key_pos]
    attn.hook_pattern = query_hook()


class AttentionHooks(Protocol):
    """The hooks of an attention module that :func:`causal_attention` runs through."""

    hook_attn_scores: RecordingHookPoint
    hook_pattern: RecordingHookPoint
    hook_z: RecordingHookPoint


def causal_attention(attn: AttentionHooks, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """softmax(q·kᵀ/√d_head, causal) · v through the module's score, pattern and z hooks ([batch, pos, head, d])."""
    t = q.shape[1]
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(q.shape[-1])
    mask = torch.ones(t, t, dtype=torch.bool, device=q.device).triu(1)
    scores = attn.hook_attn_scores(scores.masked_fill(mask, float("-inf")))
    pattern = attn.hook_pattern(torch.softmax(scores, dim=-1))
    return attn.hook_z(torch.einsum("bhqk,bkhd->bqhd", pattern, v))


class RMSNorm(nn.Module):
    """Weightless RMSNorm with its ``hook_normalized``."""

    def __init__(self, eps: float):
        super().__init__()
        self.eps = eps
        self.hook_normalized = position_hook()

    def forward(self, x: Tensor) -> Tensor:
        return self.hook_normalized(rms_norm(x, self.eps))
