"""The hooked forward equals a plain, hand-written forward bit for bit."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from engram_probe.arch.workbench import EngramTransformer
from tests.helpers import raw_bytes, tiny_model


def reference_forward(model: EngramTransformer, tokens: torch.Tensor) -> torch.Tensor:
    """No hooks, no HookPoints, no modules: parameters and plain tensor maths only."""
    cfg = model.cfg
    sd = {k: v for k, v in model.state_dict().items()}
    eps = cfg.eps

    def rms(x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, (x.shape[-1],), eps=eps)

    b, t = tokens.shape
    addresses = {L: torch.from_numpy(model.hasher.addresses(tokens.numpy(), L)) for L in cfg.engram_layers}
    rotary = cfg.positional_embedding_type == "rotary"
    x = sd["embed.weight"][tokens]
    if not rotary:
        x = x + sd["pos_embed.weight"][torch.arange(t)]
    half = cfg.d_head // 2
    freq = 1.0 / (10_000.0 ** (torch.arange(0, cfg.d_head, 2, dtype=torch.float32) / cfg.d_head))
    ang = torch.arange(t, dtype=torch.float32)[:, None] * freq[None, :]
    cos, sin = ang.cos()[None, :, None, :], ang.sin()[None, :, None, :]

    def rope(z: torch.Tensor) -> torch.Tensor:
        if not rotary:
            return z
        a, c = z[..., :half], z[..., half:]
        return torch.cat([a * cos + c * sin, c * cos - a * sin], dim=-1)

    for i in range(cfg.n_layers):
        p = f"blocks.{i}."
        if i in cfg.engram_layers:
            rows = sd[p + "engram.table.weight"][addresses[i]]
            e = rows.flatten(-2)
            k = e @ sd[p + "engram.W_K.weight"].T
            v = e @ sd[p + "engram.W_V.weight"].T
            g = (rms(x) * rms(k)).sum(-1) / math.sqrt(cfg.d_model)
            alpha = torch.sigmoid(torch.sign(g) * torch.sqrt(torch.clamp(g.abs(), min=1e-6)))
            value = alpha.unsqueeze(-1) * v
            normed = rms(value)
            w = sd[p + "engram.conv_weight"]
            conv = w[0] * normed
            for j in range(1, cfg.conv_kernel):
                s = j * cfg.conv_dilation
                if s >= t:
                    break
                conv = conv + w[j] * torch.cat([torch.zeros(b, s, cfg.d_model), normed[:, : t - s]], dim=1)
            x = x + (value + F.silu(conv))
        h = rms(x)
        q = rope((h @ sd[p + "attn.W_Q.weight"].T).view(b, t, cfg.n_heads, cfg.d_head))
        kk = rope((h @ sd[p + "attn.W_K.weight"].T).view(b, t, cfg.n_heads, cfg.d_head))
        vv = (h @ sd[p + "attn.W_V.weight"].T).view(b, t, cfg.n_heads, cfg.d_head)
        scores = torch.einsum("bqhd,bkhd->bhqk", q, kk) / math.sqrt(cfg.d_head)
        scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
        z = torch.einsum("bhqk,bkhd->bqhd", torch.softmax(scores, -1), vv)
        x = x + z.reshape(b, t, -1) @ sd[p + "attn.W_O.weight"].T
        h = rms(x)
        x = x + F.gelu(h @ sd[p + "mlp.W_in.weight"].T) @ sd[p + "mlp.W_out.weight"].T
    return rms(x) @ sd["unembed.weight"].T


def test_hooked_forward_equals_reference_bit_for_bit() -> None:
    model = tiny_model(seed=3)
    tokens = torch.randint(0, model.cfg.d_vocab, (3, model.cfg.n_ctx), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        hooked = model(tokens)
        ref = reference_forward(model, tokens)
        _, cache = model.run_with_cache(tokens)
    assert hooked.dtype == ref.dtype == torch.float32
    assert raw_bytes(hooked) == raw_bytes(ref)
    assert raw_bytes(cache["hook_logits"]) == raw_bytes(ref)


def test_reference_detects_a_changed_weight() -> None:
    """Guard that the comparison above can fail: one changed table row breaks equality."""
    model = tiny_model(seed=3)
    tokens = torch.randint(0, model.cfg.d_vocab, (1, 16), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref = reference_forward(model, tokens)
        addr = model.hasher.addresses(tokens.numpy(), 2)[0, 5, 0]
        model.engram_module(2).table.weight[int(addr)] += 1.0
        hooked = model(tokens)
    assert raw_bytes(hooked[:, :5]) == raw_bytes(ref[:, :5])
    assert raw_bytes(hooked[:, 5:]) != raw_bytes(ref[:, 5:])


def test_every_contract_hook_fires_and_cache_helpers_work() -> None:
    model = tiny_model()
    tokens = torch.randint(0, model.cfg.d_vocab, (2, 10))
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens)
    assert set(cache.keys()) == set(model.hook_dict)
    assert cache["resid_pre", 1].shape == (2, 10, model.cfg.d_model)
    assert cache["blocks.0.engram.hook_addresses"].shape == (2, 10, model.cfg.n_engram_heads)
    assert cache["blocks.0.engram.hook_addresses"].dtype == torch.int64
    assert cache["blocks.2.engram.hook_rows"].shape == (2, 10, model.cfg.n_engram_heads, model.cfg.dim_per_head)
    assert cache["blocks.2.engram.hook_gate"].shape == (2, 10)
    assert cache.accumulated_resid().shape[0] == model.cfg.n_layers + 1
    assert model.list_hooks() == {}


def test_zero_init_conv_makes_engram_a_pure_gated_value() -> None:
    model = tiny_model(nonzero_conv=False)
    tokens = torch.randint(0, model.cfg.d_vocab, (1, 12))
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens)
    conv = cache["blocks.0.engram.hook_conv"]
    assert torch.count_nonzero(conv) == 0
    assert raw_bytes(cache["blocks.0.engram.hook_out"]) == raw_bytes(cache["blocks.0.engram.hook_value"])


def test_run_with_hooks_patches_and_cleans_up() -> None:
    model = tiny_model()
    tokens = torch.randint(0, model.cfg.d_vocab, (1, 12))
    with torch.no_grad():
        base = model(tokens)
        patched = model.run_with_hooks(
            tokens, fwd_hooks=[("blocks.2.engram.hook_gate", lambda g, hook: torch.zeros_like(g))]
        )
        after = model(tokens)
    assert raw_bytes(patched) != raw_bytes(base)
    assert raw_bytes(after) == raw_bytes(base)
    assert model.list_hooks() == {}


def test_rotary_forward_equals_reference_bit_for_bit_beyond_the_training_length() -> None:
    from tests.helpers import tiny_cfg

    model = EngramTransformer(tiny_cfg(positional_embedding_type="rotary"))
    model.eval()
    assert "pos_embed.weight" not in model.state_dict() and "hook_pos_embed" not in model.hook_dict
    t = 3 * model.cfg.n_ctx  # rotary positions do not cap a run at the training length
    tokens = torch.randint(0, model.cfg.d_vocab, (2, t), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        assert raw_bytes(model(tokens)) == raw_bytes(reference_forward(model, tokens))
        too_long = torch.zeros(1, model.max_tokens + 1, dtype=torch.long)
        try:
            model(too_long)
            raise AssertionError("a sequence past max_tokens must be refused")
        except ValueError as exc:
            assert "longer than the context" in str(exc)
