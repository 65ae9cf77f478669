"""Contract-audit reports: one JSON document with digests, the same content as HTML and PDF, and ``verify``."""

from __future__ import annotations

from typing import Any

from engram_probe.contracts.base import AddressContract
from engram_probe.hashaudit.jobs import JobInputs, open_contract, run_job
from engram_probe.report.kernel import body_digest, canonical_json, created_at, environment, finalize
from engram_probe.scale.engine import Placement, Progress

CONTRACT_REPORT_FORMAT = "engram-probe-contract-report/1"
VOLATILE = {"created_at", "digests", "environment", "run"}


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


def verify_contract_report(doc: dict[str, Any], open_files: bool = True) -> dict[str, Any]:
    """Check the body digest and every input digest, then re-run the job and compare the result.

    ``open_files=False`` (the web UI): a report whose job reads files is not re-run, since the server
    never opens a path named in an uploaded report; only its own digest is checked.
    """
    checks: list[dict[str, Any]] = []

    def check(name: str, ok: bool, detail: str) -> None:
        checks.append({"check": name, "ok": bool(ok), "detail": detail})

    digest = body_digest(doc)
    check("report digest", digest == doc.get("digests", {}).get("report"), f"the body hashes to {digest[:16]}…")
    try:
        inputs = JobInputs.from_dict(doc["inputs"])
        if not open_files and inputs.files():
            check(
                "re-run",
                False,
                f"not re-run here: the job read {len(inputs.files())} file(s) on the machine that wrote it, and the "
                "server does not open files named in an uploaded report; verify it there with the command line",
            )
            return {"ok": False, "checks": checks, "mismatches": []}
        now = inputs.digests()
        check(
            "input files",
            now == doc["input_sha256"],
            "every input file hashes to its recorded digest"
            if now == doc["input_sha256"]
            else "an input file changed since the report was written",
        )
        contract = open_contract(inputs)
        check(
            "contract digest",
            contract.digest() == doc["digests"]["contract"] == doc["contract"]["sha256"],
            f"re-built contract {contract.digest()[:16]}…, report names {str(doc['digests']['contract'])[:16]}…",
        )
        fresh = build_report(doc["kind"], inputs, contract=contract)
    except (KeyError, TypeError, ValueError, OSError) as exc:
        check("re-run", False, f"cannot re-run the job: {exc}")
        return {"ok": False, "checks": checks, "mismatches": []}
    mismatches = [
        k
        for k in sorted(set(doc) | set(fresh))
        if k not in VOLATILE and canonical_json(doc.get(k)) != canonical_json(fresh.get(k))
    ]
    check("re-run", not mismatches, "every section matches" if not mismatches else f"sections differ: {mismatches}")
    return {"ok": all(c["ok"] for c in checks), "checks": checks, "mismatches": mismatches}
