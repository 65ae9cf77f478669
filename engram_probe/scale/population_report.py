"""The population census report: the document ``engram-probe population --report`` writes, and its ``verify``.

The census is a pure function of the contract, the population sizes, facts per user, the seed and the
tables (its counts do not depend on how Dask places the work), so ``verify`` re-runs it in-process and
compares every figure except wall time and peak memory.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from engram_probe.report.checks import differing_fields
from engram_probe.report.kernel import body_digest, created_at, differences, environment, finalize

POPULATION_FORMAT = "engram-probe-population-census/1"
# Per census: how long it took and how much memory the process had used are measurements of the run, not
# results; ``source`` says where the contract was read from (a file name or folder), which can move.
VOLATILE = frozenset({"seconds", "peak_rss_mb_so_far", "source"})


def contract_result_report(fmt: str, result: dict[str, Any], placement: str) -> dict[str, Any]:
    """A hash-only result on one contract (a census, an exposure curve) as its JSON report: the contract's digest
    and the body digest."""
    doc: dict[str, Any] = {
        "format": fmt,
        "placement": placement,
        "result": result,
        "environment": environment("python"),
        "created_at": created_at(),
    }
    return finalize(doc, {"contract": result["contract"]["sha256"]}, stamp_time=False)


def population_report(result: dict[str, Any], placement: str) -> dict[str, Any]:
    """Wrap a ``growth_report`` result in the JSON report, with the contract's digest and the body digest."""
    return contract_result_report(POPULATION_FORMAT, result, placement)


Rerun = Callable[[Any, dict[str, Any], list[int], tuple[int, ...] | None], dict[str, Any]]


def verify_contract_result(
    doc: dict[str, Any],
    rerun: Rerun,
    what: str,
    volatile: frozenset[str],
    config: str | Path | None = None,
    tokenizer: str | Path | None = None,
) -> dict[str, Any]:
    """Return {ok, checks, mismatches}: the body digest, the contract's digest, then ``rerun(contract, result,
    sizes, tables)`` compared figure by figure (``what`` names the run in the checks: "census", "measurement").

    ``config`` and ``tokenizer`` are the operator's files for a contract that was not built from its preset
    (the report names the contract and its digest, not where its files were).
    """
    from engram_probe.contracts import ContractError, load_contract

    checks: list[dict[str, Any]] = []

    def check(name: str, ok: bool, detail: str) -> bool:
        checks.append({"check": name, "ok": bool(ok), "detail": detail})
        return ok

    recorded = doc.get("digests", {}).get("report")
    digest = body_digest(doc)
    if recorded is None:
        detail = "the report records no digest (written before population reports had one): run the census again"
    elif digest == recorded:
        detail = "the body hashes to the recorded digest"
    else:
        detail = (
            f"the body hashes to {digest[:16]}…, not the recorded {str(recorded)[:16]}…: "
            "the report was edited after it was written"
        )
    check("report digest", digest == recorded, detail)
    try:
        r = doc["result"]
        described = r["contract"]
        sizes = [s["users"] for s in r["sizes"]]
        tables = tuple(r["sizes"][0]["tables"]) if r["sizes"] else None
        contract = load_contract(described["contract"]["name"], config, tokenizer)
    except ContractError as exc:
        check("contract digest", False, f"cannot re-build the contract: {exc}")
        return {"ok": False, "checks": checks, "mismatches": []}
    except (KeyError, TypeError, IndexError) as exc:
        check("re-run", False, f"the report's result lacks a field the {what} needs ({exc})")
        return {"ok": False, "checks": checks, "mismatches": []}
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
        return {"ok": False, "checks": checks, "mismatches": []}
    try:
        fresh = rerun(contract, r, sizes, tables)
    except (ValueError, TypeError, KeyError, ContractError) as exc:
        check("re-run", False, f"cannot re-run the {what}: {exc}")
        return {"ok": False, "checks": checks, "mismatches": []}
    mismatches = differences(r, fresh, volatile)
    check(
        "re-run",
        not mismatches,
        f"the {what} re-run at {len(sizes)} population size(s) reproduced every figure"
        if not mismatches
        else f"the {what} re-run at {len(sizes)} population size(s) differs in {len(mismatches):,} values: "
        + differing_fields(mismatches),
    )
    return {
        "ok": all(c["ok"] for c in checks),
        "checks": checks,
        "mismatches": mismatches[:50],
        "mismatch_count": len(mismatches),
    }


def verify_population(
    doc: dict[str, Any], config: str | Path | None = None, tokenizer: str | Path | None = None
) -> dict[str, Any]:
    """Return {ok, checks, mismatches}: the body digest, the contract's digest, then the census re-run."""
    from engram_probe.scale.population import growth_report

    def rerun(contract: Any, r: dict[str, Any], sizes: list[int], tables: tuple[int, ...] | None) -> dict[str, Any]:
        return growth_report(contract, sizes, r["facts_per_user"], r["seed"], tables)

    return verify_contract_result(doc, rerun, "census", VOLATILE, config, tokenizer)
