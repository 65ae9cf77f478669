"""The paper's nanochat-engram GPT as a hooked model (TransformerLens-style names), fp32 on CPU.

Forward, in order (docs/architectures.md has the hook list):

    x  = rms(wte[ids]);  x_t += smear_lambda·σ(x_t[:24]·w)·x_{t-1}  (t ≥ 1);  x0 = x
    for block i:  x = resid_λ[i]·x + x0_λ[i]·x0
                  x += Engram(x)                                   (Engram layers, before attention)
                  x += Attn(rms(x))   rotary (base 1e5), QK-norm ×1.2, GQA, value embeddings with a (0, 3) gate
                  x += W_out·relu(W_in·rms(x))²
                  saved = x  if i == n_layer // 2
    logits = 15·tanh(W_U·rms(x − backout_λ·saved) / 15)   (sliced to the real vocabulary)
"""

from __future__ import annotations

from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engram_probe.arch.base import EngramModelBase, RowOverlay
from engram_probe.arch.engram_read import EngramRead, ReadLayout
from engram_probe.arch.layers import RMSNorm, attention_hooks, causal_attention, rms_norm, rope_tables, rotate
from engram_probe.arch.nanochat_config import (
    QK_SCALE,
    ROPE_BASE,
    SMEAR_CHANNELS,
    SOFTCAP,
    VE_GATE_CHANNELS,
    NanochatConfig,
)
from engram_probe.arch.tl_adapter import RecordingHookPoint, position_hook
from engram_probe.contracts.base import RowFormat
from engram_probe.contracts.multxor import MultXorContract

# the reference stores its short conv as torch's depthwise conv1d weight [d_model, 1, kernel]
NANOCHAT_READ = ReadLayout(conv="channels_first", gate="signed_sqrt")


def paper_contract(cfg: NanochatConfig, canonical_map: np.ndarray, tokenizer: object = None) -> MultXorContract:
    """The user-as-engram address contract of a checkpoint: hash seed 0, pad = canonical id of raw token 0."""
    dim = cfg.dim_per_head
    return MultXorContract(
        name="user-as-engram",
        version="1",
        layers=cfg.engram_layer_ids,
        orders=cfg.ngram_orders,
        heads_per_order=cfg.engram_n_head_per_ngram,
        base_size=cfg.engram_vocab_per_ngram,
        compressed_vocab=int(canonical_map.max()) + 1,
        pad_id=int(canonical_map[0]),
        row_format=RowFormat(dim, 4 * dim, "float32", (("bf16", 2 * dim),)),
        source="nanochat-engram checkpoint",
        compressed_map=canonical_map,
        tokenizer=tokenizer,
    )


class NanochatAttention(nn.Module):
    # given in __init__ by attention_hooks
    hook_q: RecordingHookPoint
    hook_k: RecordingHookPoint
    hook_v: RecordingHookPoint
    hook_attn_scores: RecordingHookPoint
    hook_pattern: RecordingHookPoint
    hook_z: RecordingHookPoint
    hook_ve_gate: RecordingHookPoint  # only where the layer has value embeddings

    def __init__(self, cfg: NanochatConfig, index: int):
        super().__init__()
        self.cfg = cfg
        hd, kv = cfg.head_dim, cfg.n_kv_head
        self.W_Q = nn.Linear(cfg.d_model, cfg.n_head * hd, bias=False)
        self.W_K = nn.Linear(cfg.d_model, kv * hd, bias=False)
        self.W_V = nn.Linear(cfg.d_model, kv * hd, bias=False)
        self.W_O = nn.Linear(cfg.n_head * hd, cfg.d_model, bias=False)
        self.has_ve = index in cfg.ve_layers
        if self.has_ve:
            self.value_embed = nn.Embedding(cfg.padded_vocab, kv * hd)
            self.ve_gate = nn.Linear(VE_GATE_CHANNELS, kv, bias=False)
            self.hook_ve_gate = position_hook()  # [batch, pos, kv_head], in (0, 3)
        attention_hooks(self)

    def forward(self, u: Tensor, tokens: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
        b, t, _ = u.shape
        cfg = self.cfg
        hd, kv = cfg.head_dim, cfg.n_kv_head
        q = self.W_Q(u).view(b, t, cfg.n_head, hd)
        k = self.W_K(u).view(b, t, kv, hd)
        v = self.W_V(u).view(b, t, kv, hd)
        if self.has_ve:
            gate = self.hook_ve_gate(3 * torch.sigmoid(self.ve_gate(u[..., :VE_GATE_CHANNELS])))
            v = v + gate.unsqueeze(-1) * self.value_embed(tokens).view(b, t, kv, hd)
        q = self.hook_q(rms_norm(rotate(q, cos, sin), cfg.eps) * QK_SCALE)
        k = self.hook_k(rms_norm(rotate(k, cos, sin), cfg.eps) * QK_SCALE)
        v = self.hook_v(v)
        group = cfg.n_head // kv
        k, v = k.repeat_interleave(group, dim=2), v.repeat_interleave(group, dim=2)
        z = causal_attention(self, q, k, v)
        return self.W_O(z.reshape(b, t, -1))


class NanochatMLP(nn.Module):
    def __init__(self, cfg: NanochatConfig):
        super().__init__()
        self.W_in = nn.Linear(cfg.d_model, cfg.d_mlp, bias=False)
        self.W_out = nn.Linear(cfg.d_mlp, cfg.d_model, bias=False)
        self.hook_pre, self.hook_post = position_hook(), position_hook()

    def forward(self, x: Tensor) -> Tensor:
        return self.W_out(self.hook_post(F.relu(self.hook_pre(self.W_in(x))).square()))


class NanochatBlock(nn.Module):
    # set by name in __init__
    hook_x0_mix: RecordingHookPoint
    hook_resid_pre: RecordingHookPoint
    hook_attn_out: RecordingHookPoint
    hook_resid_mid: RecordingHookPoint
    hook_mlp_out: RecordingHookPoint
    hook_resid_post: RecordingHookPoint

    def __init__(self, cfg: NanochatConfig, index: int, engram_rows: int | None):
        super().__init__()
        self.index = index
        self.engram = EngramRead(cfg, index, engram_rows, NANOCHAT_READ) if engram_rows is not None else None
        self.ln1, self.ln2 = RMSNorm(cfg.eps), RMSNorm(cfg.eps)
        self.attn = NanochatAttention(cfg, index)
        self.mlp = NanochatMLP(cfg)
        for name in ("x0_mix", "resid_pre", "attn_out", "resid_mid", "mlp_out", "resid_post"):
            setattr(self, f"hook_{name}", position_hook())

    def forward(
        self,
        x: Tensor,
        mix: Tensor,
        tokens: Tensor,
        rope: tuple[Tensor, Tensor],
        addresses: dict[int, Tensor],
        overlay: RowOverlay | None,
    ) -> Tensor:
        x = self.hook_resid_pre(x + self.hook_x0_mix(mix))
        if self.engram is not None:
            x = x + self.engram(x, addresses[self.index], overlay)
        x = self.hook_resid_mid(x + self.hook_attn_out(self.attn(self.ln1(x), tokens, *rope)))
        return self.hook_resid_post(x + self.hook_mlp_out(self.mlp(self.ln2(x))))


class NanochatEngram(EngramModelBase):
    """nanochat-engram with every Engram hook of the shipped model plus smear, x0 mix, VE gate, backout, softcap."""

    architecture = "nanochat-engram"
    cfg: NanochatConfig
    hasher: MultXorContract
    canonical_map: Tensor  # a registered buffer
    # set by name in __init__
    hook_embed: RecordingHookPoint
    hook_smear_gate: RecordingHookPoint
    hook_smear: RecordingHookPoint
    hook_backout: RecordingHookPoint
    hook_logits_pre_softcap: RecordingHookPoint
    hook_logits: RecordingHookPoint

    def __init__(self, cfg: NanochatConfig, canonical_map: np.ndarray, tokenizer: object = None):
        super().__init__()
        self.cfg = cfg
        self.hasher = paper_contract(cfg, np.asarray(canonical_map, dtype=np.int64), tokenizer)
        self.register_buffer("canonical_map", torch.from_numpy(self.hasher.canonical_map.copy()), persistent=True)
        self.embed = nn.Embedding(cfg.padded_vocab, cfg.d_model)
        self.ln_embed = RMSNorm(cfg.eps)
        self.smear_gate = nn.Linear(SMEAR_CHANNELS, 1, bias=False)
        self.smear_lambda = nn.Parameter(torch.zeros(1))
        self.resid_lambdas = nn.Parameter(torch.ones(cfg.n_layer))
        self.x0_lambdas = nn.Parameter(torch.zeros(cfg.n_layer))
        self.backout_lambda = nn.Parameter(torch.zeros(1))
        self.blocks = nn.ModuleList(
            NanochatBlock(cfg, i, self.hasher.table_rows(i) if i in cfg.engram_layer_ids else None)
            for i in range(cfg.n_layer)
        )
        self.ln_final = RMSNorm(cfg.eps)
        self.unembed = nn.Linear(cfg.d_model, cfg.padded_vocab, bias=False)
        for name in ("embed", "smear_gate", "smear", "backout", "logits_pre_softcap", "logits"):
            setattr(self, f"hook_{name}", position_hook())
        self.setup()

    def compute_logits(self, tokens: Tensor, addresses: dict[int, Tensor], overlay: RowOverlay | None) -> Tensor:
        cfg = self.cfg
        e = self.ln_embed(self.hook_embed(self.embed(tokens)))
        gate = self.smear_lambda * torch.sigmoid(self.smear_gate(e[:, 1:, :SMEAR_CHANNELS]).squeeze(-1))
        gate = self.hook_smear_gate(F.pad(gate, (1, 0)))  # [batch, pos]; position 0 has no predecessor
        x0 = self.hook_smear(e + gate.unsqueeze(-1) * F.pad(e[:, :-1], (0, 0, 1, 0)))
        rope = rope_tables(tokens.shape[1], cfg.head_dim, ROPE_BASE)
        x, saved = x0, None
        for i, block in enumerate(self.blocks):
            x = block(self.resid_lambdas[i] * x, self.x0_lambdas[i] * x0, tokens, rope, addresses, overlay)
            if i == cfg.backout_layer:
                saved = x
        # backout_layer (n_layer // 2) is always one of the blocks, so saved is set
        x = x - self.hook_backout(self.backout_lambda * cast(Tensor, saved))
        raw = self.hook_logits_pre_softcap(self.unembed(self.ln_final(x))[..., : cfg.vocab_size])
        return self.hook_logits(SOFTCAP * torch.tanh(raw / SOFTCAP))

    def blank_copy(self) -> NanochatEngram:
        clone = NanochatEngram(self.cfg, self.hasher.canonical_map, self.hasher.tokenizer)
        clone.load_state_dict(self.state_dict())
        return clone.eval()
