"""Standalone HTML of a contract-audit report (no scripts; PDF through the shared chromium printer)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engram_probe.hashaudit.census import CLASSES, without_facts_notes
from engram_probe.report.html import contract_table, created_line, escape, html_page, table, write_page

EXTRA_STYLE = (
    ".tok{display:inline-block;margin:1px;padding:1px 4px;border:1px solid #ccc;font:12px monospace}"
    ".hit{background:#fde2c4;border-color:#e8590c}.safe{background:#e6f4ea}"
)


TOKEN_STYLE = {
    "hit": "background:#fde2c4;border:1px solid #e8590c",
    "safe": "background:#e6f4ea;border:1px solid #9ac5a5",
    "": "background:#fff;border:1px solid #ccc",
}


def token_strip(read_map: dict[str, Any]) -> str:
    """Tokens coloured by the read map, with inline styles so the strip renders the same in the UI and reports."""
    hit = set(read_map["positions_hit"])
    first = read_map["locality"]["first_read"]
    cells = []
    for t, tok in enumerate(read_map["tokens"]):
        cls = "hit" if t in hit else "safe" if first is None or t < first else ""
        style = f"display:inline-block;margin:1px;padding:1px 4px;font:12px monospace;{TOKEN_STYLE[cls]}"
        cells.append(f"<span class='tok {cls}' style='{style}' title='position {t}'>{escape(tok)}</span>")
    return (
        "<p>" + "".join(cells) + "</p><p class='cap'>orange: reads an edited row; green: before the first read "
        "(structurally unchanged, derived); white: after the first read</p>"
    )


HIT_HEADERS = ["position", "token", "table", "column", "order", "row", "n-gram", "users", "facts"]


def hit_table(read_map: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Headers and one row per read of an edited row (shared by the report and the UI)."""
    rows = [
        [
            h["position"],
            h["token"],
            h["layer"],
            h["column"],
            h["order"],
            h["row"],
            " ".join(h["ngram"]),
            ", ".join(h["users"]),
            ", ".join(h["facts"]),
        ]
        for h in read_map["hits"]
    ]
    return HIT_HEADERS, rows


def census_html(r: dict[str, Any]) -> list[str]:
    s = r["summary"]
    parts = [
        "<h2>Census</h2>",
        table(
            ["users", "facts", "rows written", "rows written by several users", "conflicting rows"],
            [[s["users"], s["facts"], s["rows_written"], s["rows_written_by_several_users"], s["conflicting_rows"]]],
        ),
        *(f"<p class='bad'>{escape(note)}.</p>" for note in without_facts_notes(r)),
        "<h2>Per fact: how its rows are shared</h2>",
        table(
            ["user", "fact", "reads", *CLASSES],
            [[f["user"], f["fact_id"], f["reads"], *(f["counts"][c] for c in CLASSES)] for f in r["facts"]],
        ),
        f"<p class='cap'>{escape(r['class_rule'])}</p>",
        "<h2>Between users</h2>",
        table(
            ["users", "shared rows", "conflicting rows"],
            [[" & ".join(p["users"]), p["shared_rows"], p["conflicting_rows"]] for p in r["user_pairs"]],
        ),
        "<h2>Conflicts (same row, different values)</h2>",
        table(
            ["table", "row", "users", "max |difference|"],
            [[c["layer"], c["row"], ", ".join(c["users"]), f"{c['max_abs_difference']:.3g}"] for c in r["conflicts"]],
        ),
        "<h2>Rows and their owners</h2>",
        table(
            ["table", "row", "column", "order", "users", "facts (n-gram)", "sharing", "conflict"],
            [
                [
                    x["layer"],
                    x["row"],
                    x["column"],
                    x["order"],
                    ", ".join(x["users"]),
                    "; ".join(f"{f['user']}/{f['fact_id']} ({' '.join(f['ngram'])})" for f in x["facts"]),
                    x["sharing"] or "",
                    "yes" if x["conflict"] else "",
                ]
                for x in r["rows"]
            ],
        ),
    ]
    st = r["storage"]
    lora = st["lora"]
    parts += [
        "<h2>Storage (computed)</h2>",
        f"<p>{escape(st['rows_formula'])}"
        + (
            f"; LoRA: {escape(lora['formula'])}, rank {lora['rank']}, d_model "
            f"{lora['d_model']}, {lora['n_layers']} layers = {lora['bytes']:,} B"
            if lora
            else f"; {escape(st['lora_note'])}"
        )
        + "</p>",
        table(
            ["user", "rows", "bytes", "rows / LoRA"],
            [
                [
                    u["user"],
                    u["rows"],
                    f"{u['bytes']:,}",
                    f"{u['rows_over_lora']:.3g}" if "rows_over_lora" in u else "—",
                ]
                for u in st["users"]
            ],
        ),
    ]
    return parts


def readmap_html(r: dict[str, Any]) -> list[str]:
    parts = []
    for m in r["read_maps"]:
        parts += [
            f"<h2>Read map ({m['n_tokens']} tokens, {len(m['hits'])} hits)</h2>",
            token_strip(m),
            f"<p><b>Locality (derived):</b> {escape(m['locality']['statement'])}</p>",
            f"<p class='cap'>{escape(m['locality']['rule'])}</p>",
            table(
                *hit_table(m),
            ),
        ]
    return parts


def scan_html(r: dict[str, Any]) -> list[str]:
    c = r["corpus"]
    parts = [
        "<h2>Blast-radius scan</h2>",
        table(
            ["shards", "sequences", "tokens", "positions that read an edited row", "fraction", "rows hit"],
            [[c["shards"], c["sequences"], r["tokens"], r["positions_hit"], f"{r['fraction_hit']:.4%}", r["rows_hit"]]],
        ),
    ]
    if r.get("failed_shards"):
        parts += [
            "<p><b>Shards that could not be read (not counted above):</b></p>",
            table(
                ["shard", "where", "error"],
                [[f["path"], f.get("where", f["line"]) or "whole file", f["error"]] for f in r["failed_shards"]],
            ),
        ]
    examples = [
        [f["fact"], f"{e['shard']} line {e['line']} position {e['position']}", f"{e['layer']}:{e['column']}:{e['row']}"]
        for f in r["facts"]
        for e in f.get("examples", [])
    ]
    parts += [
        table(["user", "hits"], [[u["user"], u["hits"]] for u in r.get("users", [])]),
        table(["fact", "hits"], [[f["fact"], f["hits"]] for f in r["facts"]]),
        table(["table", "row", "hits"], [[x["layer"], x["row"], x["hits"]] for x in r["rows"]]),
        f"<p class='cap'>{escape(r['rule'])}</p>",
        "<h3>Sampled hits, for drill-down</h3>",
        table(["fact", "where", "table:column:row"], examples),
        f"<p class='cap'>{escape(r.get('examples_rule', ''))}</p>",
        table(["shard scanned", "bytes", "resumed"], [[s["path"], s["bytes"], s["resumed"]] for s in c["scanned"]]),
    ]
    return parts


def rows_html(r: dict[str, Any]) -> list[str]:
    parts = []
    for s in r["sequences"]:
        parts.append(
            table(
                ["position", "token id", "reads (table:column:row)"],
                [
                    [t, s["token_ids"][t], " ".join(f"{x['layer']}:{x['column']}:{x['row']}" for x in reads)]
                    for t, reads in enumerate(s["reads"])
                ],
            )
        )
    return ["<h2>Rows read</h2>", *parts]


def render_contract_html(doc: dict[str, Any]) -> str:
    c = doc["contract"]
    body = {"census": census_html, "readmap": readmap_html, "scan": scan_html, "rows": rows_html}[doc["kind"]]
    parts = [
        f"<h1>Engram {doc['kind']} report — contract {escape(c['contract']['name'])}</h1>",
        f"<p>{created_line(doc)}. Hash only: no weights were read and no forward pass was run.</p>",
        "<h2>Address contract</h2>",
        contract_table(c),
        table(["check", "ok", "detail"], [[k["check"], k["ok"], k["detail"]] for k in c["checks"]]),
        *body(doc["result"]),
        "<h2>Measured, computed, derived</h2>",
        table(["what", "how"], [[k, v] for k, v in doc["measured_vs_derived"].items()]),
        "<h2>Digests (SHA-256)</h2>",
        table(
            ["what", "sha256"],
            [["report", doc["digests"]["report"]], ["contract", doc["digests"]["contract"]]]
            + [[f"overlay {o['path']}", o["sha256"]] for o in doc["input_sha256"]["overlays"]],
        ),
        "<p class='cap'>Re-verify with <code>engram-probe verify REPORT.json</code>.</p>",
    ]
    return html_page(f"Engram {doc['kind']} report", parts)


def write_contract_html(doc: dict[str, Any], path: str | Path) -> Path:
    return write_page(render_contract_html(doc), path)
