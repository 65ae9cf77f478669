"""Verify in the UI: a hash-only report from files the caller uploads with it (matched by digest), and how any
verify result is shown (each check by its outcome, each differing field by name, as the CLI prints them).

A contract report names the files its job read (config, tokenizer, overlays, sidecars) by path on the
machine that wrote it. The server never opens those paths. Instead the caller uploads the files again;
each recorded digest is matched to an uploaded file with the same SHA-256, and the job is re-run on the
uploads. A report whose job read a store or a corpus cannot be re-run this way and says so.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pandas as pd

from engram_probe.hashaudit.jobs import file_sha256
from engram_probe.hashaudit.report import verify_contract_report
from engram_probe.report.checks import FAIL_MARK, PASS_MARK, difference_line, field_name, verdict
from engram_probe.report.kernel import body_digest

COLUMNS = ["check", "ok", "detail"]


def verify_with_uploads(doc: dict[str, Any], uploads: list[str]) -> dict[str, Any]:
    """``verify_contract_report`` on the uploaded copies of the report's input files (found by digest)."""
    inputs = doc.get("inputs") if isinstance(doc.get("inputs"), dict) else None
    recorded = doc.get("input_sha256") if isinstance(doc.get("input_sha256"), dict) else None
    if inputs is None or recorded is None:
        return verify_contract_report(doc, open_files=False)
    if inputs.get("store") or inputs.get("corpus"):
        return verify_contract_report(doc, open_files=False)
    by_digest = {file_sha256(p): p for p in uploads}
    rewritten = copy.deepcopy(doc)
    missing: list[str] = []

    def swap(path: Any, digest: Any, role: str) -> Any:
        if not path:
            return path
        found = by_digest.get(digest) if isinstance(digest, str) else None
        if found is None:
            missing.append(f"{role} {Path(str(path)).name}")
            return path
        return found

    rewritten["inputs"]["config"] = swap(inputs.get("config"), recorded.get("config"), "config")
    rewritten["inputs"]["tokenizer"] = swap(inputs.get("tokenizer"), recorded.get("tokenizer"), "tokenizer")
    overlay_digests = recorded.get("overlays") or []
    for i, o in enumerate(rewritten["inputs"].get("overlays") or []):
        d = overlay_digests[i] if i < len(overlay_digests) and isinstance(overlay_digests[i], dict) else {}
        o["path"] = swap(o.get("path"), d.get("sha256"), "overlay")
        o["facts"] = swap(o.get("facts"), d.get("facts_sha256"), "facts sidecar")
    if missing:
        result = verify_contract_report(doc, open_files=False)
        result["checks"][-1]["detail"] = (
            "not re-run: upload the files the report's job read along with it; missing (by digest): "
            + ", ".join(missing)
        )
        return result
    result = verify_contract_report(rewritten)
    # the digest check is of the report as uploaded, not of the copy that points at the uploads
    digest = body_digest(doc)
    for c in result["checks"]:
        if c["check"] == "report digest":
            c["ok"] = digest == doc.get("digests", {}).get("report")
            c["detail"] = (
                f"the report's body hashes to its recorded digest ({digest[:16]}…)"
                if c["ok"]
                else f"the report's body hashes to {digest[:16]}…, not its recorded digest: the report was edited"
            )
    result["ok"] = all(c["ok"] for c in result["checks"])
    return result


def verify_view(result: dict[str, Any]) -> tuple[str, pd.DataFrame]:
    """The verdict line and the table of a verify result: one row per check, worded by its outcome, then one row
    per differing field named in plain words with the report's value and the re-run's (the CLI's wording)."""
    rows = [[c["check"], PASS_MARK if c["ok"] else FAIL_MARK, c["detail"]] for c in result["checks"]]
    mismatches = [m for m in result.get("mismatches") or [] if isinstance(m, dict)]
    for m in mismatches:
        name = field_name(str(m.get("path", "")))
        rows.append([f"differs: {name}", FAIL_MARK, difference_line(m)[len(name) + 2 :]])
    left = int(result.get("mismatch_count", len(mismatches))) - len(mismatches)
    if mismatches and left > 0:
        rows.append(["differs: more fields", FAIL_MARK, f"{left:,} more values differ"])
    word, why = verdict(result)
    return f"**{word}** — {why}", pd.DataFrame(rows, columns=COLUMNS)


def store_note(persistent: bool) -> str:
    """What the UI says about the store an uploaded audit report is re-run against."""
    kept = (
        "It is kept in the workbench's data folder on this machine, so reports exported here can be verified after a "
        "restart."
        if persistent
        else "This server was started on a work folder of its own choosing; reports verify while it holds the same "
        "memories."
    )
    return (
        "An audit report is re-run on this server's own model and memory store, matched by digest: the report's user "
        f"must be in this store with the memory digest the report records. {kept}"
    )
