"""Handlers of the "Model & users" and "Write a fact" tabs."""

from __future__ import annotations

from typing import Any

import pandas as pd

from engram_probe.arch.describe import model_info
from engram_probe.memory.operations import write_facts, write_summary
from engram_probe.memory.writing import AnswerError, FactSpec, WriteSettings
from workbench.handling import USER_ERRORS, progress_of, user_memory, warn
from workbench.state import WorkbenchState


def user_choices(state: WorkbenchState) -> list[str]:
    return state.access.visible(state.store.user_ids())


def model_card(state: WorkbenchState) -> str:
    info = model_info(state.lm)
    c = info["shape"]
    p = info["params"]
    h = info["heldout"]
    twin = f"{h['loss_no_engram']:.4f}" if h.get("loss_no_engram") is not None else "n/a"
    loss = f"{h['loss']:.4f} nats/token (no-Engram twin {twin})" if h.get("loss") is not None else "not recorded"
    where = info["model"]["path"] or "shipped model"
    parts = "".join(
        f" · {name} `{part['path']}` digest `{part['sha256'][:16]}…`" for name, part in info["model"]["parts"].items()
    )
    return (
        f"**Model** {info['model']['architecture']} from `{where}` · digest `{info['model']['sha256'][:16]}…`{parts} · "
        f"{c['n_layers']} layers × d_model {c['d_model']} · context {c['n_ctx']} ({c['positions']} positions; "
        f"audits up to {c['max_tokens']:,} tokens) · ≥{c['rows_per_head_min']:,} rows per hash head · "
        f"Engram layers {c['engram_layers']} · {info['rows_per_position_per_layer']} rows read per position per "
        f"Engram layer\n\n**Parameters** {p['total']:,} total, {p['engram_tables']:,} in Engram tables · "
        f"**held-out loss** {loss}\n\n"
        f"**Base weights digest now** `{state.base_digest_now[:16]}…` "
        f"({'unchanged' if state.base_digest_now == state.lm.weights_sha256 else 'CHANGED'} since load)"
    )


def show_user(state: WorkbenchState, user_id: str | None) -> tuple[str, pd.DataFrame, str]:
    cols = ["fact_id", "trigger", "answer", "gold token", "strategy", "layer", "rows", "bytes"]
    try:
        mem = user_memory(state, user_id, "facts")
    except USER_ERRORS as exc:
        return model_card(state), pd.DataFrame(columns=cols), warn(exc)
    rows = [
        [f.fact_id, f.triggers[0], f.answer, f.gold_token, f.strategy, f.layer, len(f.rows), f.bytes] for f in mem.facts
    ]
    s = mem.summary()
    status = (
        f"User **{mem.user_id}**: {s['facts']} facts, {s['rows']} distinct rows, {s['bytes']:,} bytes · "
        f"memory digest `{s['digest'][:16]}…`"
    )
    return model_card(state), pd.DataFrame(rows, columns=cols), status


def write_fact(
    state: WorkbenchState, user_id: str, prompt: str, answer: str, strategy: str, layer: str, progress: Any = None
) -> tuple[str, pd.DataFrame, str]:
    cols = ["layer", "row", "column", "order", "head"]
    try:
        uid = (user_id or "").strip()
        if not uid:
            raise ValueError("enter a user id (a new id creates the user)")
        if not prompt or not prompt.strip():
            raise ValueError("the trigger prompt is empty")
        if answer is None or not str(answer).strip():
            raise AnswerError("the answer is empty")
        op = state.access.require("write", uid)
        result, entry = write_facts(
            state.lm,
            state.store,
            uid,
            [FactSpec.of(prompt.strip(), str(answer).strip())],
            strategy,
            layer,
            WriteSettings(),
            progress_of(progress, strategy),
            operator=op.name,
        )
    except USER_ERRORS as exc:
        return warn(exc), pd.DataFrame(columns=cols), ""
    out = write_summary(result, entry)
    rows = []
    for layer_id, row in out["rows"]:
        c = state.lm.model.hasher.column_of_row(layer_id, row)
        rows.append([layer_id, row, c.column, c.order, c.head])
    r = out["recall"]
    md = (
        f"Wrote fact `{out['fact_id']}` for **{uid}** with **{strategy}** into Engram layer {out['layer']}: "
        f"{len(out['rows'])} rows, {out['bytes']:,} bytes, {out['cost_ms']:.0f} ms.\n\n"
        f"Gold token `{out['facts'][0]['gold_token']}`: rank **{r['rank_before']} → {r['rank_after']}** at the "
        f"trigger's last position."
    )
    return md, pd.DataFrame(rows, columns=cols), f"ledger entry {entry.seq}: memory {entry.digest_after[:16]}…"
