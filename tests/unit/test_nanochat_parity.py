"""nanochat-engram: parity with the reference forward, a plain forward without hooks, and import refusals.

Provenance of ``tests/fixtures/nanochat_tiny``: ``model.pt`` is a random checkpoint in the authors'
exact key layout (19PINE-AI/user-as-engram, ``code/nanochat_harness/nanochat/gpt.py`` and
``engram_module.py`` at 257ee015), every parameter drawn from torch.Generator seed 1234, including
those the reference initialises to zero (c_proj, the Engram conv, smear, backout, VE gates); the
embeddings and tables hold bf16-representable values. ``goldens.json`` holds logits (6 decimals),
Engram rows and intermediates computed on 2026-11-27 by an independent scratch transcription of the
reference forward, run outside this repository in fp32 on CPU (its hand-written ops agreed with
torch's library kernels to 4.9e-6 on the logits).

Tolerance: 2e-5 absolute on logits. Not bit-exact because the transcription and this model sum in
different orders (the reference's depthwise conv1d and SDPA against our shifted-sum conv and einsum
attention) and the goldens are rounded to 6 decimals; addresses are exact.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engram_probe.arch.loaded import ModelFileError
from engram_probe.arch.nanochat_import import load_nanochat

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "nanochat_tiny"
GOLD = json.loads((FIX / "goldens.json").read_text())["sequences"]
TOL = 2e-5


@pytest.fixture(scope="module")
def lm():  # noqa: ANN201
    return load_nanochat(FIX)


@pytest.mark.parametrize("name", ["N1", "N2", "N3"])
def test_logits_and_rows_match_the_reference_transcription(lm, name: str) -> None:  # noqa: ANN001
    g = GOLD[name]
    tokens = torch.tensor([g["tokens"]])
    logits, cache = lm.model.forward_recorded(tokens)
    assert logits.shape == (1, len(g["tokens"]), 32)
    assert float((logits[0] - torch.tensor(g["logits"][0])).abs().max()) < TOL
    for layer, rows in g["engram_rows_global"].items():
        assert cache[f"blocks.{layer}.engram.hook_addresses"][0].tolist() == rows
    if name == "N1":
        taps = {
            "emb_after_smear": "hook_smear",
            "engram_out_layer1": "blocks.1.engram.hook_out",
            "resid_after_block0": "blocks.0.hook_resid_post",
        }
        for key, hook in taps.items():
            assert float((cache[hook][0] - torch.tensor(g[key])).abs().max()) < TOL, key
        extra = g["extra_taps"]
        out2 = cache["blocks.2.engram.hook_out"][0]
        assert float((out2 - torch.tensor(extra["engram_out_layer2"])).abs().max()) < TOL
        pre = cache["hook_logits_pre_softcap"][0]
        assert float((pre - torch.tensor(extra["logits_pre_softcap"])).abs().max()) < TOL


def plain_forward(sd: dict[str, torch.Tensor], cfg, tokens: torch.Tensor, rows: dict[int, np.ndarray]) -> torch.Tensor:  # noqa: ANN001
    """The same architecture written again with library kernels (SDPA, conv1d), no hooks, from the raw keys."""
    eps = torch.finfo(torch.float32).eps
    rms = lambda x: F.rms_norm(x, (x.shape[-1],), eps=eps)  # noqa: E731
    b, t = tokens.shape
    hd, kv, h = cfg.head_dim, cfg.n_kv_head, cfg.n_head
    x = rms(F.embedding(tokens, sd["embed.weight"]))
    g = sd["smear_lambda"] * torch.sigmoid(x[:, 1:, :24] @ sd["smear_gate.weight"].T)
    x = torch.cat([x[:, :1], x[:, 1:] + g * x[:, :-1]], dim=1)
    x0 = x
    inv = 1.0 / (100000.0 ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    ang = torch.outer(torch.arange(t, dtype=torch.float32), inv)
    cos, sin = ang.cos()[None, :, None], ang.sin()[None, :, None]

    def rope(z: torch.Tensor) -> torch.Tensor:
        a, c = z[..., : hd // 2], z[..., hd // 2 :]
        return torch.cat([a * cos + c * sin, c * cos - a * sin], -1)

    saved = None
    for i in range(cfg.n_layer):
        p = f"blocks.{i}."
        x = sd["resid_lambdas"][i] * x + sd["x0_lambdas"][i] * x0
        if i in cfg.engram_layer_ids:
            e = F.embedding(torch.from_numpy(rows[i]), sd[p + "engram.table.weight"]).flatten(-2)
            k = e @ sd[p + "engram.W_K.weight"].T
            s = (rms(x) * rms(k)).sum(-1) / math.sqrt(cfg.n_embd)
            a = torch.sigmoid(torch.sign(s) * torch.sqrt(torch.clamp(s.abs(), min=1e-6)))[..., None]
            vg = a * (e @ sd[p + "engram.W_V.weight"].T)
            z = rms(vg).transpose(1, 2)
            pad = (cfg.engram_kernel_size - 1) * cfg.engram_max_ngram_size
            y = F.conv1d(
                F.pad(z, (pad, 0)), sd[p + "engram.conv_weight"], groups=cfg.n_embd, dilation=cfg.engram_max_ngram_size
            )
            x = x + F.silu(y.transpose(1, 2)) + vg
        u = rms(x)
        q = (u @ sd[p + "attn.W_Q.weight"].T).view(b, t, h, hd)
        k = (u @ sd[p + "attn.W_K.weight"].T).view(b, t, kv, hd)
        v = (u @ sd[p + "attn.W_V.weight"].T).view(b, t, kv, hd)
        if i in cfg.ve_layers:
            gate = 3 * torch.sigmoid(u[..., :12] @ sd[p + "attn.ve_gate.weight"].T)
            v = v + gate[..., None] * F.embedding(tokens, sd[p + "attn.value_embed.weight"]).view(b, t, kv, hd)
        q, k = rms(rope(q)) * 1.2, rms(rope(k)) * 1.2
        y = F.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True, enable_gqa=h != kv
        )
        x = x + y.transpose(1, 2).reshape(b, t, -1) @ sd[p + "attn.W_O.weight"].T
        x = x + F.relu(rms(x) @ sd[p + "mlp.W_in.weight"].T).square() @ sd[p + "mlp.W_out.weight"].T
        if i == cfg.n_layer // 2:
            saved = x
    x = rms(x - sd["backout_lambda"] * saved)
    return 15 * torch.tanh((x @ sd["unembed.weight"].T)[..., : cfg.vocab_size] / 15)


def test_hooked_forward_matches_a_plain_forward_without_hooks(lm) -> None:  # noqa: ANN001
    tokens = torch.tensor([GOLD["N2"]["tokens"]])
    rows = {L: lm.model.hasher.addresses(tokens.numpy(), L) for L in lm.cfg.engram_layer_ids}
    with torch.no_grad():
        plain = plain_forward(lm.model.state_dict(), lm.cfg, tokens, rows)
        hooked = lm.model(tokens)
    assert float((plain - hooked).abs().max()) < TOL


def test_every_named_hook_records(lm) -> None:  # noqa: ANN001
    _, cache = lm.model.forward_recorded(torch.tensor([GOLD["N1"]["tokens"]]))
    for name in (
        "hook_smear_gate",
        "hook_smear",
        "blocks.0.hook_x0_mix",
        "blocks.1.attn.hook_ve_gate",
        "hook_backout",
        "hook_logits_pre_softcap",
        "hook_logits",
        "blocks.1.engram.hook_gate",
        "blocks.2.engram.hook_conv",
        "blocks.2.engram.hook_rows",
    ):
        assert name in cache, name
    assert set(cache) == set(lm.model.hook_dict)
    gate = cache["blocks.1.attn.hook_ve_gate"]
    assert bool(((gate > 0) & (gate < 3)).all()) and float(cache["hook_smear_gate"][0, 0]) == 0.0


def copy_fixture(tmp_path: Path) -> Path:
    d = tmp_path / "ckpt"
    shutil.copytree(FIX, d)
    return d


def test_bf16_tables_upcast_exactly(tmp_path: Path, lm) -> None:  # noqa: ANN001
    d = copy_fixture(tmp_path)
    sd = torch.load(d / "model.pt", weights_only=True)
    for k in list(sd):
        if k.startswith(("engram.tables", "value_embeds", "transformer.wte")):
            sd[k] = sd[k].to(torch.bfloat16)
    torch.save(sd, d / "model.pt")
    assert load_nanochat(d).weights_sha256 == lm.weights_sha256


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("missing", "missing"),
        ("unexpected", "unexpected"),
        ("shape", "has shape"),
        ("truncated", "truncated"),
        ("window", "sliding windows"),
        ("pickle_only", "--trust-pickle"),
        ("code", "more than tensors"),
    ],
)
def test_bad_checkpoints_are_refused(tmp_path: Path, change: str, message: str) -> None:
    d = copy_fixture(tmp_path)
    sd = torch.load(d / "model.pt", weights_only=True)
    if change == "missing":
        del sd["engram.layers_module.1.key_proj.weight"]
    elif change == "unexpected":
        sd["transformer.h.9.attn.c_q.weight"] = torch.zeros(1)
    elif change == "shape":
        sd["lm_head.weight"] = sd["lm_head.weight"][:40]
    elif change == "code":
        torch.save({"sd": sd, "hook": print}, d / "model.pt")
    if change in ("missing", "unexpected", "shape"):
        torch.save(sd, d / "model.pt")
    elif change == "truncated":
        data = (d / "model.pt").read_bytes()
        (d / "model.pt").write_bytes(data[: len(data) // 2])
    elif change == "window":
        cfg = json.loads((d / "config.json").read_text())
        cfg["window_pattern"] = "SSSL"
        (d / "config.json").write_text(json.dumps(cfg))
    elif change == "pickle_only":
        (d / "tokenizer.json").rename(d / "tokenizer.pkl")
    with pytest.raises(ModelFileError, match=message):
        load_nanochat(d)
