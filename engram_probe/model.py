"""EngramTransformer: a pre-norm decoder with Engram memory modules and TransformerLens hooks.

At each Engram layer the block input ``h`` goes through the Engram module before
attention, and its output is added to the residual stream:

    rows  = table[hash(suffix n-grams)]            (or a user's overlay rows)
    k, v  = W_K e, W_V e                           (e = rows concatenated)
    alpha = sigmoid(signed_sqrt(<rms(h), rms(k)> / sqrt(d)))
    out   = alpha v + SiLU(causal_dilated_depthwise_conv(rms(alpha v)))

User memory is never written into ``table``: an overlay passed to ``forward`` swaps rows
at lookup time, so concurrent requests for different users cannot see each other.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor, nn

from engram_probe.config import EngramConfig
from engram_probe.hashing import NgramHasher
from engram_probe.hooked_base import EngramModelBase, RowOverlay, hook_position_axis, next_token_loss  # noqa: F401
from engram_probe.tl_adapter import RecordingHookPoint as HookPoint


def rms_norm(x: Tensor, eps: float) -> Tensor:
    """RMSNorm without learnable weights."""
    return F.rms_norm(x, (x.shape[-1],), eps=eps)


def activation(name: str) -> Callable[[Tensor], Tensor]:
    table: dict[str, Callable[[Tensor], Tensor]] = {
        "gelu": F.gelu,
        "relu": F.relu,
        "silu": F.silu,
        "relu_sq": lambda x: F.relu(x).square(),
    }
    if name not in table:
        raise ValueError(f"unknown act_fn {name!r}; choose one of {sorted(table)}")
    return table[name]


def signed_sqrt_gate(h: Tensor, k: Tensor, eps: float) -> Tensor:
    """alpha = sigmoid(sign(g) sqrt(|g|)), g = <rms(h), rms(k)> / sqrt(d)."""
    d = h.shape[-1]
    g = (rms_norm(h, eps) * rms_norm(k, eps)).sum(-1) / math.sqrt(d)
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


ROTARY_BASE = 10_000.0
LONG_CONTEXT_FACTOR = 8  # rotary models audit up to this many times their training length


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


def causal_attention(attn: nn.Module, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """softmax(q·kᵀ/√d_head, causal) · v through the module's score, pattern and z hooks ([batch, pos, head, d])."""
    t = q.shape[1]
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(q.shape[-1])
    mask = torch.ones(t, t, dtype=torch.bool, device=q.device).triu(1)
    scores = attn.hook_attn_scores(scores.masked_fill(mask, float("-inf")))
    pattern = attn.hook_pattern(torch.softmax(scores, dim=-1))
    return attn.hook_z(torch.einsum("bhqk,bkhd->bqhd", pattern, v))


class EngramModule(nn.Module):
    """Hash-keyed N-gram memory read at one layer."""

    def __init__(self, cfg: EngramConfig, layer: int, table_rows: int):
        super().__init__()
        self.cfg = cfg
        self.layer = layer
        self.table = nn.Embedding(table_rows, cfg.dim_per_head)
        self.W_K = nn.Linear(cfg.engram_hidden, cfg.d_model, bias=False)
        self.W_V = nn.Linear(cfg.engram_hidden, cfg.d_model, bias=False)
        self.conv_weight = nn.Parameter(torch.zeros(cfg.conv_kernel, cfg.d_model))
        self.hook_addresses = HookPoint()  # [batch, pos, heads] int64 row ids
        self.hook_rows = HookPoint()  # [batch, pos, heads, dim]
        self.hook_key = HookPoint()  # [batch, pos, d_model]
        self.hook_gate = HookPoint()  # [batch, pos]
        self.hook_value = HookPoint()  # alpha * W_V e, [batch, pos, d_model]
        self.hook_conv = HookPoint()  # SiLU(conv(rms(alpha v))), [batch, pos, d_model]
        self.hook_out = HookPoint()  # value + conv, added to the residual

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
        rows = self.hook_rows(rows)
        e = rows.flatten(-2)
        k = self.hook_key(self.W_K(e))
        alpha = self.hook_gate(signed_sqrt_gate(h, k, self.cfg.eps))
        value = self.hook_value(alpha.unsqueeze(-1) * self.W_V(e))
        conv = self.hook_conv(
            F.silu(causal_dilated_conv(rms_norm(value, self.cfg.eps), self.conv_weight, self.cfg.conv_dilation))
        )
        return self.hook_out(value + conv)


class RMSNormPre(nn.Module):
    def __init__(self, cfg: EngramConfig):
        super().__init__()
        self.eps = cfg.eps
        self.hook_normalized = HookPoint()

    def forward(self, x: Tensor) -> Tensor:
        return self.hook_normalized(rms_norm(x, self.eps))


class Attention(nn.Module):
    def __init__(self, cfg: EngramConfig):
        super().__init__()
        self.cfg = cfg
        self.W_Q = nn.Linear(cfg.d_model, cfg.n_heads * cfg.d_head, bias=False)
        self.W_K = nn.Linear(cfg.d_model, cfg.n_heads * cfg.d_head, bias=False)
        self.W_V = nn.Linear(cfg.d_model, cfg.n_heads * cfg.d_head, bias=False)
        self.W_O = nn.Linear(cfg.n_heads * cfg.d_head, cfg.d_model, bias=False)
        self.hook_q = HookPoint()  # [batch, pos, head, d_head]
        self.hook_k = HookPoint()
        self.hook_v = HookPoint()
        self.hook_attn_scores = HookPoint()  # [batch, head, query_pos, key_pos]
        self.hook_pattern = HookPoint()
        self.hook_z = HookPoint()  # [batch, pos, head, d_head]

    def forward(self, x: Float[Tensor, "batch pos d_model"]) -> Float[Tensor, "batch pos d_model"]:
        b, t, _ = x.shape
        shape = (b, t, self.cfg.n_heads, self.cfg.d_head)
        q, k = self.W_Q(x).view(shape), self.W_K(x).view(shape)
        if self.cfg.positional_embedding_type == "rotary":
            cos, sin = rope_tables(t, self.cfg.d_head, ROTARY_BASE, x.device)
            q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        q, k = self.hook_q(q), self.hook_k(k)
        v = self.hook_v(self.W_V(x).view(shape))
        z = causal_attention(self, q, k, v)
        return self.W_O(z.reshape(b, t, -1))


class MLP(nn.Module):
    def __init__(self, cfg: EngramConfig):
        super().__init__()
        self.W_in = nn.Linear(cfg.d_model, cfg.d_mlp, bias=False)
        self.W_out = nn.Linear(cfg.d_mlp, cfg.d_model, bias=False)
        self.act = activation(cfg.act_fn)
        self.hook_pre = HookPoint()
        self.hook_post = HookPoint()

    def forward(self, x: Tensor) -> Tensor:
        return self.W_out(self.hook_post(self.act(self.hook_pre(self.W_in(x)))))


class Block(nn.Module):
    def __init__(self, cfg: EngramConfig, index: int, engram_rows: int | None):
        super().__init__()
        self.index = index
        self.engram = EngramModule(cfg, index, engram_rows) if engram_rows is not None else None
        self.ln1 = RMSNormPre(cfg)
        self.attn = Attention(cfg)
        self.ln2 = RMSNormPre(cfg)
        self.mlp = MLP(cfg)
        self.hook_resid_pre = HookPoint()
        self.hook_attn_out = HookPoint()
        self.hook_resid_mid = HookPoint()
        self.hook_mlp_out = HookPoint()
        self.hook_resid_post = HookPoint()

    def forward(
        self, x: Tensor, addresses: dict[int, Tensor], overlay: RowOverlay | None
    ) -> Float[Tensor, "batch pos d_model"]:
        x = self.hook_resid_pre(x)
        if self.engram is not None:
            x = x + self.engram(x, addresses[self.index], overlay)
        x = self.hook_resid_mid(x + self.hook_attn_out(self.attn(self.ln1(x))))
        return self.hook_resid_post(x + self.hook_mlp_out(self.mlp(self.ln2(x))))


class EngramTransformer(EngramModelBase):
    """Decoder-only transformer with Engram modules, hooked the TransformerLens way."""

    architecture = "workbench"

    def __init__(self, cfg: EngramConfig, canonical_map: np.ndarray | None = None):
        super().__init__()
        self.cfg = cfg
        if canonical_map is None:
            canonical_map = np.arange(cfg.d_vocab, dtype=np.int64)
        self.hasher = NgramHasher(cfg, canonical_map)
        self.register_buffer("canonical_map", torch.from_numpy(self.hasher.canonical_map.copy()), persistent=True)
        self.embed = nn.Embedding(cfg.d_vocab, cfg.d_model)
        self.hook_embed = HookPoint()
        if cfg.positional_embedding_type == "standard":
            self.pos_embed = nn.Embedding(cfg.n_ctx, cfg.d_model)
            self.hook_pos_embed = HookPoint()
        self.blocks = nn.ModuleList(
            Block(cfg, i, self.hasher.table_rows(i) if i in cfg.engram_layers else None) for i in range(cfg.n_layers)
        )
        self.ln_final = RMSNormPre(cfg)
        self.unembed = nn.Linear(cfg.d_model, cfg.d_vocab, bias=False)
        self.hook_logits = HookPoint()
        self.init_weights()
        self.setup()

    def init_weights(self) -> None:
        gen = torch.Generator().manual_seed(self.cfg.seed)
        for name, p in self.named_parameters():
            if name.endswith("conv_weight"):
                nn.init.zeros_(p)
            elif name.endswith("table.weight"):
                nn.init.normal_(p, std=1.0, generator=gen)
            elif p.ndim == 2 and ("embed" in name):
                nn.init.normal_(p, std=0.02, generator=gen)
            else:
                nn.init.normal_(p, std=1.0 / math.sqrt(p.shape[1]), generator=gen)

    def compute_logits(self, tokens: Tensor, addresses: dict[int, Tensor], overlay: RowOverlay | None) -> Tensor:
        t = tokens.shape[1]
        x = self.hook_embed(self.embed(tokens))
        if self.cfg.positional_embedding_type == "standard":
            positions = self.pos_embed(torch.arange(t, device=tokens.device))
            x = x + self.hook_pos_embed(positions.expand(tokens.shape[0], t, -1))
        for block in self.blocks:
            x = block(x, addresses, overlay)
        return self.hook_logits(self.unembed(self.ln_final(x)))

    @property
    def max_tokens(self) -> int:
        """Rotary positions do not cap audits at the training length; learned positions do."""
        rotary = self.cfg.positional_embedding_type == "rotary"
        return self.cfg.n_ctx * (LONG_CONTEXT_FACTOR if rotary else 1)

    def blank_copy(self) -> EngramTransformer:
        clone = EngramTransformer(self.cfg, self.hasher.canonical_map)
        clone.load_state_dict(self.state_dict())
        return clone.eval()
