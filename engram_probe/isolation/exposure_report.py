"""The exposure report: the document ``engram-probe isolation exposure --report`` writes, its HTML and ``verify``.

Exposure is a pure function of the contract, the population sizes, facts per user, probe requests, salting, the
seed and the tables (Dask's placement does not change a count), so ``verify`` re-runs it in-process and compares
every figure except wall time and where the contract was read from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engram_probe.report.html import contract_table, created_line, escape, html_page, table, write_page
from engram_probe.scale.population_report import contract_result_report, verify_contract_result

EXPOSURE_FORMAT = "engram-probe-isolation-exposure/1"
VOLATILE = frozenset({"seconds", "source"})


def exposure_report(result: dict[str, Any], placement: str) -> dict[str, Any]:
    """Wrap an ``exposure_curve`` result in the JSON report, with the contract's digest and the body digest."""
    return contract_result_report(EXPOSURE_FORMAT, result, placement)


def verify_exposure(
    doc: dict[str, Any], config: str | Path | None = None, tokenizer: str | Path | None = None
) -> dict[str, Any]:
    """Return {ok, checks, mismatches}: the body digest, the contract's digest, then the measurement re-run."""
    from engram_probe.isolation.exposure import exposure_curve

    def rerun(contract: Any, r: dict[str, Any], sizes: list[int], tables: tuple[int, ...] | None) -> dict[str, Any]:
        facts, probes, salted, seed = r["facts_per_user"], r["probe_requests"], bool(r["salted"]), r["seed"]
        return exposure_curve(contract, sizes, facts, probes, salted, seed, tables)

    return verify_contract_result(doc, rerun, "measurement", VOLATILE, config, tokenizer)


def render_exposure_html(doc: dict[str, Any]) -> str:
    """The exposure report as one standalone page (no scripts)."""
    r = doc["result"]
    rows = [
        [
            f"{s['users']:,}",
            f"{s['exposed_share']:.3%}",
            f"{s['derived_exposed_share']:.3%}",
            f"{s['exposed_by_content_share']:.3%}",
            f"{s['exposed_reads_share']:.3%}",
            f"{s['derived_exposed_reads_share']:.3%}",
            f"{s['seconds']:.1f}",
        ]
        for s in r["sizes"]
    ]
    salting = "every user reads and writes at its own salt" if r["salted"] else "no salting"
    parts = [
        f"<h1>Exposure at population scale — contract {escape(r['contract']['contract']['name'])}</h1>",
        f"<p>{created_line(doc)} ({escape(doc['placement'])}). {r['facts_per_user']:,} facts per "
        f"user, {r['probe_requests']:,} probe requests, {salting}, seed {r['seed']}. Hash only: no weights were "
        "read.</p>",
        contract_table(r["contract"]),
        "<h2>Requests that read another user's row, by population size</h2>",
        table(
            [
                "users",
                "requests exposed (measured)",
                "uniform-hash model (derived)",
                "exposed by shared content (measured)",
                "reads exposed (measured)",
                "reads exposed (derived)",
                "seconds",
            ],
            rows,
        ),
        table(["figure", "how"], [["measured", r["rule"]], ["derived", r["derived_rule"]]]),
        "<h2>Digests (SHA-256)</h2>",
        table(["what", "sha256"], [[k, v] for k, v in doc["digests"].items() if k != "algorithm"]),
        "<p class='cap'>Re-verify with <code>engram-probe verify REPORT.json</code>.</p>",
    ]
    return html_page("Exposure at population scale", parts)


def write_exposure_html(doc: dict[str, Any], path: str | Path) -> Path:
    """The exposure report as HTML at ``path``."""
    return write_page(render_exposure_html(doc), path)
