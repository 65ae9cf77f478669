"""Where a write switches on: gate before/after, the value path, a logit lens, and gold ranks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from engram_probe.arch.base import EngramModelBase
from engram_probe.audit.paired import PairedRun
from engram_probe.audit.readmap import ReadHit
from engram_probe.memory.writing import gold_rank
from engram_probe.tokenizer import EngramTokenizer


def gates(run: PairedRun, layers: Sequence[int]) -> dict[int, dict[str, list[float]]]:
    """Gate alpha at every position of every Engram layer, before and after."""
    out = {}
    for layer in layers:
        name = f"blocks.{layer}.engram.hook_gate"
        out[layer] = {"before": run.base[name][0].tolist(), "after": run.edited[name][0].tolist()}
    return out


def gate_range(d_model: int, module: Any = None) -> tuple[float, float]:
    """Attainable alpha (derived, not measured): sigmoid(-/+ d^(1/4)), since g = sqrt(d) cos(h, k) and |cos| <= 1.

    With learned norm scales w_h, w_k (engram-peft) the inner product of the two normed vectors is at most
    max|w_h w_k| d, so the edge is sqrt(max|w_h w_k|) d^(1/4), over every branch of ``module``."""
    scale = 1.0
    if module is not None and getattr(getattr(module, "layout", None), "learned_norms", False):
        norm_h, norm_k = module.norm_h.detach(), module.norm_k.detach()  # [branch, d_model] each
        scale = float((norm_h.abs() * norm_k.abs()).max())
    edge = scale**0.5 * d_model**0.25
    return float(torch.sigmoid(torch.tensor(-edge))), float(torch.sigmoid(torch.tensor(edge)))


def top_tokens(vec: torch.Tensor, tokenizer: EngramTokenizer, k: int = 5) -> list[dict[str, Any]]:
    vals, idx = vec.topk(k)
    return [
        {"token": tokenizer.token_text(int(i)), "id": int(i), "score": float(v)} for v, i in zip(vals, idx, strict=True)
    ]


def value_path(
    run: PairedRun, model: EngramModelBase, tokenizer: EngramTokenizer, hits: Sequence[ReadHit]
) -> list[dict[str, Any]]:
    """At each (write site, layer): cos(delta Engram out, W_V e_after), branch norms, and a logit lens."""
    out = []
    for t, layer in sorted({(h.position, h.layer) for h in hits}):
        weights = model.writer_weights(layer)
        unembed = weights.unembed.detach()
        p = f"blocks.{layer}.engram."
        d_out = run.edited[p + "hook_out"][0, t] - run.base[p + "hook_out"][0, t]
        d_value = run.edited[p + "hook_value"][0, t] - run.base[p + "hook_value"][0, t]
        d_conv = run.edited[p + "hook_conv"][0, t] - run.base[p + "hook_conv"][0, t]
        e_after = run.edited[p + "hook_rows"][0, t].flatten()
        wv_e = weights.value.detach() @ e_after
        d_final = run.edited["ln_final.hook_normalized"][0, t] - run.base["ln_final.hook_normalized"][0, t]
        d_logits = run.edited["hook_logits"][0, t] - run.base["hook_logits"][0, t]
        out.append(
            {
                "position": t,
                "layer": layer,
                "heads_hit": sum(1 for h in hits if h.position == t and h.layer == layer),
                "cos_delta_out_wv_row": float(F.cosine_similarity(d_out, wv_e, dim=0)) if d_out.norm() > 0 else 0.0,
                "norm_delta_out": float(d_out.norm()),
                "norm_delta_value_branch": float(d_value.norm()),
                "norm_delta_conv_branch": float(d_conv.norm()),
                "row_norm_after": float(e_after.norm()),
                "row_norm_before": float(run.base[p + "hook_rows"][0, t].flatten().norm()),
                "lens_engram_delta": top_tokens(unembed @ d_out, tokenizer),
                "logit_delta_top": top_tokens(d_logits, tokenizer),
                "top_before": top_tokens(torch.softmax(run.base["hook_logits"][0, t], -1), tokenizer),
                "top_after": top_tokens(torch.softmax(run.edited["hook_logits"][0, t], -1), tokenizer),
                "final_residual_delta_norm": float(d_final.norm()),
            }
        )
    return out


def gold_ranks(run: PairedRun, gold: int) -> dict[str, list[int]]:
    """Rank (1 = top) of one gold token at every position, before and after."""
    before = [gold_rank(run.base["hook_logits"][0, t], gold) for t in range(run.tokens.shape[1])]
    after = [gold_rank(run.edited["hook_logits"][0, t], gold) for t in range(run.tokens.shape[1])]
    return {"before": before, "after": after}
