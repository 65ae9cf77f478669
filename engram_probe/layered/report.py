"""Layered-evaluation reports: JSON with digests, standalone HTML, PDF, and verification by re-running."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engram_probe.report.html import created_line, escape, html_page, table
from engram_probe.report.printing import html_to_pdf, save_json_report

METRICS = [
    ("direct_top1", "direct top-1"),
    ("direct_top5", "direct top-5"),
    ("indirect_top1", "indirect top-1 (paper)"),
    ("indirect_any", "indirect_any (paper)"),
    ("first_word_exact", "first word exact"),
    ("exact_answer", "exact answer"),
    ("indirect_any_strict", "indirect_any, strict"),
]


def condition_rows(doc: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for cond, r in doc["aggregate"]["table"].items():
        rows.append(
            [cond, r["what"]]
            + [f"{r[m]:.3f}" for m, _ in METRICS]
            + [f"{r['heldout_loss_delta']:+.4f}", f"{r['users_worse_than_A_indirect_any']}/{r['users']}"]
        )
    return rows


CONDITION_HEADER = ["cond", "what", *[label for _, label in METRICS], "Δ held-out loss", "users worse than A"]


def comparison_rows(doc: dict[str, Any]) -> list[list[Any]]:
    agg = doc["aggregate"]
    return [
        [k, f"{v['mean']:+.3f}", f"[{v['ci95'][0]:+.3f}, {v['ci95'][1]:+.3f}]", v["users"]]
        for k, v in agg.items()
        if isinstance(v, dict) and "ci95" in v
    ]


def from_folder(adapter: dict[str, Any]) -> bool:
    """A report's shared adapter is the LoRA of an engram-peft adapter folder (not trained by train-adapter)."""
    return "training_users" not in adapter and bool(adapter.get("source"))


def render_html(doc: dict[str, Any]) -> str:
    agg = doc["aggregate"]
    a = doc["adapter"]
    users = doc["users"]
    per_user = [
        [u["user"]]
        + [f"{u['conditions'][c]['indirect_any']:.2f}" if c in u["conditions"] else "-" for c in doc["conditions"]]
        for u in users
    ]
    first = users[0]
    again = "--model BASE --engram ADAPTER_DIR" if from_folder(a) else "--adapter FILE"
    answers = [
        [c, ans["question"], ans["gold"], ans["answer"], ans["any"], ans["exact"]]
        for c, r in first["conditions"].items()
        for ans in r["answers"][:3]
    ]
    parts = [
        "<h1>Layered memory report: shared adapter over per-user rows</h1>",
        f"<p>{created_line(doc)} on model <code>{escape(doc['model']['sha256'][:16])}…</code> "
        f"({escape(doc['model']['architecture'])}), {len(users)} test users.</p>",
        "<h2>Conditions (measured)</h2>",
        table(CONDITION_HEADER, condition_rows(doc)),
        "<h2>Differences over users, with 95% bootstrap intervals (measured)</h2>",
        table(["difference", "mean", "95% CI", "users"], comparison_rows(doc)),
        "<h2>Read-map evidence</h2>",
        f"<p>{agg['share_of_indirect_probes_never_reading_rows']:.1%} of {agg['indirect_probes']} indirect probes "
        "never read the user's rows at any position of the question. "
        f"{agg['share_of_answers_reading_rows_while_generating']:.1%} of answers read a row while being generated.</p>",
        f"<p class='cap'>{escape(doc['evidence_rule'])}</p>",
        "<h2>Invariants (checked)</h2>",
        table(["invariant", "holds"], [[k, v] for k, v in doc["invariants"].items()]),
        "<h2>Per user: indirect_any by condition</h2>",
        table(["user", *doc["conditions"]], per_user),
        f"<h2>Sample answers ({escape(first['user'])})</h2>",
        table(["cond", "question", "gold", "answer (16 tokens)", "any", "exact"], answers),
        "<h2>Shared adapter</h2>",
        table(["field", "value"], [[k, json.dumps(v) if isinstance(v, dict | list) else v] for k, v in a.items()]),
        "<h2>Digests (SHA-256)</h2>",
        table(["what", "sha256"], [[k, v] for k, v in doc["digests"].items() if k != "algorithm"]),
        f"<p class='cap'>Re-verify with <code>engram-probe layered verify REPORT.json {escape(again)}</code>.</p>",
    ]
    return html_page("Layered memory report", parts)


def write_reports(
    doc: dict[str, Any], json_path: str | None = None, html_path: str | None = None, pdf_path: str | None = None
) -> list[Path]:
    out = []
    if json_path:
        out.append(save_json_report(doc, json_path))
    if html_path or pdf_path:
        h = Path(html_path) if html_path else Path(pdf_path).with_suffix(".html")  # type: ignore[arg-type]
        h.parent.mkdir(parents=True, exist_ok=True)
        h.write_text(render_html(doc), encoding="utf-8")
        out.append(h)
        if pdf_path:
            out.append(html_to_pdf(h, pdf_path))
    return out
