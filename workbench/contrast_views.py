"""Handlers of the "Wrong layer" and "LoRA contamination" tabs, on the audit engine's contrasts."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from engram_probe.audit.contrasts import fact_recall, placement_contrasts
from engram_probe.audit.engine import AuditOptions, encode_probe, probe_lora_contrast
from engram_probe.memory.overlay import MemoryOverlay
from engram_probe.memory.writing import WriteSettings
from engram_probe.report.figures import layer_recall, lora_note, lora_vs_engram
from engram_probe.report.numbers import duration, pct, signed, size_exact
from workbench.handling import USER_ERRORS, empty_figure, progress_of, user_memory, warn
from workbench.state import WorkbenchState


def wrong_layer(
    state: WorkbenchState, user_id: str, n_facts: float = 6, strategy: str = "user's own", progress: Any = None
) -> tuple[go.Figure, pd.DataFrame, str]:
    cols = ["setting", "layer", "recall top-1", "recall top-5", "exact whole answer", "mean probability of the answer"]
    try:
        mem = user_memory(state, user_id, "wrong layer")
        chosen = None if not strategy or strategy == "user's own" else strategy
        c = placement_contrasts(
            state.lm,
            mem,
            max(1, int(n_facts or 6)),
            WriteSettings(),
            progress_of(progress, "contrasts", phases=3),
            chosen,
        )
    except USER_ERRORS as exc:
        return empty_figure(str(exc)), pd.DataFrame(columns=cols), warn(exc)
    fig, caption = layer_recall({"contrasts": c}) or (empty_figure(""), "")
    settings = [
        ("no edit", "-", c["no_edit"]),
        ("right layer", c["right_layer"]["layer"], c["right_layer"]),
        ("wrong layer", c["wrong_layer"]["layer"], c["wrong_layer"]),
        ("wrong address", c["right_layer"]["layer"], c["wrong_address"]),
    ]
    rows = [
        [name, layer, *(pct(r.get(k)) for k in ("recall_top1", "recall_top5", "recall_exact", "gold_prob_mean"))]
        for name, layer, r in settings
    ]
    return fig, pd.DataFrame(rows, columns=cols), caption


def lora_contamination(
    state: WorkbenchState, user_id: str, text: str, progress: Any = None
) -> tuple[go.Figure, pd.DataFrame, str]:
    cols = [
        "method",
        "bytes",
        "recall top-1",
        "exact whole answer",
        "untouched (hook, position) values changed",
        "held-out text values changed",
        "held-out loss change (nats/token)",
    ]
    try:
        mem = user_memory(state, user_id, "lora contrast")
        ids = encode_probe(state.lm, text or "")
        ranks = fact_recall(state.lm, mem.facts, MemoryOverlay([mem]))
        target = sum(r == 1 for r in ranks) / len(ranks)
        t0 = time.perf_counter()
        # the CLI's defaults: the same LoRA settings and the same pinned held-out set, so the figures match its report
        options = AuditOptions()
        lora, cached = state.lora_for(
            mem, target, options.lora_settings, progress_of(progress, "LoRA", open_ended=True)
        )
        part = probe_lora_contrast(state.lm, mem, ids, options, lora)
        heldout = options.heldout_set()
    except USER_ERRORS as exc:
        return empty_figure(str(exc)), pd.DataFrame(columns=cols), warn(exc)
    positions = [{"index": t, "token": state.lm.tokenizer.token_text(tok)} for t, tok in enumerate(ids)]
    rep = {"positions": positions, "contrasts": {**part, "facts_used": len(mem.facts)}}
    fig, caption = lora_vs_engram(rep) or (empty_figure(""), "")
    held = part["heldout_loss"]
    rows = [
        [
            "Engram rows",
            size_exact(part["engram"]["bytes"]),
            pct(part["engram"]["recall_top1"]),
            pct(part["engram"].get("recall_exact")),
            pct(part["engram"]["untouched_changed_fraction"]),
            pct(part["engram"].get("heldout_changed_fraction")),
            signed(held["engram_delta"]),
        ],
        [
            f"LoRA rank {part['lora']['rank']} ({part['lora']['steps']} steps)",
            size_exact(part["lora"]["bytes"]),
            pct(part["lora"]["recall_top1"]),
            pct(part["lora"].get("recall_exact")),
            pct(part["lora"]["untouched_changed_fraction"]),
            pct(part["lora"].get("heldout_changed_fraction")),
            signed(held["lora_delta"]),
        ],
    ]
    note = (
        f"**LoRA:** {lora_note(part['lora'])}; {'reused from cache' if cached else 'trained now'} "
        f"({duration(time.perf_counter() - t0)} for this view). Held-out loss on the {len(heldout.texts)} texts of the "
        f"default held-out set `{heldout.sha256[:16]}…`. " + part["excluded_hooks_rule"]
    )
    return fig, pd.DataFrame(rows, columns=cols), caption + "\n\n" + note
