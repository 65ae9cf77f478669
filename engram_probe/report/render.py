"""Standalone HTML (plotly inlined once, works offline) and PDF (Debian chromium via Playwright)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plotly.offline import get_plotlyjs

from engram_probe.report.figures import all_figures, lora_note
from engram_probe.report.html import escape, html_page, made_by, table, when, write_page
from engram_probe.report.numbers import pct, plural, sig, signed, size, size_exact, targets_in_words, tokens


def _table(rows: list[tuple[str, Any]]) -> str:
    return "<table>" + "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"


def _verdict(ok: bool, yes: str, no: str) -> str:
    return f'<span class="ok">{escape(yes)}</span>' if ok else f'<span class="bad">{escape(no)}</span>'


def verdict_in_words(report: dict[str, Any]) -> str:
    """The proof's outcome as one plain sentence that states what it covers (positions before the first write site)."""
    s = report["summary"]
    n = report["probe"]["n_tokens"]
    first = s.get("first_write_site")
    untouched = s["positions"]["untouched"]
    if first is None:
        scope = f"No position of this {tokens(n)} probe reads the user's rows, so all {n:,} positions are covered"
    elif untouched == 0:
        scope = "The first token already reads the user's rows, so no position comes before the first write site"
    else:
        scope = (
            f"The {plural(untouched, 'position')} before the first write site (positions 0–{first - 1} of {n:,}) "
            "are covered"
        )
    if not s["untouched_bit_exact"]:
        return (
            f"NOT bit-exact: {plural(report['proof']['mismatch_count'], 'value pair')} at positions before the first "
            f"write site differ between the base model and the model with the user's memory. {scope}."
        )
    after = (
        ""
        if first is None
        else f" Positions from the first write site on ({plural(s['positions']['write_site'], 'write site')}, "
        f"{s['positions']['downstream']:,} downstream) may change by design and are not part of this claim."
    )
    return (
        f"Bit-exact: positions before the first write site give byte-for-byte the same values with and without the "
        f"user's memory, at all {s['hooks_compared']:,} compared hooks. {scope}.{after}"
    )


def _model_header(report: dict[str, Any]) -> list[tuple[str, Any]]:
    """Model name, contract version and digests, the first thing a reader checks."""
    m = report["model"]
    c = m.get("contract") or {}
    name = Path(m["path"]).name if m.get("path") else "the shipped workbench model"
    return [
        (
            "model",
            escape(name) + (f" with the adapter {escape(Path(m['engram_path']).name)}" if m.get("engram_path") else ""),
        ),
        ("address contract", escape(f"{c.get('name', '?')}, version {c.get('version', '?')}")),
        ("model weights (SHA-256)", f"<code>{escape(m['sha256'])}</code>"),
        ("memory (SHA-256)", f"<code>{escape(report['memory']['sha256'])}</code>"),
        ("probe text (SHA-256)", f"<code>{escape(report['probe']['sha256'])}</code>"),
        ("report (SHA-256)", f"<code>{escape(report['digests'].get('report', ''))}</code>"),
        ("created", escape(when(report.get("created_at")))),
        ("made by", escape(made_by(report))),
    ]


def _facts(report: dict[str, Any]) -> list[str]:
    """The user's facts this probe reads (trigger → answer where the report records it) and their rows."""
    mem = report["memory"]
    read: dict[str, dict[str, set[Any]]] = {}
    for p in report["positions"]:
        for h in p["hits"]:
            for f in h["facts"]:
                got = read.setdefault(f, {"rows": set(), "positions": set()})
                got["rows"].add((h["layer"], h.get("column", h["head"]), h["row"]))  # format /1: head was the column
                got["positions"].add(p["index"])
    listed = {f["fact_id"]: f for f in mem.get("fact_list", [])}
    gold = report.get("gold") or {}
    if gold.get("fact_id"):
        listed.setdefault(gold["fact_id"], gold)
    rows = []
    for fid in sorted(set(read) | set(listed), key=lambda f: (f not in read, f)):
        f = listed.get(fid, {})
        said = f"{f['trigger']} → {f['answer']}" if "trigger" in f else "recorded in the user's store"
        r = read.get(fid)
        where = ", ".join(f"layer {L} column {c} row {row:,}" for L, c, row in sorted(r["rows"])[:8]) if r else ""
        more = f" and {len(r['rows']) - 8:,} more" if r and len(r["rows"]) > 8 else ""
        rows.append(
            [
                fid,
                said,
                plural(len(r["rows"]), "row") + (f": {where}{more}" if where else "")
                if r
                else "not read by this probe",
                ", ".join(str(i) for i in sorted(r["positions"])) if r else "—",
            ]
        )
    found = mem.get("layers", [])
    layers = ("layer " if len(found) == 1 else "layers ") + ", ".join(map(str, found))
    return [
        f"<h2>The user's facts</h2><p>User <b>{escape(mem['user'])}</b> has {plural(mem['facts'], 'fact')} in "
        f"{plural(mem['rows'], 'row')} ({size(mem['bytes'])}) of Engram {layers}. The facts this probe reads:</p>",
        table(["fact", "trigger → answer", "rows read", "at positions"], rows),
    ]


def render_html(report: dict[str, Any]) -> str:
    """The audit report as one standalone page (plotly inlined once, works offline)."""
    s = report["summary"]
    d = report["digests"]
    env = report["environment"]
    parts = [
        f"<h1>Engram locality report — user {escape(report['memory']['user'])}</h1>",
        _table(_model_header(report)),
        "<h2>Verdict</h2>",
        f"<p class='verdict'>{_verdict(s['untouched_bit_exact'], *(2 * [verdict_in_words(report)]))}</p>",
        _table(
            [
                (
                    "positions",
                    f"{plural(s['positions']['write_site'], 'write site')}, {s['positions']['downstream']:,} "
                    f"downstream, {s['positions']['untouched']:,} untouched (of {tokens(report['probe']['n_tokens'])})",
                ),
                (
                    "compared",
                    f"{s['pairs_compared']:,} (hook, position) pairs, {s['values_compared']:,} values, "
                    f"{size_exact(s['bytes_compared'])} over {plural(s['hooks_compared'], 'hook')}",
                ),
                ("read-map hits", f"{s['read_map_hits']:,}"),
                ("findings", "<br>".join(escape(f) for f in s["findings"]) or "none"),
            ]
        ),
        *_facts(report),
        f"<h2>Probe text</h2><p class='probe'>{escape(report['probe']['text'])}</p>",
        "<h2>Rules</h2>",
        _table([(k.replace("_", " "), escape(v)) for k, v in report["rules"].items()]),
    ]
    for name, fig, caption in all_figures(report):
        parts.append(
            f'<div class="fig" id="fig-{name}">'
            + fig.to_html(full_html=False, include_plotlyjs=False, config={"responsive": True})
            + f'<p class="cap">{escape(caption)}</p></div>'
        )
    c = report.get("contrasts")
    if c:
        parts += _contrasts(c)
    mism = report["proof"]["mismatches"]
    if mism:
        parts += [
            "<h2>Mismatches at untouched positions</h2>",
            _table([(f"{m['hook']} @ {m['position']}", escape(sig(m.get("max_abs_diff")))) for m in mism[:50]]),
        ]
    parts += [
        "<h2>Digests (SHA-256)</h2>",
        _table([(k.replace("_", " "), f"<code>{escape(v)}</code>") for k, v in d.items()]),
        "<h2>Environment</h2>",
        _table([(k.replace("_", " "), escape(v)) for k, v in env.items()]),
        f"<p class='cap'>Re-verify with <code>engram-probe verify REPORT.json</code>: it reloads {_sources(report)}, "
        "and accepts other places for them if they have moved.</p>",
    ]
    return html_page("Engram locality report", parts, head=f"<script type='text/javascript'>{get_plotlyjs()}</script>")


def _contrasts(c: dict[str, Any]) -> list[str]:
    recalls = " / ".join(pct(c[k]["recall_top1"]) for k in ("no_edit", "right_layer", "wrong_layer", "wrong_address"))
    att = c["heldout_loss"]["engram_attribution"]
    lora, engram, held = c["lora"], c["engram"], c["heldout_loss"]
    return [
        "<h2>Contrasts</h2>",
        _table(
            [
                ("facts, strategy", f"{c['facts_used']:,}, {escape(c['strategy'])}"),
                ("recall (top-1): no edit / right layer / wrong layer / wrong address", recalls),
                (
                    "LoRA",
                    f"rank {c['lora']['rank']}, on {escape(targets_in_words(c['lora']['target_modules']))}, "
                    f"{plural(lora['steps'], 'step')}, {size(lora['bytes'])}: {escape(lora_note(lora))}",
                ),
                ("Engram", f"{plural(c['engram']['rows'], 'row')}, {size(c['engram']['bytes'])}"),
                (
                    "untouched values changed: LoRA / Engram",
                    f"{pct(lora['untouched_changed_fraction'])} / {pct(engram['untouched_changed_fraction'])}",
                ),
                (
                    "held-out loss change: LoRA / Engram",
                    f"{signed(held['lora_delta'])} / {signed(held['engram_delta'])} nats/token",
                ),
                (
                    "Engram change away from read-map hits",
                    f"{signed(att['delta_elsewhere'])} (largest change of one token "
                    f"{sig(att['max_abs_token_delta_elsewhere'])})",
                ),
                ("excluded from the changed fraction", escape(c["excluded_hooks_rule"])),
            ]
        ),
    ]


def write_html(report: dict[str, Any], path: str | Path) -> Path:
    """The audit report as a standalone HTML page at ``path``."""
    return write_page(render_html(report), path)


def _sources(report: dict[str, Any]) -> str:
    """Where the report's model, adapter and memory came from, in words, by file name (paths are hints for verify)."""
    model = report["model"]
    where = [f"the model from <code>{_name(model.get('path'))}</code>" if model.get("path") else "the shipped model"]
    if model.get("engram_path"):
        where.append(f"its engram-peft adapter from <code>{_name(model['engram_path'])}</code>")
    source = report["memory"].get("source") or {}
    if source.get("kind") == "store":
        where.append(
            f"user {escape(source.get('user'))}'s memory from the store <code>{_name(source.get('path'))}</code>"
        )
    elif source.get("kind") == "file":
        where.append(f"the memory from the file <code>{_name(source.get('path'))}</code>")
    return ", ".join(where) + " (the JSON report records where each was found)"


def _name(path: Any) -> str:
    """A file's name without its folder: a page never shows where a (possibly temporary) folder lies."""
    return escape(Path(str(path)).name)
