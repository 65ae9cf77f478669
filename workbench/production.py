"""Handlers of the "Production models" tab: hash-only audits of uploaded contracts and overlays.

Plain functions over ``engram_probe.hashaudit``: they turn the tab's inputs into a ``JobInputs``,
run the job, and return tables and a status line. Bad input becomes a "⚠" message.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pandas as pd

from engram_probe.contracts import ContractError, load_contract
from engram_probe.hashaudit.census import CLASSES, without_facts_notes
from engram_probe.hashaudit.jobs import JobInputs, OverlayInput
from engram_probe.hashaudit.render import HIT_HEADERS, hit_table, token_strip, write_contract_html
from engram_probe.hashaudit.report import build_report
from engram_probe.overlays import OverlayFileError
from engram_probe.overlays.load import SIDECAR_SUFFIX
from engram_probe.report.kernel import attribute
from engram_probe.report.printing import PdfError, html_to_pdf
from engram_probe.report.printing import save_json_report as save_contract_report
from engram_probe.scale.shards import ShardError

ERRORS = (ContractError, OverlayFileError, ShardError, ValueError, OSError, PdfError)
WARN = "⚠ "
IDS = re.compile(r"^\s*\d+(?:[\s,]+\d+)*\s*$")


def _path(f: Any) -> str | None:
    if f is None:
        return None
    return f if isinstance(f, str) else getattr(f, "name", None)


def job_inputs(name: str, config: Any, tokenizer: Any, uploads: list[Any] | None, text: str | None = None) -> JobInputs:
    """Inputs from the tab: facts sidecars (``X.facts.json``) are matched to the overlay ``X`` by file name."""
    paths = [p for p in (_path(u) for u in uploads or []) if p]
    sidecars = {Path(p).name[: -len(SIDECAR_SUFFIX)]: p for p in paths if p.endswith(SIDECAR_SUFFIX)}
    overlays = [OverlayInput(p, None, sidecars.get(Path(p).name)) for p in paths if not p.endswith(SIDECAR_SUFFIX)]
    inputs = JobInputs(contract=name, config=_path(config), tokenizer=_path(tokenizer), overlays=overlays)
    if text is not None:
        if IDS.match(text):
            inputs.token_ids = [[int(t) for t in re.split(r"[\s,]+", text.strip())]]
        else:
            inputs.text = text
    return inputs


COLUMN_HEADERS = ["table", "column", "order", "head", "prime (rows)", "offset"]
FACT_HEADERS = ["user", "fact", "reads", "own only", "by content", "by collision", "both", "unattributed", "unwritten"]
PAIR_HEADERS = ["users", "shared rows", "conflicting rows"]
CONFLICT_HEADERS = ["table", "row", "users", "max |difference|"]


def empty(headers: list[str]) -> pd.DataFrame:
    """A table with its headers and no rows: what a view shows before its first run."""
    return pd.DataFrame(columns=headers)


def show_contract(name: str, config: Any, tokenizer: Any) -> tuple[str, pd.DataFrame, str]:
    cols = COLUMN_HEADERS
    try:
        c = load_contract(name, _path(config), _path(tokenizer))
    except ERRORS as exc:
        return "", pd.DataFrame(columns=cols), WARN + str(exc)
    checks = "; ".join(f"{'✔' if k.ok else '✘'} {k.name}: {k.detail}" for k in c.checks())
    md = (
        f"**{c.name}** v{c.version} — digest `{c.digest()[:16]}…` — source: {c.source}\n\n"
        f"Rows: {c.row_format.dim} values, {c.row_format.bytes_per_row} B each ({c.row_format.encoding}). "
        f"Tables: "
        + ", ".join(f"{L}: {c.table_rows(L):,} rows" for L in c.layers)
        + f".\n\nChecks: {checks}"
        + ("" if getattr(c, "tokenizer", None) is not None else "\n\nNo tokenizer: address token ids, not text.")
    )
    rows = [[x.layer, x.column, x.order, x.head, x.size, x.offset] for L in c.layers for x in c.columns(L)]
    return md, pd.DataFrame(rows, columns=cols), f"Contract {c.name} loaded ({c.source})."


def census(name: str, config: Any, tokenizer: Any, uploads: list[Any] | None, progress: Any = None) -> tuple[Any, ...]:
    fact_cols = FACT_HEADERS
    nothing = (empty(FACT_HEADERS), empty(PAIR_HEADERS), empty(CONFLICT_HEADERS))
    try:
        inputs = job_inputs(name, config, tokenizer, uploads)
        if progress is not None:
            progress(0.1, desc="reading overlays")
        doc = build_report("census", inputs)
    except ERRORS as exc:
        return (*nothing, WARN + str(exc))
    r = doc["result"]
    facts = pd.DataFrame(
        [[f["user"], f["fact_id"], f["reads"], *(f["counts"][c] for c in CLASSES)] for f in r["facts"]],
        columns=fact_cols,
    )
    pairs = pd.DataFrame(
        [[" & ".join(p["users"]), p["shared_rows"], p["conflicting_rows"]] for p in r["user_pairs"]],
        columns=["users", "shared rows", "conflicting rows"],
    )
    conflicts = pd.DataFrame(
        [[c["layer"], c["row"], ", ".join(c["users"]), c["max_abs_difference"]] for c in r["conflicts"]],
        columns=["table", "row", "users", "max |difference|"],
    )
    s = r["summary"]
    storage = "; ".join(f"{u['user']}: {u['rows']} rows = {u['bytes']:,} B" for u in r["storage"]["users"])
    status = (
        f"{s['users']} users, {s['facts']} facts, {s['rows_written']} rows written, "
        f"{s['rows_written_by_several_users']} written by several users, **{s['conflicting_rows']} conflicting**. "
        f"Storage (computed): {storage}. Contract digest `{doc['digests']['contract'][:16]}…`."
        + "".join(f"\n\n{WARN}{note}." for note in without_facts_notes(r))
    )
    return facts, pairs, conflicts, status


def read_map(name: str, config: Any, tokenizer: Any, uploads: list[Any] | None, text: str) -> tuple[str, Any, str]:
    cols = HIT_HEADERS
    if not uploads:  # said here in the UI's words: the library's refusal names the command line's flags
        return "", pd.DataFrame(columns=cols), WARN + "a read map needs at least one overlay file: upload one above"
    try:
        doc = build_report("readmap", job_inputs(name, config, tokenizer, uploads, text or ""))
    except ERRORS as exc:
        return "", pd.DataFrame(columns=cols), WARN + str(exc)
    m = doc["result"]["read_maps"][0]
    headers, rows = hit_table(m)
    status = (
        f"{len(m['hits'])} reads of edited rows at positions {m['positions_hit']}. "
        f"Locality (derived from the read map, not measured): {m['locality']['statement']}."
    )
    return f"<div id='prod-strip'>{token_strip(m)}</div>", pd.DataFrame(rows, columns=headers), html.escape(status)


def export(
    kind: str,
    name: str,
    config: Any,
    tokenizer: Any,
    uploads: list[Any] | None,
    text: str,
    workdir: Path,
    operator: str,
) -> tuple[list[str] | None, str]:
    """The contract report of ``kind`` as JSON, HTML and PDF, made by ``operator``."""
    try:
        inputs = job_inputs(name, config, tokenizer, uploads, text if kind == "readmap" else None)
        doc = attribute(build_report(kind, inputs), operator)
        stem = workdir / f"{kind}-{name}-{doc['digests']['report'][:12]}"
        files = [
            str(save_contract_report(doc, stem.with_suffix(".json"))),
            str(write_contract_html(doc, stem.with_suffix(".html"))),
        ]
        note = ""
        try:
            files.append(str(html_to_pdf(stem.with_suffix(".html"), stem.with_suffix(".pdf"))))
        except PdfError as exc:
            note = f" (PDF skipped: {exc})"
    except ERRORS as exc:
        return None, WARN + str(exc)
    formats = "JSON, HTML" + (note or ", PDF")
    return files, f"{kind} report `{doc['digests']['report'][:16]}…` written: {formats}."
