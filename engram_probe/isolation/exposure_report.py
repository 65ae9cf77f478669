"""The exposure report: the document ``engram-probe isolation exposure --report`` writes, its HTML and ``verify``.

Exposure is a pure function of the contract, the population sizes, facts per user, probe requests, salting, the
seed and the tables (Dask's placement does not change a count), so ``verify`` re-runs it in-process and compares
every figure except wall time and where the contract was read from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engram_probe.report.checks import differing_fields
from engram_probe.report.html import contract_table, escape, html_page, table, write_page
from engram_probe.report.kernel import body_digest, created_at, differences, environment, finalize

EXPOSURE_FORMAT = "engram-probe-isolation-exposure/1"
VOLATILE = frozenset({"seconds", "source"})


def exposure_report(result: dict[str, Any], placement: str) -> dict[str, Any]:
    """Wrap an ``exposure_curve`` result in the JSON report, with the contract's digest and the body digest."""
    doc: dict[str, Any] = {
        "format": EXPOSURE_FORMAT,
        "placement": placement,
        "result": result,
        "environment": environment("python"),
        "created_at": created_at(),
    }
    return finalize(doc, {"contract": result["contract"]["sha256"]}, stamp_time=False)


def verify_exposure(
    doc: dict[str, Any], config: str | Path | None = None, tokenizer: str | Path | None = None
) -> dict[str, Any]:
    """Return {ok, checks, mismatches}: the body digest, the contract's digest, then the measurement re-run."""
    from engram_probe.contracts import ContractError, load_contract
    from engram_probe.isolation.exposure import exposure_curve

    checks: list[dict[str, Any]] = []

    def check(name: str, ok: bool, detail: str) -> bool:
        checks.append({"check": name, "ok": bool(ok), "detail": detail})
        return ok

    def failed() -> dict[str, Any]:
        return {"ok": False, "checks": checks, "mismatches": []}

    recorded = doc.get("digests", {}).get("report")
    digest = body_digest(doc)
    check(
        "report digest",
        digest == recorded,
        "the body hashes to the recorded digest"
        if digest == recorded
        else f"the body hashes to {digest[:16]}…, not the recorded {str(recorded)[:16]}…: "
        "the report was edited after it was written",
    )
    try:
        r = doc["result"]
        described = r["contract"]
        sizes = [s["users"] for s in r["sizes"]]
        tables = tuple(r["sizes"][0]["tables"]) if r["sizes"] else None
        contract = load_contract(described["contract"]["name"], config, tokenizer)
    except ContractError as exc:
        check("contract digest", False, f"cannot re-build the contract: {exc}")
        return failed()
    except (KeyError, TypeError, IndexError) as exc:
        check("re-run", False, f"the report's result lacks a field the measurement needs ({exc})")
        return failed()
    rebuilt = contract.digest() == described["sha256"]
    check(
        "contract digest",
        rebuilt and described["sha256"] == doc.get("digests", {}).get("contract", described["sha256"]),
        f"the re-built contract matches the report's digest ({contract.digest()[:16]}…)"
        if rebuilt
        else f"the re-built contract hashes to {contract.digest()[:16]}…, not the report's "
        f"{str(described['sha256'])[:16]}… (it was built from {described['source']}: give its --config and "
        "--tokenizer)",
    )
    if not all(c["ok"] for c in checks):
        return failed()
    try:
        fresh = exposure_curve(
            contract, sizes, r["facts_per_user"], r["probe_requests"], bool(r["salted"]), r["seed"], tables
        )
    except (ValueError, TypeError, KeyError, ContractError) as exc:
        check("re-run", False, f"cannot re-run the measurement: {exc}")
        return failed()
    mismatches = differences(r, fresh, VOLATILE)
    check(
        "re-run",
        not mismatches,
        f"the measurement re-run at {len(sizes)} population size(s) reproduced every figure"
        if not mismatches
        else f"the measurement re-run at {len(sizes)} population size(s) differs in {len(mismatches):,} values: "
        + differing_fields(mismatches),
    )
    return {
        "ok": all(c["ok"] for c in checks),
        "checks": checks,
        "mismatches": mismatches[:50],
        "mismatch_count": len(mismatches),
    }


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
        f"<p>Created {escape(doc['created_at'])} ({escape(doc['placement'])}). {r['facts_per_user']:,} facts per "
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
