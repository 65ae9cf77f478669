"""Handlers of the "Model & users" and "Write a fact" tabs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from engram_probe.arch.describe import model_info
from engram_probe.memory.operations import ConflictError, write_facts, write_summary
from engram_probe.memory.writing import AnswerError, FactSpec, WriteSettings
from engram_probe.report.numbers import duration, plural, size
from workbench.handling import USER_ERRORS, progress_of, user_memory, warn
from workbench.state import WorkbenchState
from workbench.used import settings_words, used_line


def user_choices(state: WorkbenchState) -> list[str]:
    return state.access.visible(state.store.user_ids())


def model_card(state: WorkbenchState) -> str:
    info = model_info(state.lm)
    c = info["shape"]
    p = info["params"]
    h = info["heldout"]
    twin = f"{h['loss_no_engram']:.4f}" if h.get("loss_no_engram") is not None else "n/a"
    loss = f"{h['loss']:.4f} nats/token (no-Engram twin {twin})" if h.get("loss") is not None else "not recorded"
    # folder names only: a full path tells a browser user about the server's disk
    where = Path(info["model"]["path"]).name if info["model"]["path"] else "shipped model"
    parts = "".join(
        f" · {name} `{Path(part['path']).name}` digest `{part['sha256'][:16]}…`"
        for name, part in info["model"]["parts"].items()
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


FAIL = "#b91c1c"  # the colour of a failure (and of a refusal) in every view
PASS = "#15803d"


def verdict_html(recalled: bool) -> str:
    """ "recalled" in green, "not recalled" in the colour of a failure."""
    if recalled:
        return f'<span style="color:{PASS};font-weight:600">✔ recalled</span>'
    return f'<span style="color:{FAIL};font-weight:600">✘ not recalled</span>'


def _who(state: WorkbenchState, user_id: str) -> str:
    """Another user's id, or "another user" when the operator may not read that user."""
    return f"**{user_id}**" if state.access.current.may("read", user_id) else "another user (not yours to read)"


def shared_lines(state: WorkbenchState, shared: list[dict[str, Any]]) -> list[str]:
    """The other users whose rows a write lands on, and how (the same n-gram, or a hash collision)."""
    lines = []
    for s in shared:
        rest = len(s["rows"]) - s["by_content"] - s["by_hash_collision"]
        how = [
            f"{plural(s['by_content'], 'row')} by content (the same trigger n-gram)" if s["by_content"] else "",
            f"{plural(s['by_hash_collision'], 'row')} by hash collision (different n-grams)"
            if s["by_hash_collision"]
            else "",
            f"{plural(rest, 'row')} not read by that fact's triggers" if rest else "",
        ]
        lines.append(f"- {_who(state, s['user'])}: " + ", ".join(h for h in how if h))
    return lines


def _fact_lines(f: dict[str, Any]) -> list[str]:
    r = f["recall"]
    said = f" · greedy generation gives “{r['generated']}”" if "generated" in r else ""
    if r.get("exact") is False:
        said += ", not the whole answer"
    return [
        f"{verdict_html(f['recalled'])} — answer “{f['answer']}” (first token `{f['gold_token']}`): rank "
        f"**{r['rank_before']} → {r['rank_after']}** at the trigger's last position{said}"
    ]


def write_fact(
    state: WorkbenchState,
    user_id: str,
    prompt: str,
    answer: str,
    strategy: str,
    layer: str,
    progress: Any = None,
    supersede: bool = False,
) -> tuple[str, pd.DataFrame, str]:
    """Write one fact. A trigger the user already has is refused unless ``supersede`` (the confirmation box)."""
    cols = ["layer", "row", "column", "order", "head", "also written by"]
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
            supersede=bool(supersede),
        )
    except ConflictError as exc:
        return (
            warn(exc) + "\n\nTick **Replace my existing fact for this trigger** and write again to supersede it.",
            pd.DataFrame(columns=cols),
            "",
        )
    except USER_ERRORS as exc:
        return warn(exc), pd.DataFrame(columns=cols), ""
    out = write_summary(result, entry)
    others: dict[tuple[int, int], list[str]] = {}
    for s in out["shared_with_other_users"]:
        for r in s["rows"]:
            who = s["user"] if state.access.current.may("read", s["user"]) else "another user"
            others.setdefault((r["layer"], r["row"]), []).append(f"{who} ({r['sharing']})")
    rows = []
    for layer_id, row in out["rows"]:
        c = state.lm.model.hasher.column_of_row(layer_id, row)
        rows.append([layer_id, row, c.column, c.order, c.head, ", ".join(others.get((layer_id, row), [])) or "—"])
    fact = out["facts"][0]
    md = [
        f"Wrote fact `{out['fact_id']}` for **{uid}** with **{strategy}** into Engram layer {out['layer']}: "
        f"{plural(len(out['rows']), 'row')}, {size(out['bytes'])}, {duration(out['cost_ms'] / 1000)}.",
        *_fact_lines(fact),
    ]
    sup = out["superseded"]
    if sup:
        old = ", ".join(f"`{c['fact_id']}` (“{c['answer']}”)" for c in sup["facts"])
        md.append(f"Replaced {old}: erased in ledger entry {sup['ledger']['seq']}, then written in entry {entry.seq}.")
    if out["shared_with_other_users"]:
        md.append("**Shares rows with other users** (found before the fact was stored):")
        md += shared_lines(state, out["shared_with_other_users"])
    md.append(used_line(strategy=settings_words(strategy, result.facts[0].settings), layers=[out["layer"]]))
    status = f"ledger entry {entry.seq}: memory {entry.digest_after[:16]}…"
    return "\n\n".join(md), pd.DataFrame(rows, columns=cols), status
