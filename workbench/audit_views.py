"""Handlers of the "Where it switches on" and "Locality proof" tabs: one audit of a probe, two views of it."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from engram_probe.audit.engine import encode_probe, run_audit
from engram_probe.report.figures import change_heatmap, gate_figure, token_strip, window_range
from engram_probe.report.numbers import legend, plural, sig, size_exact, tokens
from workbench.handling import USER_ERRORS, empty_figure, user_memory, warn
from workbench.state import WorkbenchState

ZOOM = "; drag the slider under the gate plot, or pan and zoom any plot, to see the other positions"
MAX_TABLE = 500  # rows of the position table shown for a long probe (the export holds every position)


def queued(state: WorkbenchState, text: str, progress: Any) -> Any:
    """Hold the audit memory budget for this probe's tokens, telling the caller how many audits are ahead."""
    tokens = len(encode_probe(state.lm, text or ""))

    def waiting(ahead: int) -> None:
        if progress is not None:
            progress(0.0, desc=f"Queued: {ahead} audit{'s' if ahead != 1 else ''} ahead (memory budget)")

    return state.budget.hold(tokens, waiting)


def _audit(state: WorkbenchState, user_id: str, text: str, progress: Any = None) -> dict[str, Any]:
    mem = user_memory(state, user_id, "audit")
    source = {"kind": "store", "path": str(state.store.path), "user": mem.user_id}
    with queued(state, text, progress):
        return run_audit(state.lm, mem, text or "", source)


def switch_on(
    state: WorkbenchState, user_id: str, text: str, progress: Any = None
) -> tuple[go.Figure, go.Figure, pd.DataFrame, str]:
    cols = [
        "position",
        "token",
        "layer",
        "heads hit",
        "α before",
        "α after",
        "gold rank before",
        "gold rank after",
        "top-5 before",
        "top-5 after",
        "cos(Δout, W_V·row)",
        "lens: promoted",
    ]
    try:
        rep = _audit(state, user_id, text, progress)
    except USER_ERRORS as exc:
        return empty_figure(str(exc)), empty_figure(""), pd.DataFrame(columns=cols), warn(exc)
    strip, strip_cap = token_strip(rep)
    gate, gate_cap = gate_figure(rep)
    rows = []
    for v in rep["value_path"]:
        p = rep["positions"][v["position"]]
        g = p["gates"][str(v["layer"])]
        rows.append(
            [
                v["position"],
                p["token"],
                v["layer"],
                v["heads_hit"],
                sig(g["before"]),
                sig(g["after"]),
                p["gold_rank_before"],
                p["gold_rank_after"],
                " ".join(t["token"] for t in v["top_before"]),
                " ".join(t["token"] for t in v["top_after"]),
                sig(v["cos_delta_out_wv_row"], 3),
                " ".join(t["token"] for t in v["lens_engram_delta"]),
            ]
        )
    gold = rep["gold"]
    status = (
        f"{strip_cap} Hover a cell for the layer, hash head, row and fact{ZOOM if window_range(rep) else ''}.\n\n"
        f"{gate_cap}\n\nGold token for ranks: `{gold['token']}` (fact `{gold['fact_id']}`: "
        f"'{gold['trigger']}' → '{gold['answer']}')."
    )
    return strip, gate, pd.DataFrame(rows, columns=cols), status


def locality_proof(
    state: WorkbenchState, user_id: str, text: str, progress: Any = None
) -> tuple[go.Figure, pd.DataFrame, str]:
    cols = ["position", "token", "class", "rows hit", "conv from write sites"]
    try:
        rep = _audit(state, user_id, text, progress)
    except USER_ERRORS as exc:
        return empty_figure(str(exc)), pd.DataFrame(columns=cols), warn(exc)
    fig, caption = change_heatmap(rep)
    s = rep["summary"]
    verdict = (
        f"**Untouched positions are bit-exact: {'YES' if s['untouched_bit_exact'] else 'NO'}.** "
        f"{s['values_compared']:,} values compared ({size_exact(s['bytes_compared'])}, {s['pairs_compared']:,} "
        f"(hook, position) pairs over {plural(s['hooks_compared'], 'hook')}) at "
        f"{plural(s['positions']['untouched'], 'untouched position')} of {tokens(rep['probe']['n_tokens'])}; "
        f"{plural(s['positions']['write_site'], 'write site')}, {s['positions']['downstream']:,} downstream."
    )
    if not s["untouched_bit_exact"]:
        verdict += f" {plural(rep['proof']['mismatch_count'], 'pair')} differ: the overlay leaks."
    shown = rep["positions"]
    if len(shown) > MAX_TABLE:
        win = window_range(rep)
        lo = max(0, min(win[0] if win else 0, len(shown) - MAX_TABLE))
        shown = shown[lo : lo + MAX_TABLE]
        caption += (
            f" The table lists positions {lo}–{lo + MAX_TABLE - 1} of {len(rep['positions']):,}; the exported "
            "report lists them all."
        )
    rows = [
        [p["index"], p["token"], legend(p["class"]), p["rows_hit"], ", ".join(map(str, p["conv_from_write_sites"]))]
        for p in shown
    ]
    return fig, pd.DataFrame(rows, columns=cols), verdict + "\n\n" + caption + "\n\n" + rep["rules"]["classes"]
