"""Handlers of the "Export" tab: write a report of an audit (signed, when asked), and verify an uploaded report of
any kind, signed or not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from engram_probe.attest.keys import KeyFileError
from engram_probe.audit.engine import AuditOptions, run_audit
from engram_probe.hashaudit.report import CONTRACT_REPORT_FORMAT
from engram_probe.isolation.exposure_report import EXPOSURE_FORMAT
from engram_probe.isolation.prove_report import ISOLATION_FORMAT
from engram_probe.layered.evaluate import LAYERED_FORMAT
from engram_probe.report.checks import made_by_note
from engram_probe.report.document import finalize
from engram_probe.report.kernel import attribute
from engram_probe.report.kinds import verify_file
from engram_probe.report.printing import PdfError, html_to_pdf
from engram_probe.report.printing import save_json_report as save_report
from engram_probe.report.render import write_html
from engram_probe.report.signed import is_envelope, verify_signed
from engram_probe.report.verify import verify_report
from engram_probe.scale.population_report import POPULATION_FORMAT
from workbench.audit_views import queued
from workbench.handling import USER_ERRORS, WARN, progress_of, user_memory, warn
from workbench.signing import (
    SIGN_ERRORS,
    sign_export,
    signature_html,
    signed_report,
    signing_key,
    upload_path,
    uploaded_trust,
)
from workbench.state import WorkbenchState
from workbench.used import used_line
from workbench.verify_inputs import COLUMNS, verify_view, verify_with_uploads

SERVER_VERIFIED = (LAYERED_FORMAT, POPULATION_FORMAT, ISOLATION_FORMAT, EXPOSURE_FORMAT)


def export_report(
    state: WorkbenchState,
    user_id: str,
    text: str,
    contrast: bool,
    progress: Any = None,
    sign_key: Any = None,
    use_server_key: bool = False,
) -> tuple[list[str] | None, str]:
    """Run the audit and write its report (JSON, HTML, PDF); signed, with its envelope beside the JSON, when a key
    is uploaded (read once, then deleted) or the server's own key is asked for. A bad key refuses before any work."""
    try:
        signing = signing_key(state, sign_key, use_server_key)  # first: an uploaded key is deleted whatever follows
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
        doc = attribute(finalize(body), state.access.current.name)
        stem = state.download_dir() / f"report-{mem.user_id}-{doc['digests']['report'][:12]}"
        json_path = save_report(doc, stem.with_suffix(".json"))
        html_path = write_html(doc, stem.with_suffix(".html"))
        files = [str(json_path), str(html_path)]
        signed_note = ""
        if signing is not None:
            envelope, who = sign_export(state, doc, json_path, html_path, signing[0])
            files.insert(1, str(envelope))
            signed_note = f"\n\n{who} ({signing[1]}); the signed attestation is the file ending in .dsse.json."
        pdf_note = ""
        try:
            files.append(str(html_to_pdf(html_path, stem.with_suffix(".pdf"))))
        except PdfError as exc:
            pdf_note = f" (PDF skipped: {exc})"
    except (*USER_ERRORS, *SIGN_ERRORS) as exc:
        return None, warn(exc)
    return files, (
        f"Report `{doc['digests']['report'][:16]}…` written: JSON, "
        + ("signed attestation, " if signing is not None else "")
        + "HTML"
        + (", PDF" if not pdf_note else "")
        + pdf_note
        + ". Untouched positions bit-exact: "
        + ("yes" if doc["summary"]["untouched_bit_exact"] else "NO")
        + "."
        + signed_note
        + "\n\n"
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


def verify_upload(
    state: WorkbenchState, upload: Any, inputs: Any = None, key: Any = None
) -> tuple[str, pd.DataFrame, str]:
    """Verify an uploaded report on the server's own model and store; a hash-only report also takes its input files,
    a signed one (an envelope) the signer's public key or a trusted-keys file. Returns the verdict, the table of
    checks and the signature's block (empty for an unsigned report)."""
    path = upload_path(upload)
    if path is None:
        return WARN + "upload a JSON report first", pd.DataFrame(columns=COLUMNS), ""
    if is_envelope(path):  # by its fields, or by its name when it is cut short
        return verify_signed_upload(state, path, key)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return WARN + f"that file is not a JSON report ({exc.__class__.__name__}: {exc})", _empty(), ""
    try:
        if isinstance(doc, dict) and doc.get("format") == CONTRACT_REPORT_FORMAT:
            uploads = [p for p in (u if isinstance(u, str) else getattr(u, "name", None) for u in inputs or []) if p]
            result = verify_with_uploads(doc, uploads)
        elif isinstance(doc, dict) and doc.get("format") in SERVER_VERIFIED:
            # population and exposure reports re-run from the preset contract; layered ones on the adapter loaded
            # here; isolation ones on the server's model and store, matched by digest
            result = verify_file(path, lm=state.lm, store=state.store, open_files=False, adapter=_adapter(state))
        else:
            _record_verify(state, doc)
            # the server's own model and store, matched by digest: no path named in the upload is opened
            result = verify_report(path, lm=state.lm, store=state.store)
    except USER_ERRORS as exc:
        return warn(exc), _empty(), ""
    verdict, table = verify_view(result)
    return f"{verdict}\n\n{made_by_note(doc)}", table, ""


def verify_signed_upload(state: WorkbenchState, path: Path, key: Any) -> tuple[str, pd.DataFrame, str]:
    """An uploaded envelope: its signatures checked against the uploaded keys first, then its report re-derived on
    the server's own model and store (matched by digest) as an unsigned one is."""
    try:
        trusted = uploaded_trust(key)
    except KeyFileError as exc:
        return warn(exc), _empty(), signature_html(None, str(exc))
    report = signed_report(path)
    try:
        if report is not None and report.get("format") not in (CONTRACT_REPORT_FORMAT, *SERVER_VERIFIED):
            _record_verify(state, report)
        result = verify_signed(path, trusted, lm=state.lm, store=state.store, open_files=False, adapter=_adapter(state))
    except USER_ERRORS as exc:
        return warn(exc), _empty(), ""
    return (*verify_view(result), signature_html(result))


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=COLUMNS)


def _adapter(state: WorkbenchState) -> Any:
    """The layered adapter loaded in this server (None before the Layered memory tab is used)."""
    ls = state.layered
    return getattr(ls, "adapter", None) if ls is not None else None


def _record_verify(state: WorkbenchState, doc: Any) -> None:
    """An audit report of a user in this store: the operator must be allowed to read them, and the read is recorded."""
    source = doc.get("memory", {}).get("source", {}) if isinstance(doc, dict) else {}
    uid = source.get("user") if isinstance(source, dict) else None
    if isinstance(uid, str) and state.store.has_user(uid):
        op = state.access.require("read", uid)
        state.store.record_read(uid, op.name, "verify")
