"""The isolation report: the proof of one user against a shared table as JSON with digests, HTML, and its verify.

Verify re-builds the shared table from the store (and any overlay files) the report names, checks the model's and
the table's digests, re-runs the proof on the same texts and compares every claim.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from engram_probe.arch.loaded import LoadedModel, ModelFileError
from engram_probe.isolation.prove import prove
from engram_probe.isolation.shared import SharedTable, table_from
from engram_probe.memory.store import MemoryStore, StoreError
from engram_probe.memory.transfer import file_sha256
from engram_probe.overlays.rowset import OverlayFileError
from engram_probe.report.checks import differing_fields, outcome
from engram_probe.report.html import created_line, escape, html_page, table
from engram_probe.report.kernel import PROVENANCE, body_digest, differences, environment, finalize

ISOLATION_FORMAT = "engram-probe-isolation/1"
VOLATILE = PROVENANCE | {"digests", "environment", "path"}


def model_record(lm: LoadedModel) -> dict[str, Any]:
    return {
        "sha256": lm.weights_sha256,
        "architecture": lm.model.architecture,
        "path": None if lm.path is None else str(lm.path),
        "engram_path": None if lm.engram_path is None else str(lm.engram_path),
    }


def build_report(
    lm: LoadedModel,
    shared: SharedTable,
    source: dict[str, Any],
    user: str,
    texts: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """The isolation report of ``user`` against the shared table (``source``: ``table_from``'s record)."""
    body = prove(shared, user, texts, progress)
    doc = {
        "format": ISOLATION_FORMAT,
        "model": model_record(lm),
        "table": shared.summary() | {"source": source},
        "options": {"texts": list(texts) if texts else None},
        **body,
        "environment": environment(),
    }
    doc = json.loads(json.dumps(doc))  # the JSON types a saved report has (tuples become lists)
    return finalize(doc, {"model": lm.weights_sha256, "table": shared.digest()})


# --------------------------------------------------------------------------- verify
def verify_isolation(doc: dict[str, Any], o: Any) -> dict[str, Any]:
    """Re-derive an isolation report (``o``: the registry's ``VerifyOptions``): {ok, checks, mismatches}."""
    from engram_probe.arch.loading import open_model

    checks: list[dict[str, Any]] = []

    def check(name: str, ok: bool, passed: str, failed: str) -> bool:
        checks.append(outcome(name, ok, passed, failed))
        return ok

    def stop() -> dict[str, Any]:
        return {"ok": False, "checks": checks, "mismatches": []}

    digest, recorded = body_digest(doc), str(doc["digests"].get("report"))
    check(
        "report digest",
        digest == recorded,
        f"the report's body hashes to its recorded digest ({digest[:16]}…)",
        f"the report's body hashes to {digest[:16]}…, not its recorded {recorded[:16]}…: it was edited after it "
        "was written",
    )
    hints = o.open_files and o.lm is None  # a report's paths are followed only in the CLI

    def hint(where: Any, is_there: Callable[[Path], bool]) -> str | None:
        return where if hints and isinstance(where, str) and is_there(Path(where)) else None

    lm = o.lm
    if lm is None:
        try:
            lm = open_model(
                o.model_dir or hint(doc["model"].get("path"), Path.is_dir),
                engram=o.engram_dir or hint(doc["model"].get("engram_path"), Path.is_dir),
            )
        except ModelFileError as exc:
            check("model", False, "", f"cannot load the model: {exc}")
            return stop()
    named = str(doc["model"]["sha256"])
    if not check(
        "model digest",
        lm.weights_sha256 == named == doc["digests"].get("model"),
        f"the loaded model's weights match the report's digest ({named[:16]}…)",
        f"the loaded model's weights hash to {lm.weights_sha256[:16]}…, not the report's {named[:16]}…",
    ):
        return stop()
    source = doc["table"]["source"]
    files = source.get("overlays", [])
    store_users = source["users"][: len(source["users"]) - len(files)]
    try:
        shared = _rebuild(lm, doc, o, hint, store_users, files)
    except (StoreError, OverlayFileError, KeyError, ValueError) as exc:
        check("shared table", False, "", f"cannot rebuild the shared table: {exc}")
        return stop()
    named = str(doc["table"]["sha256"])
    if not check(
        "table digest",
        shared.digest() == named == doc["digests"].get("table"),
        f"the rebuilt shared table of {len(shared.users):,} users matches the report's digest ({named[:16]}…)",
        f"the rebuilt shared table hashes to {shared.digest()[:16]}…, not the report's {named[:16]}…: a user's "
        "facts changed since, or it is another store; nothing was re-run",
    ):
        return stop()
    texts = doc["options"].get("texts")
    fresh = build_report(lm, shared, source, doc["user"], texts)
    env, fenv = doc.get("environment", {}), fresh["environment"]
    same = all(env.get(k) == fenv.get(k) for k in ("torch", "threads", "cpu_kernels"))
    tol = 0.0 if same else 1e-5 if env.get("cpu_kernels") == fenv.get("cpu_kernels") else 1e-3
    mismatches = differences(doc, fresh, VOLATILE, tol)
    how = "with the same torch, threads and CPU kernels" if same else f"in another environment, within {tol:g}"
    check(
        "re-run",
        not mismatches,
        f"the re-run proof ({how}) reproduced every claim",
        f"the re-run proof ({how}) differs in {len(mismatches):,} values: {differing_fields(mismatches)}",
    )
    said, again = doc["summary"]["status"], fresh["summary"]["status"]
    check(
        "verdict",
        said == again,
        f"the re-run confirms the verdict ({said})",
        f"the report's verdict is that isolation {said}; the re-run finds it {again}",
    )
    return {"ok": all(c["ok"] for c in checks), "checks": checks, "mismatches": mismatches[:50]}


def _rebuild(
    lm: LoadedModel,
    doc: dict[str, Any],
    o: Any,
    hint: Callable[[Any, Callable[[Path], bool]], str | None],
    store_users: list[str],
    files: list[dict[str, Any]],
) -> SharedTable:
    paths = []
    for f in files:
        where = hint(f.get("path"), Path.is_file)
        if where is None:
            raise ValueError(f"the overlay file of user {f.get('user')!r} is not at the place the report names")
        if file_sha256(where) != f.get("sha256"):
            raise ValueError(f"the overlay file at {where} is not the one the report was made with (its digest)")
        paths.append(where)
    policy = doc["table"]["policy"]
    if not store_users:
        return table_from(lm, None, None, paths, policy)[0]
    if o.store is not None:
        return table_from(lm, o.store, store_users, paths, policy)[0]
    where = o.store_path or hint(doc["table"]["source"].get("path"), Path.is_file)
    if where is None:
        raise ValueError("the report's store is not at the place it names; give the store to verify against")
    with MemoryStore(where, lm.weights_sha256, mode="read") as store:
        return table_from(lm, store, store_users, paths, policy)[0]


# --------------------------------------------------------------------------- HTML
MARKS = {"holds": "ok", "scoped": "scoped", "does not hold": "bad"}  # green, amber, red (as the UI's tab)
SHARED_ROWS_SHOWN = 40  # every collision first, then rows shared by content; the JSON holds them all


def _pct(x: float) -> str:
    return f"{100 * x:.3g}%"


def render_html(doc: dict[str, Any]) -> str:
    """The report as a standalone page: the verdict, the table, then each text's proof and foreign reads."""
    s, t = doc["summary"], doc["table"]
    mark = MARKS[s["status"]]
    shared = sorted(t["shared_rows"], key=lambda r: r["sharing"] == "content")  # collisions first: the rarer kind
    shown = shared[:SHARED_ROWS_SHOWN]
    left = len(shared) - len(shown)
    parts = [
        f"<h1>Isolation of {escape(doc['user'])} in a shared table</h1>",
        f"<p class='cap'>{created_line(doc)}.</p>",
        f"<p class='verdict {mark}'>{escape(s['verdict'])}</p>",
        "<h2>The shared table</h2>",
        table(
            ["users", "rows", "rows written by two or more users", "by content", "by hash collision", "policy"],
            [
                [
                    len(t["users"]),
                    f"{t['rows']:,}",
                    f"{t['shared_count']:,}",
                    f"{t['by_content']:,}",
                    f"{t['by_hash_collision']:,}",
                    t["policy_rule"],
                ]
            ],
        ),
        table(
            ["layer", "row", "written by", "value kept", "how"],
            [
                [r["layer"], f"{r['row']:,}", ", ".join(o["user"] for o in r["owners"]), r["winner"], r["sharing"]]
                for r in shown
            ],
        ),
        f"<p class='cap'>{left:,} more shared rows (by content) in the JSON report.</p>" if left else "",
        "<h2>The proof, text by text</h2>",
        f"<p class='cap'>{escape(doc['rules']['derived'])}. {escape(doc['rules']['measured'])}.</p>",
    ]
    for i, p in enumerate(doc["probes"], 1):
        proof = p["proof"]
        parts += [
            f"<h2>Text {i}</h2><p class='probe'>{escape(p['probe']['text'])}</p>",
            f"<p class='verdict {MARKS[p['status']]}'>{escape(p['verdict'])}</p>",
            f"<p class='cap'>{proof['pairs_compared']:,} hook values at {p['first_foreign_read'] or p['positions']:,} "
            f"positions compared ({proof['bytes_compared']:,} bytes): "
            f"{'all identical' if proof['identical'] else str(proof['mismatch_count']) + ' differ'}.</p>",
        ]
        if proof["mismatches"]:
            parts.append(
                table(
                    ["hook", "position", "largest difference"],
                    [[m["hook"], m["position"], f"{m.get('max_abs_diff', 0):.3g}"] for m in proof["mismatches"]],
                )
            )
        if p["reads"]:
            parts.append(
                table(
                    ["position", "layer", "row", "user", "facts", "n-gram", "how"],
                    [
                        [
                            r["position"],
                            r["layer"],
                            f"{r['row']:,}",
                            r["user"],
                            ", ".join(r["facts"]),
                            repr(r["ngram"]["text"]),
                            r["sharing"],
                        ]
                        for r in p["reads"]
                    ],
                )
            )
            parts.append(
                table(
                    ["position", "change in the answer distribution", "top-1 alone", "top-1 shared", "top-1 changed"],
                    [
                        [
                            m["position"],
                            _pct(m["total_variation"]),
                            repr(m["top1_alone"]["text"]),
                            repr(m["top1_shared"]["text"]),
                            "yes" if m["top1_changed"] else "no",
                        ]
                        for m in p["movement"]
                    ],
                )
            )
    parts.append(
        "<h2>Digests</h2>"
        + table(
            ["of", "sha256"],
            [
                ["model", doc["digests"]["model"]],
                ["shared table", doc["digests"]["table"]],
                ["report", doc["digests"]["report"]],
            ],
        )
    )
    return html_page(f"Isolation of {doc['user']}", parts)
