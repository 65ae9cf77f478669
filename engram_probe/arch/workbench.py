"""EngramTransformer, the shipped architecture: a pre-norm decoder with Engram memory and TransformerLens hooks.

At each Engram layer the block input ``h`` goes through the shared Engram read
(``engram_probe.arch.engram_read``) before attention, and its output is added to the residual stream.
User memory is never written into a table: an overlay passed to ``forward`` swaps rows at lookup
time, so concurrent requests for different users cannot see each other.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from jaxtyping import Float
from torch import Tensor, nn

from engram_probe.arch.base import EngramModelBase, RowOverlay
from engram_probe.arch.engram_read import EngramRead, ReadLayout
from engram_probe.arch.layers import RMSNorm, activation, attention_hooks, causal_attention, rope_tables, rotate
from engram_probe.arch.tl_adapter import RecordingHookPoint, position_hook
from engram_probe.contracts.workbench import NgramHasher
from engram_probe.contracts.workbench_config import EngramConfig

ROTARY_BASE = 10_000.0
LONG_CONTEXT_FACTOR = 8  # rotary models audit up to this many times their training length
WORKBENCH_READ = ReadLayout(conv="kernel_first", gate="signed_sqrt")


class Attention(nn.Module):
    # given in __init__ by attention_hooks
    hook_q: RecordingHookPoint
    hook_k: RecordingHookPoint
    hook_v: RecordingHookPoint
    hook_attn_scores: RecordingHookPoint
    hook_pattern: RecordingHookPoint
    hook_z: RecordingHookPoint

    def __init__(self, cfg: EngramConfig):
        super().__init__()
        self.cfg = cfg
        self.W_Q = nn.Linear(cfg.d_model, cfg.n_heads * cfg.d_head, bias=False)
        self.W_K = nn.Linear(cfg.d_model, cfg.n_heads * cfg.d_head, bias=False)
        self.W_V = nn.Linear(cfg.d_model, cfg.n_heads * cfg.d_head, bias=False)
        self.W_O = nn.Linear(cfg.n_heads * cfg.d_head, cfg.d_model, bias=False)
        attention_hooks(self)

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
        self.hook_pre, self.hook_post = position_hook(), position_hook()

    def forward(self, x: Tensor) -> Tensor:
        return self.W_out(self.hook_post(self.act(self.hook_pre(self.W_in(x)))))


class Block(nn.Module):
    # set by name in __init__
    hook_resid_pre: RecordingHookPoint
    hook_attn_out: RecordingHookPoint
    hook_resid_mid: RecordingHookPoint
    hook_mlp_out: RecordingHookPoint
    hook_resid_post: RecordingHookPoint

    def __init__(self, cfg: EngramConfig, index: int, engram_rows: int | None):
        super().__init__()
        self.index = index
        self.engram = EngramRead(cfg, index, engram_rows, WORKBENCH_READ) if engram_rows is not None else None
        self.ln1 = RMSNorm(cfg.eps)
        self.attn = Attention(cfg)
        self.ln2 = RMSNorm(cfg.eps)
        self.mlp = MLP(cfg)
        for name in ("resid_pre", "attn_out", "resid_mid", "mlp_out", "resid_post"):
            setattr(self, f"hook_{name}", position_hook())

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
    cfg: EngramConfig
    hasher: NgramHasher

    def __init__(self, cfg: EngramConfig, canonical_map: np.ndarray | None = None):
        super().__init__()
        self.cfg = cfg
        if canonical_map is None:
            canonical_map = np.arange(cfg.d_vocab, dtype=np.int64)
        self.hasher = NgramHasher(cfg, canonical_map)
        self.register_buffer("canonical_map", torch.from_numpy(self.hasher.canonical_map.copy()), persistent=True)
        self.embed = nn.Embedding(cfg.d_vocab, cfg.d_model)
        self.hook_embed = position_hook()
        if cfg.positional_embedding_type == "standard":
            self.pos_embed = nn.Embedding(cfg.n_ctx, cfg.d_model)
            self.hook_pos_embed = position_hook()
        self.blocks = nn.ModuleList(
            Block(cfg, i, self.hasher.table_rows(i) if i in cfg.engram_layers else None) for i in range(cfg.n_layers)
        )
        self.ln_final = RMSNorm(cfg.eps)
        self.unembed = nn.Linear(cfg.d_model, cfg.d_vocab, bias=False)
        self.hook_logits = position_hook()
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
