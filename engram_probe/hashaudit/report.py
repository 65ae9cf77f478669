"""Contract-audit reports: one JSON document with digests, the same content as HTML and PDF, and ``verify``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engram_probe.contracts.base import AddressContract
from engram_probe.hashaudit.jobs import JobInputs, open_contract, run_job
from engram_probe.report.checks import MAX_NAMED, differing_fields, outcome
from engram_probe.report.kernel import (
    PROVENANCE,
    body_digest,
    canonical_json,
    created_at,
    differences,
    environment,
    finalize,
)
from engram_probe.scale.engine import Placement, Progress

CONTRACT_REPORT_FORMAT = "engram-probe-contract-report/1"
VOLATILE = PROVENANCE | {"digests", "environment", "run"}


def build_report(
    kind: str,
    inputs: JobInputs,
    progress: Progress | None = None,
    contract: AddressContract | None = None,
    place: Placement = Placement(),
    resume: str | None = None,
) -> dict[str, Any]:
    """Run a hash-only job and wrap it in a report with the contract, input digests and environment.

    The contract is built once (for V4.1 with a tokenizer that decodes the whole vocabulary)."""
    contract = contract or open_contract(inputs)
    result = run_job(kind, inputs, progress, contract, place, resume)
    run = result.pop("job", None)  # where and how long a scan ran: recorded, but not part of the result
    doc: dict[str, Any] = {
        "format": CONTRACT_REPORT_FORMAT,
        "kind": kind,
        "contract": contract.describe(),
        "inputs": inputs.as_dict(),
        "input_sha256": inputs.digests(),
        "result": result,
        "measured_vs_derived": {
            "addresses": "computed from the address contract (no weights, no forward pass)",
            "locality": "derived from the read map; not a measurement",
            "storage": "computed from the row format and the stated LoRA formula",
        },
        "environment": environment("numpy", "python"),
        "created_at": created_at(),
    }
    if run is not None:
        doc["run"] = run
    return finalize(doc, {"contract": contract.digest()}, stamp_time=False)


def changed_files(inputs: JobInputs, recorded: Any, now: dict[str, Any]) -> str:
    """The input files whose digest differs from the recorded one, by file name."""
    names: list[str] = []
    for m in differences(recorded, now, frozenset()):
        role, _, rest = str(m["path"]).lstrip(".").partition(".")
        where: Any = getattr(inputs, role.split("[")[0], None)
        if role.startswith("overlays[") and role.endswith("]"):
            o = inputs.overlays[int(role[9:-1])] if int(role[9:-1]) < len(inputs.overlays) else None
            where = None if o is None else (o.facts if rest.startswith("facts") else o.path)
        name = Path(str(where)).name if isinstance(where, str | Path) else role.split("[")[0]
        if name not in names:
            names.append(name)
    return ", ".join(names[:MAX_NAMED]) + (f" and {len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else "")


def verify_contract_report(doc: dict[str, Any], open_files: bool = True) -> dict[str, Any]:
    """Check the body digest and every input digest, then re-run the job and compare the result.

    ``open_files=False`` (the web UI): a report whose job reads files is not re-run, since the server
    never opens a path named in an uploaded report; only its own digest is checked.
    """
    checks: list[dict[str, Any]] = []

    def check(name: str, ok: bool, passed: str, failed: str) -> None:
        checks.append(outcome(name, ok, passed, failed))

    digest, recorded = body_digest(doc), str(doc.get("digests", {}).get("report"))
    check(
        "report digest",
        digest == recorded,
        f"the report's body hashes to its recorded digest ({digest[:16]}…)",
        f"the report's body hashes to {digest[:16]}…, not its recorded {recorded[:16]}…: "
        "the report was edited after it was written",
    )
    try:
        inputs = JobInputs.from_dict(doc["inputs"])
        if not open_files and inputs.files():
            check(
                "re-run",
                False,
                "",
                f"not re-run here: the job read {len(inputs.files())} file(s) on the machine that wrote it, and the "
                "server does not open files named in an uploaded report; verify it there with the command line",
            )
            return {"ok": False, "checks": checks, "mismatches": []}
        now = inputs.digests()
        check(
            "input files",
            now == doc["input_sha256"],
            "every input file hashes to its recorded digest",
            "an input file changed since the report was written: " + changed_files(inputs, doc["input_sha256"], now),
        )
        contract = open_contract(inputs)
        named = str(doc["digests"]["contract"])
        check(
            "contract digest",
            contract.digest() == named == doc["contract"]["sha256"],
            f"the re-built contract matches the report's digest ({named[:16]}…)",
            f"the re-built contract hashes to {contract.digest()[:16]}…, not the report's {named[:16]}…",
        )
        fresh = build_report(doc["kind"], inputs, contract=contract)
    except (KeyError, TypeError, ValueError, OSError) as exc:
        check("re-run", False, "", f"cannot re-run the job: {exc}")
        return {"ok": False, "checks": checks, "mismatches": []}
    summary = doc.get("result", {}).get("summary") if isinstance(doc.get("result"), dict) else None
    if isinstance(summary, dict) and "rows_without_facts" not in summary:  # written before the census named them
        fresh["result"]["summary"].pop("rows_without_facts", None)
    # both sides in the JSON types of a saved report (tuples become lists, a str subclass a str)
    fresh, saved = json.loads(canonical_json(fresh)), json.loads(canonical_json(doc))
    mismatches = [
        m
        for k in sorted(set(saved) | set(fresh))
        if k not in VOLATILE
        for m in differences(saved.get(k, "<missing>"), fresh.get(k, "<missing>"), frozenset(), path=f".{k}")
    ]
    check(
        "re-run",
        not mismatches,
        "the re-run job reproduced every section",
        f"the re-run job differs in {len(mismatches):,} values: {differing_fields(mismatches)}",
    )
    return {
        "ok": all(c["ok"] for c in checks),
        "checks": checks,
        "mismatches": mismatches[:50],
        "mismatch_count": len(mismatches),
    }
