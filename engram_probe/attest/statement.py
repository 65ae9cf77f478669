"""A report as an in-toto Statement v1: its subjects are the digests it was made from, its predicate the report.

The predicate holds the whole report, so that one signed file is all a verifier needs (the report is
re-derived from it as from the plain JSON). Decided so because a digest and a verdict alone would make the
signed file useless without the report beside it, and would let the two drift apart. The predicate:

    {"kind", "format", "report": the whole report, "environment": the report's own, "operator": {name, key_id},
     "approver": a name the operator expects to approve, or null, "signed_at": UTC ISO 8601}

The subjects are one per digest the report records (``subjects``): the report's body digest, the model's
weights (which cover the Engram tables), the address hashing, the memory or overlays, the contract, a shared
table or adapter, the probe text, held-out texts, the corpus shards. Signing refuses a report whose body does
not hash to its recorded digest, and verify refuses a statement whose subjects are not those of the report it
carries ("swapped subject").
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from engram_probe.report.kernel import body_digest, canonical_json

__all__ = [
    "PREDICATE_TYPE",
    "STATEMENT_TYPE",
    "StatementError",
    "parse_statement",
    "statement",
    "statement_bytes",
    "subject_problems",
    "subjects",
]

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://engram-workbench.dev/attestation/report/v1"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

# digests.<key> of every report kind, by the subject name it is signed under
_DIGEST_NAMES = {
    "model": "model weights",
    "memory": "memory",
    "probe": "probe text",
    "contract": "address contract",
    "adapter": "shared adapter",
    "table": "shared Engram table",
}


class StatementError(ValueError):
    """A payload that is not this project's report Statement, or a report that cannot be attested."""


def _add(out: list[dict[str, Any]], name: str, digest: Any) -> None:
    if isinstance(digest, str) and _HEX64.match(digest) and all(s["name"] != name for s in out):
        out.append({"name": name, "digest": {"sha256": digest}})


def _dict(x: Any) -> dict[str, Any]:
    return x if isinstance(x, dict) else {}


def _basename(path: Any) -> str:
    return Path(str(path)).name if path else "?"


def subjects(report: dict[str, Any], report_digest: str | None = None) -> list[dict[str, Any]]:
    """The in-toto subjects of ``report``: ``{name, digest: {sha256}}`` for each digest it records, report first.

    One walk serves every kind: the ``digests`` block (audit, contract, layered, population, exposure,
    isolation), then the digests a kind records elsewhere: an audit's address hashing and held-out texts, a
    contract report's input files (config, tokenizer, overlays, their facts sidecars, store users, corpus
    shards), an isolation table's users' memories, an older population report's contract. ``report_digest``:
    the report's body digest, where the caller has just taken it.
    """
    out: list[dict[str, Any]] = []
    _add(out, "report", report_digest or body_digest(report))
    for key, value in _dict(report.get("digests")).items():
        if key not in ("algorithm", "report", "report_rule"):
            _add(out, _DIGEST_NAMES.get(key, key), value)
    model = _dict(report.get("model"))
    _add(out, "model weights", model.get("sha256"))
    _add(out, "address hashing", model.get("hash_sha256"))
    options = _dict(report.get("options"))
    heldout = _dict(options.get("heldout"))
    _add(out, "held-out texts", heldout.get("sha256"))
    inputs = _dict(report.get("input_sha256"))
    _add(out, "contract config", inputs.get("config"))
    _add(out, "tokenizer", inputs.get("tokenizer"))
    for i, o in enumerate(_dict(o) for o in inputs.get("overlays") or []):
        _add(out, f"overlay {i + 1}: {_basename(o.get('path'))}", o.get("sha256"))
        _add(out, f"overlay {i + 1} facts", o.get("facts_sha256"))
    store = _dict(inputs.get("store"))
    for user, digest in sorted(_dict(store.get("users")).items()):
        _add(out, f"memory of {user}", digest)
    for i, shard in enumerate(_dict(c) for c in inputs.get("corpus") or []):
        _add(out, f"corpus shard {i + 1}: {_basename(shard.get('path'))}", shard.get("sha256"))
    table = _dict(report.get("table"))
    for m in table.get("users") or []:
        if isinstance(m, dict):
            _add(out, f"memory of {m.get('user')}", m.get("digest"))
    result = _dict(report.get("result"))
    contract = _dict(result.get("contract"))
    _add(out, "address contract", contract.get("sha256"))
    return out


def statement(
    report: dict[str, Any],
    kind: str,
    operator: str,
    key_id: str,
    signed_at: str,
    approver: str | None = None,
) -> dict[str, Any]:
    """The in-toto Statement of ``report`` (of report kind ``kind``), signed by ``operator`` with key ``key_id``.

    A report whose body does not hash to its recorded ``digests.report`` is refused: it was edited after it
    was written, and signing it would vouch for the edit.
    """
    recorded, digest = (report.get("digests") or {}).get("report"), body_digest(report)
    if recorded is not None and recorded != digest:
        raise StatementError(
            "the report's body does not hash to its recorded digest: it was edited after it was written; "
            "it is not signed"
        )
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects(report, digest),
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "kind": kind,
            "format": report.get("format"),
            "report": report,
            "environment": report.get("environment", {}),
            "operator": {"name": operator, "key_id": key_id},
            "approver": approver,
            "signed_at": signed_at,
        },
    }


def statement_bytes(stmt: dict[str, Any]) -> bytes:
    """The bytes that are signed: the Statement's canonical JSON (sorted keys, no whitespace, UTF-8)."""
    return canonical_json(stmt)


def parse_statement(payload: bytes) -> dict[str, Any]:
    """The signed payload as this project's report Statement; anything else is a one-line StatementError."""
    try:
        doc = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StatementError(f"the signed payload is not JSON ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("_type") != STATEMENT_TYPE:
        raise StatementError(f"the signed payload is not an in-toto Statement v1 (_type {STATEMENT_TYPE})")
    if doc.get("predicateType") != PREDICATE_TYPE:
        raise StatementError(
            f"the statement's predicate type is {doc.get('predicateType')!r}, not a report attestation "
            f"({PREDICATE_TYPE})"
        )
    pred = doc.get("predicate")
    if not isinstance(pred, dict) or not isinstance(pred.get("report"), dict):
        raise StatementError("the statement's predicate holds no report")
    for key in ("kind", "signed_at"):
        if not isinstance(pred.get(key), str):
            raise StatementError(f"the statement's predicate lacks '{key}'")
    op = pred.get("operator")
    if not isinstance(op, dict) or not isinstance(op.get("name"), str) or not isinstance(op.get("key_id"), str):
        raise StatementError("the statement's predicate lacks the operator's name and key id")
    if not isinstance(doc.get("subject"), list):
        raise StatementError("the statement has no subject list")
    return doc


def subject_problems(stmt: dict[str, Any]) -> list[str]:
    """How the statement's subjects differ from those of the report it carries: empty when they are the same.

    A subject named in the statement with another digest than the report's, one missing, or one added is a
    swapped subject: the statement vouches for something else than the report it holds.
    """
    pred = stmt["predicate"]
    report = pred["report"]
    want = {s["name"]: s["digest"]["sha256"] for s in subjects(report)}
    got: dict[str, Any] = {}
    for s in stmt["subject"]:
        if isinstance(s, dict) and isinstance(s.get("digest"), dict):
            got[str(s.get("name"))] = s["digest"].get("sha256")
    problems = [
        f"{name}: the statement signs {str(got[name])[:16]}…, the report records {want[name][:16]}…"
        for name in want
        if name in got and got[name] != want[name]
    ]
    problems += [f"{name}: in the report, not in the signed subjects" for name in want if name not in got]
    problems += [f"{name}: signed, but not in the report" for name in got if name not in want]
    if pred.get("format") != report.get("format"):
        problems.append(f"format: the statement says {pred.get('format')}, the report is {report.get('format')}")
    if pred.get("environment") != report.get("environment", {}):
        problems.append("environment: the statement's differs from the report's")
    return problems
