"""Event handlers: plain functions over library calls, so tests can call them without a server.

Every handler returns its outputs plus a status line. Known bad input becomes a readable
message in that status line (prefixed with "⚠"), never a stack trace, and changes nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from engram_probe.arch.describe import model_info
from engram_probe.audit.contrasts import fact_recall, lora_contrast, placement_contrasts
from engram_probe.audit.engine import AuditOptions, ProbeError, encode_probe, heldout_texts, run_audit
from engram_probe.audit.lora import LoraSettings
from engram_probe.audit.readmap import classify_positions, read_map
from engram_probe.hashaudit.report import CONTRACT_REPORT_FORMAT
from engram_probe.layered.evaluate import LAYERED_FORMAT
from engram_probe.memory.operations import write_facts, write_summary
from engram_probe.memory.overlay import MemoryOverlay
from engram_probe.memory.store import StoreError, UnknownUserError
from engram_probe.memory.writing import AnswerError, FactSpec, WriteSettings
from engram_probe.report.document import finalize
from engram_probe.report.figures import change_heatmap, gate_figure, layer_recall, lora_vs_engram, token_strip
from engram_probe.report.kernel import ReportError
from engram_probe.report.kinds import verify_file
from engram_probe.report.printing import PdfError, html_to_pdf
from engram_probe.report.printing import save_json_report as save_report
from engram_probe.report.render import write_html
from engram_probe.report.verify import verify_report
from engram_probe.scale.population_report import POPULATION_FORMAT
from workbench.access import AccessError
from workbench.state import WorkbenchState
from workbench.verify_inputs import verify_with_uploads

USER_ERRORS = (
    ProbeError,
    AnswerError,
    StoreError,
    UnknownUserError,
    ReportError,
    PdfError,
    AccessError,
    ValueError,
    KeyError,
)
WARN = "⚠ "


def warn(exc: BaseException) -> str:
    msg = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return WARN + msg


def empty_figure(message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_layout(height=200, xaxis=dict(visible=False), yaxis=dict(visible=False))
    return fig


def _user(state: WorkbenchState, user_id: str | None, view: str) -> Any:
    if not user_id or not str(user_id).strip():
        raise ValueError("choose a user first")
    return state.memory(str(user_id).strip(), view)


def _progress(progress: Any, label: str) -> Callable[[int, int, str], None] | None:
    if progress is None:
        return None

    def update(step: int, total: int, message: str) -> None:
        progress(step / max(1, total), desc=f"{label}: {message}")

    return update


# ---------------------------------------------------------------- tab 1: model & users
def user_choices(state: WorkbenchState) -> list[str]:
    return state.access.visible(state.store.user_ids())


def model_card(state: WorkbenchState) -> str:
    info = model_info(state.lm)
    c = info["shape"]
    p = info["params"]
    h = info["heldout"]
    twin = f"{h['loss_no_engram']:.4f}" if h.get("loss_no_engram") is not None else "n/a"
    loss = f"{h['loss']:.4f} nats/token (no-Engram twin {twin})" if h.get("loss") is not None else "not recorded"
    where = info["model"]["path"] or "shipped model"
    return (
        f"**Model** {info['model']['architecture']} from `{where}` · digest `{info['model']['sha256'][:16]}…` · "
        f"{c['n_layers']} layers × d_model {c['d_model']} · context {c['n_ctx']} ({c['positions']} positions; "
        f"audits up to {c['max_tokens']:,} tokens) · ≥{c['rows_per_head_min']:,} rows per hash head · "
        f"Engram layers {c['engram_layers']} · {info['rows_per_position_per_layer']} rows read per position per "
        f"Engram layer\n\n**Parameters** {p['total']:,} total, {p['engram_tables']:,} in Engram tables · "
        f"**held-out loss** {loss}\n\n"
        f"**Base weights digest now** `{state.base_digest_now[:16]}…` "
        f"({'unchanged' if state.base_digest_now == state.lm.weights_sha256 else 'CHANGED'} since load)"
    )


def show_user(state: WorkbenchState, user_id: str | None) -> tuple[str, pd.DataFrame, str]:
    cols = ["fact_id", "trigger", "answer", "gold token", "strategy", "layer", "rows", "bytes"]
    try:
        mem = _user(state, user_id, "facts")
    except USER_ERRORS as exc:
        return model_card(state), pd.DataFrame(columns=cols), warn(exc)
    rows = [
        [f.fact_id, f.triggers[0], f.answer, f.gold_token, f.strategy, f.layer, len(f.rows), f.bytes] for f in mem.facts
    ]
    s = mem.summary()
    status = (
        f"User **{mem.user_id}**: {s['facts']} facts, {s['rows']} distinct rows, {s['bytes']:,} bytes · "
        f"memory digest `{s['digest'][:16]}…`"
    )
    return model_card(state), pd.DataFrame(rows, columns=cols), status


# ---------------------------------------------------------------- tab 2: write a fact
def write_fact(
    state: WorkbenchState, user_id: str, prompt: str, answer: str, strategy: str, layer: str, progress: Any = None
) -> tuple[str, pd.DataFrame, str]:
    cols = ["layer", "row", "head", "order"]
    try:
        uid = (user_id or "").strip()
        if not uid:
            raise ValueError("enter a user id (a new id creates the user)")
        if not prompt or not prompt.strip():
            raise ValueError("the trigger prompt is empty")
        if answer is None or not str(answer).strip():
            raise AnswerError("the answer is empty")
        op = state.access.require("write", uid)
        result, entry = write_facts(
            state.lm,
            state.store,
            uid,
            [FactSpec.of(prompt.strip(), str(answer).strip())],
            strategy,
            layer,
            WriteSettings(),
            _progress(progress, strategy),
            operator=op.name,
        )
    except USER_ERRORS as exc:
        return warn(exc), pd.DataFrame(columns=cols), ""
    out = write_summary(result, entry)
    rows = []
    for layer_id, row in out["rows"]:
        info = state.lm.model.hasher.head_of_row(layer_id, row)
        rows.append([layer_id, row, info.head, info.order])
    r = out["recall"]
    md = (
        f"Wrote fact `{out['fact_id']}` for **{uid}** with **{strategy}** into Engram layer {out['layer']}: "
        f"{len(out['rows'])} rows, {out['bytes']:,} bytes, {out['cost_ms']:.0f} ms.\n\n"
        f"Gold token `{out['facts'][0]['gold_token']}`: rank **{r['rank_before']} → {r['rank_after']}** at the "
        f"trigger's last position."
    )
    return md, pd.DataFrame(rows, columns=cols), f"ledger entry {entry.seq}: memory {entry.digest_after[:16]}…"


# ---------------------------------------------------------------- tabs 3 and 4: audit views
def _queued(state: WorkbenchState, text: str, progress: Any) -> Any:
    """Hold the audit memory budget for this probe's tokens, telling the caller how many audits are ahead."""
    tokens = len(encode_probe(state.lm, text or ""))

    def waiting(ahead: int) -> None:
        if progress is not None:
            progress(0.0, desc=f"Queued: {ahead} audit{'s' if ahead != 1 else ''} ahead (memory budget)")

    return state.budget.hold(tokens, waiting)


def _audit(state: WorkbenchState, user_id: str, text: str, progress: Any = None) -> dict[str, Any]:
    mem = _user(state, user_id, "audit")
    source = {"kind": "store", "path": str(state.store.path), "user": mem.user_id}
    with _queued(state, text, progress):
        return run_audit(state.lm, mem, text or "", source)


def switch_on(
    state: WorkbenchState, user_id: str, text: str, progress: Any = None
) -> tuple[go.Figure, go.Figure, pd.DataFrame, str]:
    cols = [
        "position",
        "token",
        "layer",
        "heads hit",
        "α before",
        "α after",
        "gold rank before",
        "gold rank after",
        "top-5 before",
        "top-5 after",
        "cos(Δout, W_V·row)",
        "lens: promoted",
    ]
    try:
        rep = _audit(state, user_id, text, progress)
    except USER_ERRORS as exc:
        return empty_figure(str(exc)), empty_figure(""), pd.DataFrame(columns=cols), warn(exc)
    strip, strip_cap = token_strip(rep)
    gate, gate_cap = gate_figure(rep)
    rows = []
    for v in rep["value_path"]:
        p = rep["positions"][v["position"]]
        g = p["gates"][str(v["layer"])]
        rows.append(
            [
                v["position"],
                p["token"],
                v["layer"],
                v["heads_hit"],
                round(g["before"], 4),
                round(g["after"], 4),
                p["gold_rank_before"],
                p["gold_rank_after"],
                " ".join(t["token"] for t in v["top_before"]),
                " ".join(t["token"] for t in v["top_after"]),
                round(v["cos_delta_out_wv_row"], 3),
                " ".join(t["token"] for t in v["lens_engram_delta"]),
            ]
        )
    gold = rep["gold"]
    status = (
        f"{strip_cap}\n\n{gate_cap}\n\nGold token for ranks: `{gold['token']}` (fact `{gold['fact_id']}`: "
        f"{gold['trigger']!r} → {gold['answer']!r})."
    )
    return strip, gate, pd.DataFrame(rows, columns=cols), status


def locality_proof(
    state: WorkbenchState, user_id: str, text: str, progress: Any = None
) -> tuple[go.Figure, pd.DataFrame, str]:
    cols = ["position", "token", "class", "rows hit", "conv from write sites"]
    try:
        rep = _audit(state, user_id, text, progress)
    except USER_ERRORS as exc:
        return empty_figure(str(exc)), pd.DataFrame(columns=cols), warn(exc)
    fig, caption = change_heatmap(rep)
    s = rep["summary"]
    verdict = (
        f"**Untouched positions are bit-exact: {'YES' if s['untouched_bit_exact'] else 'NO'}.** "
        f"{s['values_compared']:,} values compared ({s['bytes_compared']:,} bytes, {s['pairs_compared']:,} "
        f"(hook, position) pairs over {s['hooks_compared']} hooks) at {s['positions']['untouched']} untouched "
        f"positions of {rep['probe']['n_tokens']} tokens; {s['positions']['write_site']} write sites, "
        f"{s['positions']['downstream']} downstream."
    )
    if not s["untouched_bit_exact"]:
        verdict += f" {rep['proof']['mismatch_count']} pairs differ: the overlay leaks."
    rows = [
        [p["index"], p["token"], p["class"], p["rows_hit"], ", ".join(map(str, p["conv_from_write_sites"]))]
        for p in rep["positions"]
    ]
    return fig, pd.DataFrame(rows, columns=cols), verdict + "\n\n" + caption + "\n\n" + rep["rules"]["classes"]


# ---------------------------------------------------------------- tab 5: wrong layer
def wrong_layer(
    state: WorkbenchState, user_id: str, n_facts: float = 6, strategy: str = "user's own", progress: Any = None
) -> tuple[go.Figure, pd.DataFrame, str]:
    cols = ["setting", "layer", "recall top-1", "recall top-5", "mean gold probability"]
    try:
        mem = _user(state, user_id, "wrong layer")
        chosen = None if not strategy or strategy == "user's own" else strategy
        c = placement_contrasts(
            state.lm, mem, max(1, int(n_facts or 6)), WriteSettings(), _progress(progress, "contrasts"), chosen
        )
    except USER_ERRORS as exc:
        return empty_figure(str(exc)), pd.DataFrame(columns=cols), warn(exc)
    fig, caption = layer_recall({"contrasts": c}) or (empty_figure(""), "")
    settings = [
        ("no edit", "-", c["no_edit"]),
        ("right layer", c["right_layer"]["layer"], c["right_layer"]),
        ("wrong layer", c["wrong_layer"]["layer"], c["wrong_layer"]),
        ("wrong address", c["right_layer"]["layer"], c["wrong_address"]),
    ]
    rows = [[name, layer, r["recall_top1"], r["recall_top5"], r.get("gold_prob_mean")] for name, layer, r in settings]
    return fig, pd.DataFrame(rows, columns=cols), caption


# ---------------------------------------------------------------- tab 6: LoRA contamination
def _sig(value: float | None) -> float | None:
    """Six significant digits for the table: a tiny non-zero change stays visible, an exact 0 stays 0."""
    return None if value is None else float(f"{value:.6g}")


def lora_contamination(
    state: WorkbenchState, user_id: str, text: str, progress: Any = None
) -> tuple[go.Figure, pd.DataFrame, str]:
    cols = [
        "method",
        "bytes",
        "recall top-1",
        "untouched (hook, position) values changed",
        "held-out text values changed",
        "held-out loss change (nats/token)",
    ]
    try:
        mem = _user(state, user_id, "lora contrast")
        # only the position classes are needed here, not a whole audit: the hash alone gives them
        ids = encode_probe(state.lm, text or "")
        classes = classify_positions(len(ids), read_map(state.lm.model.hasher, MemoryOverlay([mem]), ids))
        untouched = [t for t, c in enumerate(classes) if c == "untouched"]
        ranks = fact_recall(state.lm, mem.facts, MemoryOverlay([mem]))
        target = sum(r == 1 for r in ranks) / len(ranks)
        t0 = time.perf_counter()
        lora, cached = state.lora_for(mem, target, LoraSettings(), _progress(progress, "LoRA"))
        part, _ = lora_contrast(state.lm, mem, ids, untouched, heldout_texts(4, 12345), lora=lora)
    except USER_ERRORS as exc:
        return empty_figure(str(exc)), pd.DataFrame(columns=cols), warn(exc)
    positions = [{"index": t, "token": state.lm.tokenizer.token_text(tok)} for t, tok in enumerate(ids)]
    rep = {"positions": positions, "contrasts": {**part, "facts_used": len(mem.facts)}}
    fig, caption = lora_vs_engram(rep) or (empty_figure(""), "")
    held = part["heldout_loss"]
    rows = [
        [
            "Engram rows",
            part["engram"]["bytes"],
            part["engram"]["recall_top1"],
            _sig(part["engram"]["untouched_changed_fraction"]),
            _sig(part["engram"].get("heldout_changed_fraction")),
            _sig(held["engram_delta"]),
        ],
        [
            f"LoRA rank {part['lora']['rank']} ({part['lora']['steps']} steps)",
            part["lora"]["bytes"],
            part["lora"]["recall_top1"],
            _sig(part["lora"]["untouched_changed_fraction"]),
            _sig(part["lora"].get("heldout_changed_fraction")),
            _sig(held["lora_delta"]),
        ],
    ]
    note = (
        f"**LoRA:** {part['lora']['note']}; {'reused from cache' if cached else 'trained now'} "
        f"({time.perf_counter() - t0:.1f} s for this view). " + part["excluded_hooks_rule"]
    )
    return fig, pd.DataFrame(rows, columns=cols), caption + "\n\n" + note


# ---------------------------------------------------------------- tab 7: export and verify
def export_report(
    state: WorkbenchState, user_id: str, text: str, contrast: bool, progress: Any = None
) -> tuple[list[str] | None, str]:
    try:
        mem = _user(state, user_id, "report")
        source = {"kind": "store", "path": str(state.store.path), "user": mem.user_id}
        with _queued(state, text, progress):
            body = run_audit(
                state.lm,
                mem,
                text or "",
                source,
                AuditOptions(contrast=bool(contrast)),
                progress=_progress(progress, "contrasts") if contrast else None,
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
        + "."
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
        elif isinstance(doc, dict) and doc.get("format") in (LAYERED_FORMAT, POPULATION_FORMAT):
            # population reports re-run from the preset contract; layered ones on the adapter loaded here
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
    rows = [[c["check"], "✔" if c["ok"] else "✘", c["detail"]] for c in result["checks"]]
    verdict = (
        "**VERIFIED** — every digest matches and re-running the audit reproduced every claim."
        if result["ok"]
        else "**NOT VERIFIED** — " + "; ".join(c["detail"] for c in result["checks"] if not c["ok"])
    )
    return verdict, pd.DataFrame(rows, columns=cols)
