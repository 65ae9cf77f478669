"""Plotly figures built from a report dict; shared by the HTML report, the UI and the notebooks.

Long probes stay light: past ``FULL`` positions a figure opens on a window of ``FULL`` positions around
the first write site (zoom, pan or the range slider reach the rest; the JSON report holds every value),
cells carry no text, and an axis labels every k-th position so that labels never overlap.
"""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from engram_probe.report.numbers import legend, pct, pct_pair, plural, sig, size

CLASS_COLOURS = {"untouched": "#d9d9d9", "write_site": "#d62728", "downstream": "#ff9f1c"}
CLASS_CODE = {"untouched": 0, "downstream": 1, "write_site": 2}
EXACT_ZERO_COLOUR = "#2ca02c"


def _tok(t: str) -> str:
    return t.replace("\n", "⏎").replace(" ", "·") or "∅"


FULL = 200  # positions a figure draws at full resolution (a label per cell) before it opens on a window
MAX_TICKS = 40  # position labels on an axis at most


def _window(report: dict[str, Any]) -> tuple[float, float] | None:
    """The x range a long probe's figures open on: ``FULL`` positions from shortly before the first write site."""
    n = len(report["positions"])
    if n <= FULL:
        return None
    first = report.get("summary", {}).get("first_write_site") or 0
    lo = max(0, min(int(first) - FULL // 4, n - FULL))
    return (lo - 0.5, lo + FULL - 0.5)


def _position_axis(report: dict[str, Any], labels: list[str]) -> dict[str, Any]:
    """An x axis of positions: every k-th labelled with its token (at most ``MAX_TICKS`` in view), windowed if long."""
    n = len(labels)
    win = _window(report)
    shown = FULL if win else max(1, n)
    k = max(1, math.ceil(shown / MAX_TICKS))
    axis: dict[str, Any] = dict(
        title="position",
        tickmode="array",
        tickvals=list(range(0, n, k)),
        ticktext=[f"{i} {labels[i]}" if k > 1 else labels[i] for i in range(0, n, k)],
        tickangle=-60,
        tickfont=dict(size=10),
    )
    if win:
        axis["range"] = list(win)
        axis["title"] = f"position (positions {int(win[0] + 0.5)}–{int(win[1] - 0.5)} of {n:,} in view)"
    return axis


def window_range(report: dict[str, Any]) -> tuple[int, int] | None:
    """The first and last position a long probe's figures open on (None for a short probe)."""
    win = _window(report)
    return None if win is None else (int(win[0] + 0.5), int(win[1] - 0.5))


def window_note(report: dict[str, Any]) -> str:
    """A sentence saying which positions a long probe's figures open on (empty for a short probe)."""
    win = _window(report)
    if win is None:
        return ""
    n = len(report["positions"])
    return (
        f" The probe has {n:,} tokens: the figures open on positions {int(win[0] + 0.5)}–{int(win[1] - 0.5)} "
        f"around the first write site, and the JSON report holds all {n:,}."
    )


def _class_lines(fig: go.Figure, report: dict[str, Any], **kw: Any) -> None:
    """Dashed lines at the class boundaries (before the first write site, around write sites)."""
    first = report["summary"].get("first_write_site")
    if first is not None:
        fig.add_vline(x=first - 0.5, line_dash="dash", line_color="#d62728", **kw)


def token_strip(report: dict[str, Any]) -> tuple[go.Figure, str]:
    """The read map: one cell per probe token, coloured by its class (write site, downstream, untouched)."""
    pos = report["positions"]
    long = len(pos) > FULL
    z = [[CLASS_CODE[p["class"]] for p in pos]]
    text = [[_tok(p["token"]) for p in pos]]
    hover = [
        [
            f"#{p['index']} {p['token']!r}<br>{legend(p['class'])}<br>rows hit {p['rows_hit']}"
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
            x=list(range(len(pos))),
            text=None if long else text,
            texttemplate=None if long else "%{text}",
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
            xgap=0 if long else 2,
        )
    )
    labels = [_tok(p["token"]) for p in pos]
    fig.update_layout(
        height=230 if long else 200,
        margin=dict(l=10, r=10, t=30, b=10),
        title="Read map: who reads an edited row",
        yaxis=dict(visible=False),
        xaxis=_position_axis(report, labels),
    )
    c = report["summary"]["positions"]
    caption = (
        f"Each cell is a token of the probe. Red cells read at least one of the user's edited rows "
        f"({plural(c['write_site'], 'write site')}); orange cells come after the first write site and can be "
        f"reached through attention or the dilated conv ({c['downstream']:,} downstream); grey cells come before "
        f"any write site ({c['untouched']:,} untouched)." + window_note(report)
    )
    return fig, caption


def gate_figure(report: dict[str, Any]) -> tuple[go.Figure, str]:
    """The Engram gate α per position and layer, before and after the write."""
    pos = report["positions"]
    long = len(pos) > FULL
    x = [p["index"] for p in pos]
    labels = [_tok(p["token"]) for p in pos]
    fig = go.Figure()
    for layer in sorted(pos[0]["gates"], key=int):
        main = int(layer) == report["gate"]["layer"]
        # a dotted line over thousands of points is slow to paint: a long probe's base line is thin and solid
        for when, dash in (("before", "solid" if long else "dot"), ("after", "solid")):
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=[p["gates"][layer][when] for p in pos],
                    mode="lines" if long else "lines+markers",
                    name=f"layer {layer} {when}",
                    line=dict(dash=dash, width=(1 if long and when == "before" else 3) if main else 1),
                    opacity=1.0 if main else 0.4,
                    customdata=labels,
                    hovertemplate="%{customdata}: α=%{y:.4f}<extra></extra>",
                )
            )
    lo, hi = report["gate"]["attainable_range"]
    fig.add_hrect(y0=hi, y1=1.0, fillcolor="#eeeeee", line_width=0)
    _class_lines(fig, report)
    fig.update_layout(
        height=480 if long else 400,
        title="Gate α per position, before and after the write",
        yaxis_title="α",
        xaxis=_position_axis(report, labels),
        margin=dict(l=40, r=10, t=80, b=40),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0, font=dict(size=11)),
    )
    if long:  # the slider moves this figure's window over the whole probe
        fig.update_xaxes(rangeslider=dict(visible=True, thickness=0.1))
    at = [p for p in pos if p["class"] == "write_site"]
    moved = ", ".join(f"#{p['index']} {sig(p['gate_before'], 3)}→{sig(p['gate_after'], 3)}" for p in at[:4])
    caption = (
        f"The Engram gate α (layer {report['gate']['layer']} in bold). {'Thin' if long else 'Dotted'}: base model; "
        f"{'thick' if long else 'solid'}: with the user's memory. α can only reach [{sig(lo)}, {sig(hi)}] at this "
        f"width. At write sites: {moved or 'none'}. "
        "Left of the dashed line nothing can change, and the lines coincide." + window_note(report)
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
    gap = 0 if len(labels) > FULL else 1
    x = list(range(len(labels)))
    names = [labels for _ in matrix["rows"]]
    return [
        go.Heatmap(
            z=exact,
            x=x,
            y=matrix["rows"],
            customdata=names,
            colorscale=[[0, EXACT_ZERO_COLOUR], [1, EXACT_ZERO_COLOUR]],
            showscale=False,
            hovertemplate="%{y} @ %{x} %{customdata}: bytes identical (exactly 0)<extra></extra>",
            xgap=gap,
            ygap=1,
        ),
        go.Heatmap(
            z=z,
            x=x,
            y=matrix["rows"],
            customdata=names,
            colorscale="Inferno",
            zmin=zmin,
            zmax=zmax,
            showscale=showscale,
            colorbar=dict(title="log10 ‖Δ‖", thickness=12),
            xgap=gap,
            ygap=1,
            hovertemplate="%{y} @ %{x} %{customdata}: log10 ‖Δ‖ = %{z:.2f}<extra></extra>",
        ),
    ]


def _log_range(matrices: list[dict[str, Any]]) -> tuple[float, float]:
    """One colour range over several change matrices (log10 of the non-zero changes)."""
    finite = [v for m in matrices for row in _log_matrix(m)[0] for v in row if v is not None]
    return (min(finite), max(finite)) if finite else (-8.0, 1.0)


def _labels(report: dict[str, Any]) -> list[str]:
    return [_tok(p["token"]) for p in report["positions"]]


def change_heatmap(report: dict[str, Any]) -> tuple[go.Figure, str]:
    """Change per (hook, position) between base and edited runs; exact zeros in green."""
    m = report["delta_matrix"]
    zmin, zmax = _log_range([m])
    labels = _labels(report)
    fig = go.Figure(_heatmap_traces(m, labels, zmin, zmax, True))
    _class_lines(fig, report)
    fig.update_layout(
        height=400,
        title="Change per position and layer (green = bytes identical)",
        margin=dict(l=90, r=10, t=40, b=80),
        xaxis=_position_axis(report, labels),
    )
    s = report["summary"]
    caption = (
        f"Rows are the residual stream after each block and the logits; columns are probe positions. Green cells "
        f"are exactly zero: base and edited bytes are identical. Coloured cells changed (log scale). The proof "
        f"compared {s['pairs_compared']:,} (hook, position) pairs ({s['values_compared']:,} values, "
        f"{size(s['bytes_compared'])}) at the {plural(s['positions']['untouched'], 'untouched position')}: "
        f"{'all identical' if s['untouched_bit_exact'] else 'SOME DIFFER'}." + window_note(report)
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
        subplot_titles=(f"Engram rows ({size(c['engram']['bytes'])})", f"Per-user LoRA ({size(c['lora']['bytes'])})"),
    )
    for col, m in enumerate(mats, start=1):
        for tr in _heatmap_traces(m, labels, zmin, zmax, showscale=col == 2):
            fig.add_trace(tr, row=1, col=col)
    fig.update_layout(height=420, margin=dict(l=90, r=10, t=50, b=80), title="Same text, same colour scale")
    axis = _position_axis(report, labels)
    axis.pop("title")
    fig.update_xaxes(**axis)
    fig.update_xaxes(matches="x")
    lora_pct, engram_pct = pct(c["lora"]["recall_top1"]), pct(c["engram"]["recall_top1"])
    caption = (
        f"Left: the user's Engram rows; right: a rank-{c['lora']['rank']} LoRA trained on the same "
        f"{plural(c['facts_used'], 'fact')} to matched recall ({lora_pct} vs {engram_pct} top-1). Green = bytes "
        f"identical. At untouched positions the LoRA changes {pct(c['lora']['untouched_changed_fraction'])} of "
        f"(hook, position) values; Engram changes {pct(c['engram']['untouched_changed_fraction'])}."
        + window_note(report)
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
            go.Bar(name=legend(k), x=[b[0] for b in bars], y=[b[1][k] for b in bars], text=[pct(b[1][k]) for b in bars])
            for k in ("recall_top1", "recall_top5")
        ]
    )
    fig.update_layout(
        barmode="group",
        height=320,
        yaxis=dict(range=[0, 1.05], title="recall", tickformat=".0%"),
        title="Same facts, same strategy and budget, different places",
        margin=dict(l=40, r=10, t=40, b=40),
    )
    caption = (
        f"{c['facts_used']:,} of the user's facts written with '{c['strategy']}' into the right Engram "
        f"layer ({pct(c['right_layer']['recall_top1'])} top-1), the other Engram layer "
        f"({pct(c['wrong_layer']['recall_top1'])}), and rows next to the trigger's own that the trigger never "
        f"reads ({pct(c['wrong_address']['recall_top1'])}); no edit: {pct(c['no_edit']['recall_top1'])}."
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


def lora_note(lora: dict[str, Any]) -> str:
    """How the LoRA's matched-recall stopping rule played out, in words, from a report's ``contrasts.lora``.

    The report also records its own ``note``; this one shows recall as percentages with enough digits that a
    target and a recall that differ never read the same.
    """
    target, start = float(lora.get("target_recall", 0.0)), float(lora.get("start_recall", 0.0))
    reached, steps = float(lora["recall_top1"]), int(lora["steps"])
    if "target_recall" not in lora:
        return str(lora.get("note", ""))
    if target <= start:
        t, s = pct_pair(target, start)
        return (
            f"the Engram rows reach top-1 recall {t}, which the base model already meets ({s}), so matched recall "
            f"asks for no training; the LoRA was trained the stated minimum of "
            f"{plural(lora.get('min_steps', steps), 'step')} so that there is an adapter to compare"
        )
    if reached < target:
        t, r = pct_pair(target, reached)
        return (
            f"the LoRA did not reach the Engram rows' top-1 recall of {t} within {plural(steps, 'step')} "
            f"(it reached {r})"
        )
    return f"trained until its top-1 recall reached the Engram rows' {pct(target)} ({plural(steps, 'step')})"
