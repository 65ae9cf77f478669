"""Verify a hash-only report in the UI from files the caller uploads with it, matched by digest.

A contract report names the files its job read (config, tokenizer, overlays, sidecars) by path on the
machine that wrote it. The server never opens those paths. Instead the caller uploads the files again;
each recorded digest is matched to an uploaded file with the same SHA-256, and the job is re-run on the
uploads. A report whose job read a store or a corpus cannot be re-run this way and says so.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from engram_probe.hashaudit.jobs import file_sha256
from engram_probe.hashaudit.report import verify_contract_report
from engram_probe.report.kernel import body_digest


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
                "the body hashes to its recorded digest"
                if c["ok"]
                else f"the body hashes to {digest[:16]}…, not the recorded digest: the report was edited"
            )
    result["ok"] = all(c["ok"] for c in result["checks"])
    return result
