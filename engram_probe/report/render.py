"""Standalone HTML (plotly inlined once, works offline) and PDF (Debian chromium via Playwright)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from plotly.offline import get_plotlyjs

from engram_probe.figures import all_figures
from engram_probe.report.printing import CHROMIUM, CHROMIUM_ARGS, STYLE, PdfError, html_to_pdf  # noqa: F401


def _e(x: Any) -> str:
    return html.escape(str(x))


def _table(rows: list[tuple[str, Any]]) -> str:
    return "<table>" + "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"


def _verdict(ok: bool, yes: str, no: str) -> str:
    return f'<span class="ok">{_e(yes)}</span>' if ok else f'<span class="bad">{_e(no)}</span>'


def render_html(report: dict[str, Any]) -> str:
    s = report["summary"]
    d = report["digests"]
    env = report["environment"]
    parts = [
        f"<h1>Engram locality report — user {_e(report['memory']['user'])}</h1>",
        f"<p>Created {_e(report.get('created_at'))}. Probe: <code>{_e(report['probe']['text'])}</code></p>",
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
                ("findings", "<br>".join(_e(f) for f in s["findings"]) or "none"),
            ]
        ),
        "<h2>Rules</h2>",
        _table([(k, _e(v)) for k, v in report["rules"].items()]),
    ]
    for name, fig, caption in all_figures(report):
        parts.append(
            f'<div class="fig" id="fig-{name}">'
            + fig.to_html(full_html=False, include_plotlyjs=False)
            + f'<p class="cap">{_e(caption)}</p></div>'
        )
    c = report.get("contrasts")
    if c:
        parts += [
            "<h2>Contrasts</h2>",
            _table(
                [
                    ("facts, strategy", f"{c['facts_used']}, {_e(c['strategy'])}"),
                    (
                        "recall top-1: no edit / right layer / wrong layer / wrong address",
                        f"{c['no_edit']['recall_top1']:.2f} / {c['right_layer']['recall_top1']:.2f} / "
                        f"{c['wrong_layer']['recall_top1']:.2f} / {c['wrong_address']['recall_top1']:.2f}",
                    ),
                    (
                        "LoRA",
                        f"rank {c['lora']['rank']}, targets {_e(c['lora']['target_modules'])}, "
                        f"{c['lora']['steps']} steps, {c['lora']['bytes']:,} B — {_e(c['lora'].get('note', ''))}",
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
                    ("excluded from the changed fraction", _e(c["excluded_hooks_rule"])),
                ]
            ),
        ]
    mism = report["proof"]["mismatches"]
    if mism:
        parts += [
            "<h2>Mismatches at untouched positions</h2>",
            _table([(f"{m['hook']} @ {m['position']}", _e(m.get("max_abs_diff"))) for m in mism[:50]]),
        ]
    parts += [
        "<h2>Digests (SHA-256)</h2>",
        _table([(k, f"<code>{_e(v)}</code>") for k, v in d.items()]),
        "<h2>Environment</h2>",
        _table([(k, _e(v)) for k, v in env.items()]),
        f"<p class='cap'>Re-verify with <code>engram-probe verify REPORT.json</code>. "
        f"Model: <code>{_e(report['model'].get('path'))}</code>; memory source: "
        f"<code>{_e(report['memory'].get('source'))}</code>.</p>",
    ]
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Engram locality report</title>"
        f"<style>{STYLE}</style><script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
        + "\n".join(parts)
        + "</body></html>"
    )


def write_html(report: dict[str, Any], path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(render_html(report), encoding="utf-8")
    return p
