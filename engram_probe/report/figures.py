"""Plotly figures built from a report dict; shared by the HTML report, the UI and the notebooks."""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

CLASS_COLOURS = {"untouched": "#d9d9d9", "write_site": "#d62728", "downstream": "#ff9f1c"}
CLASS_CODE = {"untouched": 0, "downstream": 1, "write_site": 2}
EXACT_ZERO_COLOUR = "#2ca02c"


def _tok(t: str) -> str:
    return t.replace("\n", "⏎").replace(" ", "·") or "∅"


def _class_lines(fig: go.Figure, report: dict[str, Any], **kw: Any) -> None:
    """Dashed lines at the class boundaries (before the first write site, around write sites)."""
    first = report["summary"].get("first_write_site")
    if first is not None:
        fig.add_vline(x=first - 0.5, line_dash="dash", line_color="#d62728", **kw)


def token_strip(report: dict[str, Any]) -> tuple[go.Figure, str]:
    pos = report["positions"]
    z = [[CLASS_CODE[p["class"]] for p in pos]]
    text = [[_tok(p["token"]) for p in pos]]
    hover = [
        [
            f"#{p['index']} {p['token']!r}<br>class {p['class']}<br>rows hit {p['rows_hit']}"
            + "".join(
                f"<br>L{h['layer']} head {h['head']} ({h['order']}-gram) row {h['row']} fact {h['facts'][0]}"
                for h in p["hits"][:6]
            )
            for p in pos
        ]
    ]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            text=text,
            texttemplate="%{text}",
            hovertext=hover,
            hoverinfo="text",
            zmin=0,
            zmax=2,
            colorscale=[
                [0, CLASS_COLOURS["untouched"]],
                [0.5, CLASS_COLOURS["downstream"]],
                [1, CLASS_COLOURS["write_site"]],
            ],
            showscale=False,
            xgap=2,
        )
    )
    fig.update_layout(
        height=170,
        margin=dict(l=10, r=10, t=30, b=10),
        title="Read map: who reads an edited row",
        yaxis=dict(visible=False),
        xaxis=dict(title="position"),
    )
    c = report["summary"]["positions"]
    caption = (
        f"Each cell is a token of the probe. Red cells read at least one of the user's edited rows "
        f"({c['write_site']} write sites); orange cells come after the first write site and can be reached "
        f"through attention or the dilated conv ({c['downstream']} downstream); grey cells come before any "
        f"write site ({c['untouched']} untouched). Hover a cell for the layer, hash head, row and fact."
    )
    return fig, caption


def gate_figure(report: dict[str, Any]) -> tuple[go.Figure, str]:
    pos = report["positions"]
    x = [p["index"] for p in pos]
    labels = [_tok(p["token"]) for p in pos]
    fig = go.Figure()
    for layer in sorted(pos[0]["gates"], key=int):
        main = int(layer) == report["gate"]["layer"]
        for when, dash in (("before", "dot"), ("after", "solid")):
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=[p["gates"][layer][when] for p in pos],
                    mode="lines+markers",
                    name=f"layer {layer} {when}",
                    line=dict(dash=dash, width=3 if main else 1),
                    opacity=1.0 if main else 0.4,
                    customdata=labels,
                    hovertemplate="%{customdata}: α=%{y:.4f}<extra></extra>",
                )
            )
    lo, hi = report["gate"]["attainable_range"]
    fig.add_hrect(y0=hi, y1=1.0, fillcolor="#eeeeee", line_width=0)
    _class_lines(fig, report)
    fig.update_layout(
        height=320,
        title="Gate α per position, before and after the write",
        yaxis_title="α",
        xaxis=dict(title="position", tickmode="array", tickvals=x, ticktext=labels),
        margin=dict(l=40, r=10, t=40, b=40),
        legend=dict(orientation="h"),
    )
    at = [p for p in pos if p["class"] == "write_site"]
    moved = ", ".join(f"#{p['index']} {p['gate_before']:.3f}→{p['gate_after']:.3f}" for p in at[:4])
    caption = (
        f"The Engram gate α (layer {report['gate']['layer']} in bold). Dotted: base model; solid: with the user's "
        f"memory. α can only reach [{lo:.4f}, {hi:.4f}] at this width. At write sites: {moved or 'none'}. "
        "Left of the dashed line nothing can change, and the lines coincide."
    )
    return fig, caption


def _log_matrix(matrix: dict[str, Any]) -> tuple[list[list[float | None]], list[list[int | None]]]:
    z, exact = [], []
    for vals, ex in zip(matrix["values"], matrix["exact"], strict=True):
        z.append([None if e else (math.log10(v) if v > 0 else -12.0) for v, e in zip(vals, ex, strict=True)])
        exact.append([1 if e else None for e in ex])
    return z, exact


def _heatmap_traces(
    matrix: dict[str, Any], labels: list[str], zmin: float, zmax: float, showscale: bool
) -> list[go.Heatmap]:
    z, exact = _log_matrix(matrix)
    return [
        go.Heatmap(
            z=exact,
            x=labels,
            y=matrix["rows"],
            colorscale=[[0, EXACT_ZERO_COLOUR], [1, EXACT_ZERO_COLOUR]],
            showscale=False,
            hovertemplate="%{y} @ %{x}: bytes identical (exactly 0)<extra></extra>",
            xgap=1,
            ygap=1,
        ),
        go.Heatmap(
            z=z,
            x=labels,
            y=matrix["rows"],
            colorscale="Inferno",
            zmin=zmin,
            zmax=zmax,
            showscale=showscale,
            colorbar=dict(title="log10 ‖Δ‖"),
            xgap=1,
            ygap=1,
            hovertemplate="%{y} @ %{x}: log10 ‖Δ‖ = %{z:.2f}<extra></extra>",
        ),
    ]


def _log_range(matrices: list[dict[str, Any]]) -> tuple[float, float]:
    """One colour range over several change matrices (log10 of the non-zero changes)."""
    finite = [v for m in matrices for row in _log_matrix(m)[0] for v in row if v is not None]
    return (min(finite), max(finite)) if finite else (-8.0, 1.0)


def _labels(report: dict[str, Any]) -> list[str]:
    return [f"{p['index']}:{_tok(p['token'])}" for p in report["positions"]]


def change_heatmap(report: dict[str, Any]) -> tuple[go.Figure, str]:
    m = report["delta_matrix"]
    zmin, zmax = _log_range([m])
    fig = go.Figure(_heatmap_traces(m, _labels(report), zmin, zmax, True))
    _class_lines(fig, report)
    fig.update_layout(
        height=360,
        title="Change per position and layer (green = bytes identical)",
        margin=dict(l=90, r=10, t=40, b=80),
        xaxis=dict(tickangle=-60),
    )
    s = report["summary"]
    caption = (
        f"Rows are the residual stream after each block and the logits; columns are probe positions. Green cells "
        f"are exactly zero: base and edited bytes are identical. Coloured cells changed (log scale). The proof "
        f"compared {s['pairs_compared']:,} (hook, position) pairs ({s['values_compared']:,} values, "
        f"{s['bytes_compared']:,} bytes) at the {s['positions']['untouched']} untouched positions: "
        f"{'all identical' if s['untouched_bit_exact'] else 'SOME DIFFER'}."
    )
    return fig, caption


def lora_vs_engram(report: dict[str, Any]) -> tuple[go.Figure, str] | None:
    c = report.get("contrasts")
    if not c:
        return None
    mats = [c["engram"]["delta_matrix"], c["lora"]["delta_matrix"]]
    zmin, zmax = _log_range(mats)
    labels = _labels(report)
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        subplot_titles=(f"Engram rows ({c['engram']['bytes']:,} B)", f"Per-user LoRA ({c['lora']['bytes']:,} B)"),
    )
    for col, m in enumerate(mats, start=1):
        for tr in _heatmap_traces(m, labels, zmin, zmax, showscale=col == 2):
            fig.add_trace(tr, row=1, col=col)
    fig.update_layout(height=380, margin=dict(l=90, r=10, t=50, b=80), title="Same text, same colour scale")
    fig.update_xaxes(tickangle=-60)
    caption = (
        f"Left: the user's Engram rows; right: a rank-{c['lora']['rank']} LoRA trained on the same "
        f"{c['facts_used']} facts to matched recall ({c['lora']['recall_top1']:.0%} vs {c['engram']['recall_top1']:.0%}"
        f" top-1). Green = bytes identical. At untouched positions the LoRA changes "
        f"{c['lora']['untouched_changed_fraction']:.1%} of (hook, position) values; Engram changes "
        f"{c['engram']['untouched_changed_fraction']:.1%}."
    )
    return fig, caption


def layer_recall(report: dict[str, Any]) -> tuple[go.Figure, str] | None:
    c = report.get("contrasts")
    if not c:
        return None
    bars = [
        ("no edit", c["no_edit"]),
        (f"right layer ({c['right_layer']['layer']})", c["right_layer"]),
        (f"wrong layer ({c['wrong_layer']['layer']})", c["wrong_layer"]),
        ("wrong address", c["wrong_address"]),
    ]
    fig = go.Figure(
        [
            go.Bar(name=k, x=[b[0] for b in bars], y=[b[1][k] for b in bars], text=[f"{b[1][k]:.0%}" for b in bars])
            for k in ("recall_top1", "recall_top5")
        ]
    )
    fig.update_layout(
        barmode="group",
        height=320,
        yaxis=dict(range=[0, 1.05], title="recall"),
        title="Same facts, same strategy and budget, different places",
        margin=dict(l=40, r=10, t=40, b=40),
    )
    caption = (
        f"{c['facts_used']} of the user's facts written with '{c['strategy']}' into the right Engram layer "
        f"({c['right_layer']['recall_top1']:.0%} top-1), the other Engram layer "
        f"({c['wrong_layer']['recall_top1']:.0%}), and rows next to the trigger's own that the trigger never "
        f"reads ({c['wrong_address']['recall_top1']:.0%}); no edit: {c['no_edit']['recall_top1']:.0%}."
    )
    return fig, caption


def all_figures(report: dict[str, Any]) -> list[tuple[str, go.Figure, str]]:
    out = []
    for name, fn in (
        ("read-map", token_strip),
        ("gate", gate_figure),
        ("locality", change_heatmap),
        ("layers", layer_recall),
        ("lora", lora_vs_engram),
    ):
        made = fn(report)
        if made is not None:
            out.append((name, made[0], made[1]))
    return out
