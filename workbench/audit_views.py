"""Handlers of the "Where it switches on" and "Locality proof" tabs: one audit of a probe, two views of it."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from engram_probe.audit.engine import encode_probe, run_audit
from engram_probe.report.figures import change_heatmap, gate_figure, token_strip
from workbench.handling import USER_ERRORS, empty_figure, user_memory, warn
from workbench.state import WorkbenchState


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
                round(g["before"], 4),
                round(g["after"], 4),
                p["gold_rank_before"],
                p["gold_rank_after"],
                " ".join(t["token"] for t in v["top_before"]),
                " ".join(t["token"] for t in v["top_after"]),
                round(v["cos_delta_out_wv_row"], 3),
                " ".join(t["token"] for t in v["lens_engram_delta"]),
            ]
        )
    gold = rep["gold"]
    status = (
        f"{strip_cap}\n\n{gate_cap}\n\nGold token for ranks: `{gold['token']}` (fact `{gold['fact_id']}`: "
        f"{gold['trigger']!r} → {gold['answer']!r})."
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
        f"{s['values_compared']:,} values compared ({s['bytes_compared']:,} bytes, {s['pairs_compared']:,} "
        f"(hook, position) pairs over {s['hooks_compared']} hooks) at {s['positions']['untouched']} untouched "
        f"positions of {rep['probe']['n_tokens']} tokens; {s['positions']['write_site']} write sites, "
        f"{s['positions']['downstream']} downstream."
    )
    if not s["untouched_bit_exact"]:
        verdict += f" {rep['proof']['mismatch_count']} pairs differ: the overlay leaks."
    rows = [
        [p["index"], p["token"], p["class"], p["rows_hit"], ", ".join(map(str, p["conv_from_write_sites"]))]
        for p in rep["positions"]
    ]
    return fig, pd.DataFrame(rows, columns=cols), verdict + "\n\n" + caption + "\n\n" + rep["rules"]["classes"]
