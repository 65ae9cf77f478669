"""Handlers of the "Export" tab: write a report of an audit, and verify an uploaded report of any kind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from engram_probe.audit.engine import AuditOptions, run_audit
from engram_probe.hashaudit.report import CONTRACT_REPORT_FORMAT
from engram_probe.isolation.exposure_report import EXPOSURE_FORMAT
from engram_probe.isolation.prove_report import ISOLATION_FORMAT
from engram_probe.layered.evaluate import LAYERED_FORMAT
from engram_probe.report.document import finalize
from engram_probe.report.kinds import verify_file
from engram_probe.report.printing import PdfError, html_to_pdf
from engram_probe.report.printing import save_json_report as save_report
from engram_probe.report.render import write_html
from engram_probe.report.verify import verify_report
from engram_probe.scale.population_report import POPULATION_FORMAT
from workbench.audit_views import queued
from workbench.handling import USER_ERRORS, WARN, progress_of, user_memory, warn
from workbench.state import WorkbenchState
from workbench.used import used_line
from workbench.verify_inputs import verify_view, verify_with_uploads

SERVER_VERIFIED = (LAYERED_FORMAT, POPULATION_FORMAT, ISOLATION_FORMAT, EXPOSURE_FORMAT)


def export_report(
    state: WorkbenchState, user_id: str, text: str, contrast: bool, progress: Any = None
) -> tuple[list[str] | None, str]:
    try:
        mem = user_memory(state, user_id, "report")
        source = {"kind": "store", "path": str(state.store.path), "user": mem.user_id}
        with queued(state, text, progress):
            body = run_audit(
                state.lm,
                mem,
                text or "",
                source,
                AuditOptions(contrast=bool(contrast)),
                progress=progress_of(progress, "contrasts") if contrast else None,
            )
        doc = finalize(body)
        stem = state.download_dir() / f"report-{mem.user_id}-{doc['digests']['report'][:12]}"
        json_path = save_report(doc, stem.with_suffix(".json"))
        html_path = write_html(doc, stem.with_suffix(".html"))
        files = [str(json_path), str(html_path)]
        pdf_note = ""
        try:
            files.append(str(html_to_pdf(html_path, stem.with_suffix(".pdf"))))
        except PdfError as exc:
            pdf_note = f" (PDF skipped: {exc})"
    except USER_ERRORS as exc:
        return None, warn(exc)
    return files, (
        f"Report `{doc['digests']['report'][:16]}…` written: JSON, HTML"
        + (", PDF" if not pdf_note else "")
        + pdf_note
        + ". Untouched positions bit-exact: "
        + ("yes" if doc["summary"]["untouched_bit_exact"] else "NO")
        + ".\n\n"
        + report_used(doc, sorted({f.strategy for f in mem.facts}))
    )


def report_used(doc: dict[str, Any], strategies: list[str]) -> str:
    """What an audit report used, from its own record, in the words of the views (``workbench.used``)."""
    contrast = "contrasts" in doc
    return used_line(
        strategy=", ".join(strategies) or None,
        layers=doc.get("memory", {}).get("layers"),
        heldout=doc.get("options", {}).get("heldout") if contrast else None,
        env=doc.get("environment"),
    )


def verify_upload(state: WorkbenchState, upload: Any, inputs: Any = None) -> tuple[str, pd.DataFrame]:
    """Verify an uploaded report on the server's own model and store; a hash-only report also takes its input files."""
    cols = ["check", "ok", "detail"]
    path = upload if isinstance(upload, str) else getattr(upload, "name", None)
    if not path:
        return WARN + "upload a JSON report first", pd.DataFrame(columns=cols)
    try:
        json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return WARN + f"that file is not a JSON report ({exc.__class__.__name__}: {exc})", pd.DataFrame(columns=cols)
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        if isinstance(doc, dict) and doc.get("format") == CONTRACT_REPORT_FORMAT:
            uploads = [p for p in (u if isinstance(u, str) else getattr(u, "name", None) for u in inputs or []) if p]
            result = verify_with_uploads(doc, uploads)
        elif isinstance(doc, dict) and doc.get("format") in SERVER_VERIFIED:
            # population and exposure reports re-run from the preset contract; layered ones on the adapter loaded
            # here; isolation ones on the server's model and store, matched by digest
            ls = state.layered
            adapter = getattr(ls, "adapter", None) if ls is not None else None
            result = verify_file(path, lm=state.lm, store=state.store, open_files=False, adapter=adapter)
        else:
            source = doc.get("memory", {}).get("source", {}) if isinstance(doc, dict) else {}
            uid = source.get("user") if isinstance(source, dict) else None
            if isinstance(uid, str) and state.store.has_user(uid):
                op = state.access.require("read", uid)
                state.store.record_read(uid, op.name, "verify")
            # the server's own model and store, matched by digest: no path named in the upload is opened
            result = verify_report(path, lm=state.lm, store=state.store)
    except USER_ERRORS as exc:
        return warn(exc), pd.DataFrame(columns=cols)
    return verify_view(result)
