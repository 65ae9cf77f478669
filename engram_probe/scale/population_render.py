"""The population census report as standalone HTML (the JSON report's content, as tables)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engram_probe.report.html import contract_table, created_line, escape, html_page, table, write_page


def render_population_html(doc: dict[str, Any]) -> str:
    """The population report as one standalone page (no scripts)."""
    r = doc["result"]
    c = r["contract"]
    rows = [
        [
            f"{s['users']:,}",
            f"{s['rows_written']:,}",
            f"{s['shared_share']:.3%}",
            f"{s['expected_shared_share_uniform']:.3%}",
            f"{s['shared_by_hash_collision']:,}",
            f"{s['shared_by_content']:,}",
            f"{s['conflicting_share']:.3%}",
            s["max_users_on_a_row"],
            f"{s['seconds']:.1f}",
        ]
        for s in r["sizes"]
    ]
    first = r["sizes"][0]
    parts = [
        f"<h1>Population census — contract {escape(c['contract']['name'])}</h1>",
        f"<p>{created_line(doc)} ({escape(doc['placement'])}). {r['facts_per_user']} facts per user, "
        f"seed {r['seed']}. Hash only: no weights were read.</p>",
        contract_table(c),
        "<h2>Rows shared among users, by population size</h2>",
        table(
            [
                "users",
                "rows written",
                "shared by 2+ users (measured)",
                "uniform-hash expectation (derived)",
                "by hash collision",
                "by content",
                "conflicting (measured)",
                "most users on one row",
                "seconds",
            ],
            rows,
        ),
        f"<p class='cap'>{escape(first['generator'])}.</p>",
        table(["figure", "how"], [[k, v] for k, v in first["measured_vs_derived"].items()]),
    ]
    if "digests" in doc:  # reports written before population reports had digests have none
        parts += [
            "<h2>Digests (SHA-256)</h2>",
            table(["what", "sha256"], [[k, v] for k, v in doc["digests"].items() if k != "algorithm"]),
            "<p class='cap'>Re-verify with <code>engram-probe verify REPORT.json</code>.</p>",
        ]
    return html_page("Population census", parts)


def write_population_html(doc: dict[str, Any], path: str | Path) -> Path:
    """The population report as HTML at ``path``."""
    return write_page(render_population_html(doc), path)
