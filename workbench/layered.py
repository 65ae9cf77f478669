"""Handlers of the "Layered memory" tab: the shared adapter, conditions A-F for one user, one question at a time.

Thin functions over ``engram_probe.layered``; results are kept per user in the workbench state so that
picking another question costs nothing. Bad input becomes a "⚠" message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from engram_probe.hashaudit.render import token_strip
from engram_probe.layered.adapter import (
    AdapterError,
    AdapterSettings,
    SharedAdapter,
    load_adapter,
    train_shared_adapter,
)
from engram_probe.layered.evaluate import LayeredSettings, evaluate_layered
from engram_probe.layered.report import CONDITION_HEADER, comparison_rows, condition_rows, write_reports
from engram_probe.layered.samples import adapter_corpus
from engram_probe.layered.users import ADAPTER_USERS, TEST_USERS, UsersError, load_layered_users
from engram_probe.report.kernel import attribute
from engram_probe.report.numbers import pct, plural, sig, targets_in_words
from engram_probe.report.printing import PdfError
from workbench.handling import progress_of as _progress
from workbench.handling import warn
from workbench.state import WorkbenchState

ERRORS = (AdapterError, UsersError, PdfError, ValueError, KeyError, OSError)
ANSWER_HEADERS = ["condition", "what", "answer (16 greedy tokens)", "top-1 (paper)", "any (paper)", "exact"]


@dataclass
class LayeredState:
    """Per-session layered data: the adapter, the test users, and finished evaluations by user id."""

    adapter: SharedAdapter | None = None
    adapter_path: str | None = None
    users: list[dict[str, Any]] = field(default_factory=list)
    source: str = TEST_USERS
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    settings: LayeredSettings = field(default_factory=LayeredSettings)  # budgets of an evaluation


def layered(state: WorkbenchState) -> LayeredState:
    if state.layered is None:
        state.layered = LayeredState(users=load_layered_users(TEST_USERS))
    return state.layered


def adapter_status(state: WorkbenchState) -> str:
    ad = layered(state).adapter
    if ad is None:
        return (
            "No shared adapter yet. Train one (on generated users, about a minute at 2,000 steps) or upload an "
            "adapter file made by `engram-probe layered train-adapter` for this model."
        )
    p = ad.provenance
    return (
        f"**Shared adapter** `{ad.digest[:16]}…`: rank {ad.settings.rank} on "
        f"{targets_in_words(ad.settings.target_modules)}, {plural(ad.settings.steps, 'step')} at learning rate "
        f"{sig(ad.settings.lr)}, {ad.params:,} parameters, trained on "
        f"{plural(len(p.get('training_users', [])), 'user')} ({plural(p.get('samples') or 0, 'sample')})."
    )


def user_ids(state: WorkbenchState) -> list[str]:
    return [u["uid"] for u in layered(state).users]


def train_adapter(state: WorkbenchState, steps: float, progress: Any = None) -> str:
    try:
        n = int(steps or 0)
        if n < 1:
            raise ValueError("steps must be at least 1")
        users = load_layered_users(ADAPTER_USERS)
        settings = AdapterSettings(steps=n)
        ad = train_shared_adapter(
            state.lm,
            adapter_corpus(users, settings.seed),
            [u["uid"] for u in users],
            settings,
            _progress(progress, "shared adapter"),
        )
        ad.provenance["users_source"] = ADAPTER_USERS
        path = ad.save(Path(state.workdir) / "shared_adapter.safetensors")
    except ERRORS as exc:
        return warn(exc)
    ls = layered(state)
    ls.adapter, ls.adapter_path, ls.docs = ad, str(path), {}
    return adapter_status(state)


def upload_adapter(state: WorkbenchState, file: Any) -> str:
    path = file if isinstance(file, str) else getattr(file, "name", None)
    if not path:
        return warn(ValueError("choose an adapter file first"))
    try:
        ad = load_adapter(path, state.lm)
    except ERRORS as exc:
        return warn(exc)
    ls = layered(state)
    ls.adapter, ls.adapter_path, ls.docs = ad, str(path), {}
    return adapter_status(state)


def _doc(state: WorkbenchState, uid: str | None) -> dict[str, Any]:
    if not uid:
        raise ValueError("choose a test user first")
    doc = layered(state).docs.get(uid)
    if doc is None:
        raise ValueError(f"press Evaluate for {uid} first")
    return doc


def evaluate_user(state: WorkbenchState, uid: str | None, progress: Any = None) -> tuple[pd.DataFrame, Any, str]:
    """A-F, F-swap (rows of the next test user) and F-zero for one user; returns the condition table."""
    ls = layered(state)
    try:
        if ls.adapter is None:
            raise ValueError("train or upload a shared adapter first")
        ids = user_ids(state)
        if uid not in ids:
            raise ValueError(f"unknown test user {uid!r}")
        i = ids.index(uid)
        partner = ls.users[(i + 1) % len(ids)] if len(ids) > 1 else None
        doc = evaluate_layered(
            state.lm,
            ls.adapter,
            [ls.users[i]],
            ls.settings,
            _progress(progress, "conditions"),
            ls.source,
            ls.adapter_path,
            partner,
        )
    except ERRORS as exc:
        return pd.DataFrame(columns=CONDITION_HEADER), [], warn(exc)
    ls.docs[uid] = doc
    questions = [a["question"] for a in doc["users"][0]["conditions"]["A"]["answers"]]
    agg = doc["aggregate"]
    status = (
        f"{uid}: {len(questions)} indirect questions; the user's rows are never read in "
        f"{pct(agg['share_of_indirect_probes_never_reading_rows'])} of them. "
        + "; ".join(f"{k}: {m} ({ci})" for k, m, ci, _ in comparison_rows(doc) if "indirect_any" in k)
        + " · invariants: "
        + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in doc["invariants"].items())
    )
    return pd.DataFrame(condition_rows(doc), columns=CONDITION_HEADER), questions, status


def show_question(state: WorkbenchState, uid: str | None, question: str | None) -> tuple[str, pd.DataFrame, str]:
    """The question's read map under the user's rows and every condition's answer to it."""
    try:
        doc = _doc(state, uid)
        user = doc["users"][0]
        idx = [a["question"] for a in user["conditions"]["A"]["answers"]].index(question)
    except (ValueError, KeyError) as exc:
        return "", pd.DataFrame(columns=ANSWER_HEADERS), warn(exc)
    ev = user["evidence"][idx]
    first = ev["probe_positions"][0] if ev["probe_positions"] else None
    strip = token_strip(
        {"positions_hit": ev["probe_positions"], "locality": {"first_read": first}, "tokens": ev["tokens"]}
    )
    rows = []
    for name, r in user["conditions"].items():
        a = r["answers"][idx]
        rows.append([name, r["what"], a["answer"], a["top1"], a["any"], a["exact"]])
    gold = user["conditions"]["A"]["answers"][idx]["gold"]
    if ev["probe_positions"]:
        grams = ", ".join(f"{g['ngram']!r} at {g['position']}" for g in ev["probe_ngrams"])
        note = f"Gold: **{gold}**. The question reads the user's rows at {grams}."
    else:
        note = (
            f"Gold: **{gold}**. No position of the question reads the user's rows, so the rows cannot have "
            "changed the answer until a generated token reads one (derived from the read map)."
        )
    if ev["generated_positions"]:
        note += f" Under F, generated tokens {ev['generated_positions']} read a row."
    return strip, pd.DataFrame(rows, columns=ANSWER_HEADERS), note


def export(state: WorkbenchState, uid: str | None, with_pdf: bool) -> tuple[list[str] | None, str]:
    try:
        doc = attribute(_doc(state, uid), state.access.current.name)
        base = state.download_dir() / f"layered-{uid}"
        files = write_reports(doc, f"{base}.json", f"{base}.html", f"{base}.pdf" if with_pdf else None)
    except ERRORS as exc:
        return None, warn(exc)
    return [str(f) for f in files], f"report digest `{doc['digests']['report'][:16]}…`"
