"""Standalone HTML (plotly inlined once, works offline) and PDF (Debian chromium via Playwright)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plotly.offline import get_plotlyjs

from engram_probe.report.figures import all_figures
from engram_probe.report.html import escape, html_page, write_page


def _table(rows: list[tuple[str, Any]]) -> str:
    return "<table>" + "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"


def _verdict(ok: bool, yes: str, no: str) -> str:
    return f'<span class="ok">{escape(yes)}</span>' if ok else f'<span class="bad">{escape(no)}</span>'


def render_html(report: dict[str, Any]) -> str:
    """The audit report as one standalone page (plotly inlined once, works offline)."""
    s = report["summary"]
    d = report["digests"]
    env = report["environment"]
    parts = [
        f"<h1>Engram locality report — user {escape(report['memory']['user'])}</h1>",
        f"<p>Created {escape(report.get('created_at'))}. Probe: <code>{escape(report['probe']['text'])}</code></p>",
        "<h2>Verdict</h2>",
        _table(
            [
                (
                    "untouched positions bit-exact",
                    _verdict(s["untouched_bit_exact"], "yes: every byte identical", "NO: see mismatches"),
                ),
                (
                    "positions",
                    f"{s['positions']['write_site']} write sites, {s['positions']['downstream']} downstream, "
                    f"{s['positions']['untouched']} untouched",
                ),
                (
                    "compared",
                    f"{s['pairs_compared']:,} (hook, position) pairs, {s['values_compared']:,} values, "
                    f"{s['bytes_compared']:,} bytes over {s['hooks_compared']} hooks",
                ),
                ("read-map hits", s["read_map_hits"]),
                ("findings", "<br>".join(escape(f) for f in s["findings"]) or "none"),
            ]
        ),
        "<h2>Rules</h2>",
        _table([(k, escape(v)) for k, v in report["rules"].items()]),
    ]
    for name, fig, caption in all_figures(report):
        parts.append(
            f'<div class="fig" id="fig-{name}">'
            + fig.to_html(full_html=False, include_plotlyjs=False)
            + f'<p class="cap">{escape(caption)}</p></div>'
        )
    c = report.get("contrasts")
    if c:
        parts += [
            "<h2>Contrasts</h2>",
            _table(
                [
                    ("facts, strategy", f"{c['facts_used']}, {escape(c['strategy'])}"),
                    (
                        "recall top-1: no edit / right layer / wrong layer / wrong address",
                        f"{c['no_edit']['recall_top1']:.2f} / {c['right_layer']['recall_top1']:.2f} / "
                        f"{c['wrong_layer']['recall_top1']:.2f} / {c['wrong_address']['recall_top1']:.2f}",
                    ),
                    (
                        "LoRA",
                        f"rank {c['lora']['rank']}, targets {escape(c['lora']['target_modules'])}, "
                        f"{c['lora']['steps']} steps, {c['lora']['bytes']:,} B — {escape(c['lora'].get('note', ''))}",
                    ),
                    ("Engram", f"{c['engram']['rows']} rows, {c['engram']['bytes']:,} B"),
                    (
                        "untouched values changed: LoRA / Engram",
                        f"{c['lora']['untouched_changed_fraction']:.2%} / "
                        f"{c['engram']['untouched_changed_fraction']:.2%}",
                    ),
                    (
                        "held-out loss change: LoRA / Engram",
                        f"{c['heldout_loss']['lora_delta']:+.3e} / {c['heldout_loss']['engram_delta']:+.3e} nats/token",
                    ),
                    (
                        "Engram change away from read-map hits",
                        f"{c['heldout_loss']['engram_attribution']['delta_elsewhere']:+.3e} (max |Δ| "
                        f"{c['heldout_loss']['engram_attribution']['max_abs_token_delta_elsewhere']:.1e})",
                    ),
                    ("excluded from the changed fraction", escape(c["excluded_hooks_rule"])),
                ]
            ),
        ]
    mism = report["proof"]["mismatches"]
    if mism:
        parts += [
            "<h2>Mismatches at untouched positions</h2>",
            _table([(f"{m['hook']} @ {m['position']}", escape(m.get("max_abs_diff"))) for m in mism[:50]]),
        ]
    parts += [
        "<h2>Digests (SHA-256)</h2>",
        _table([(k, f"<code>{escape(v)}</code>") for k, v in d.items()]),
        "<h2>Environment</h2>",
        _table([(k, escape(v)) for k, v in env.items()]),
        f"<p class='cap'>Re-verify with <code>engram-probe verify REPORT.json</code>: it reloads {_sources(report)}, "
        "and accepts other places for them if they have moved.</p>",
    ]
    return html_page("Engram locality report", parts, head=f"<script type='text/javascript'>{get_plotlyjs()}</script>")


def write_html(report: dict[str, Any], path: str | Path) -> Path:
    """The audit report as a standalone HTML page at ``path``."""
    return write_page(render_html(report), path)


def _sources(report: dict[str, Any]) -> str:
    """Where the report's model, adapter and memory came from, in words (paths are hints for verify)."""
    model = report["model"]
    where = [f"the model from <code>{escape(model.get('path') or 'the shipped model')}</code>"]
    if model.get("engram_path"):
        where.append(f"its engram-peft adapter from <code>{escape(model['engram_path'])}</code>")
    source = report["memory"].get("source") or {}
    if source.get("kind") == "store":
        where.append(
            f"user {escape(source.get('user'))}'s memory from the store <code>{escape(source.get('path'))}</code>"
        )
    elif source.get("kind") == "file":
        where.append(f"the memory from the file <code>{escape(source.get('path'))}</code>")
    return ", ".join(where)
