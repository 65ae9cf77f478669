"""Handlers of the Isolation tab's population views: the cross-user probe of the store's users, and exposure.

The probe is ``isolation.probe.cross_user_probe`` (the CLI's ``isolation probe``) on the users of the store; the
exposure curve is ``isolation.exposure.exposure_curve`` (hash only, in-process) on the loaded model's contract, with
and without per-user salting, in its report kind (``isolation.exposure_report``).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from engram_probe.isolation.exposure import exposure_curve
from engram_probe.isolation.exposure_report import exposure_report, write_exposure_html
from engram_probe.isolation.probe import cross_user_probe
from engram_probe.isolation.probe_summary import BASE, OTHERS, OWN, READ_NO_EFFECT
from engram_probe.overlays.bridge import model_contract
from engram_probe.report.kernel import attribute
from engram_probe.report.numbers import pct, plural
from engram_probe.report.printing import save_json_report
from workbench.handling import USER_ERRORS, empty_figure, progress_of, warn
from workbench.isolation_proof import listed_users, write_csv
from workbench.state import WorkbenchState

RATE_COLS = ["measure", "answers", "rate", "95% interval"]
CLASS_COLS = ["attribution", "first token", "whole answer"]
SIZES = ("100", "1,000", "10,000")  # population sizes the tab offers (seconds each, in-process)
MAX_FACTS = 20  # facts per synthetic user, at most, in the UI
PROBES = 1000  # probe requests per population size
EXPOSURE_COLS = [
    "users",
    "requests exposed (measured, no salting)",
    "requests exposed (measured, salted per user)",
    "uniform-hash model (derived)",
    "by shared content (no salting)",
    "by shared content (salted)",
]


# --------------------------------------------------------------------------- the cross-user probe
def _interval(r: dict[str, Any]) -> str:
    low, high = r["ci95"]
    return f"{pct(low)} to {pct(high)}"


def rate_rows(result: dict[str, Any]) -> list[list[Any]]:
    """The probe's rates, each with its count and 95% interval, and the paper's beside them."""
    rows = [
        ("the answer's first token is the other user's", result["first_token"]),
        ("the whole answer is the other user's", result["whole_answer"]),
    ]
    if "first_token_own_rows_only" in result:
        rows.append(("first token, served with the asking user's rows only", result["first_token_own_rows_only"]))
    rows.append(("the paper's cross-user probe (first token)", result["paper"]))
    return [[label, f"{r['count']:,} of {r['of']:,}", pct(r["rate"]), _interval(r)] for label, r in rows]


def class_rows(result: dict[str, Any]) -> list[list[Any]]:
    """Every answer served from another user, by what explains it (under both measures)."""
    ft, wa = result["decomposition"]["first_token"], result["decomposition"]["whole_answer"]
    return [
        ["read: reads the other user's rows, and the answer goes without them", ft["read"], wa["read"]],
        [
            "coincidence: the base model gives it (reads none of the other user's rows)",
            ft["coincidence_by_source"][BASE],
            wa["coincidence_by_source"][BASE],
        ],
        [
            "coincidence: the asking user's own rows give it (reads none of the other user's rows)",
            ft["coincidence_by_source"][OWN],
            wa["coincidence_by_source"][OWN],
        ],
        [
            "of those coincidences, proved bit-identical without the other user's rows",
            f"{ft['proved_bit_identical']:,} of {ft['reads_no_owner_row']:,}",
            f"{wa['proved_bit_identical']:,} of {wa['reads_no_owner_row']:,}",
        ],
        ["third users' rows give it", ft[OTHERS], wa[OTHERS]],
        ["reads the other user's rows, but the answer stays without them", ft[READ_NO_EFFECT], wa[READ_NO_EFFECT]],
    ]


def run_probe(state: WorkbenchState, others: str | None, progress: Any = None) -> dict[str, Any]:
    users = listed_users(state, others)
    if len(users) < 2:
        raise ValueError(f"the cross-user probe needs at least two users; the table has {plural(len(users), 'user')}")
    memories = [state.memory(u, "isolation probe") for u in users]
    bar = progress_of(progress, "cross-user probe")
    return cross_user_probe(state.lm.model, state.lm.tokenizer, memories, progress=bar)


def probe_words(result: dict[str, Any]) -> str:
    ft, paper = result["first_token"], result["paper"]
    low, high = ft["ci95"]
    inside = "inside" if low <= paper["rate"] <= high else "outside"
    return (
        f"{plural(len(result['users']), 'user')} ({', '.join(result['users'])}), {plural(result['facts'], 'fact')}: "
        "each user was asked every other user's prompts with the shared table "
        f"({plural(result['probes'], 'question')}). {pct(ft['rate'])} of the answers' first tokens are the other "
        f"user's (95% interval {_interval(ft)}); the paper's {pct(paper['rate'])} is {inside} that interval."
    )


def probe_view(
    state: WorkbenchState, others: str | None, progress: Any = None
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The rates with their intervals, the decomposition per class, and the result in words."""
    try:
        result = run_probe(state, others, progress)
    except USER_ERRORS as exc:
        return pd.DataFrame(columns=RATE_COLS), pd.DataFrame(columns=CLASS_COLS), warn(exc)
    return (
        pd.DataFrame(rate_rows(result), columns=RATE_COLS),
        pd.DataFrame(class_rows(result), columns=CLASS_COLS),
        probe_words(result),
    )


def export_probe(state: WorkbenchState, others: str | None, progress: Any = None) -> tuple[list[str] | None, str]:
    """The whole probe result (every answer served from another user) as JSON, and its two tables as CSV."""
    try:
        result = run_probe(state, others, progress) | {"model_sha256": state.lm.weights_sha256}
        folder = state.download_dir()
        path = folder / "cross-user-probe.json"
        path.write_text(json.dumps(result, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
        files = [
            path,
            write_csv(pd.DataFrame(rate_rows(result), columns=RATE_COLS), folder / "cross-user-probe-rates.csv"),
            write_csv(pd.DataFrame(class_rows(result), columns=CLASS_COLS), folder / "cross-user-probe-classes.csv"),
        ]
    except (*USER_ERRORS, OSError) as exc:
        return None, warn(exc)
    return [str(f) for f in files], f"Cross-user probe written: {probe_words(result)}"


# --------------------------------------------------------------------------- exposure
def sizes_of(chosen: Any) -> list[int]:
    """The population sizes ticked (only those the tab offers)."""
    picked = [str(c) for c in (chosen or [])]
    unknown = [c for c in picked if c not in SIZES]
    if unknown:
        raise ValueError(f"population sizes are chosen from {', '.join(SIZES)} users (got {', '.join(unknown)})")
    if not picked:
        raise ValueError("tick at least one population size")
    return sorted(int(c.replace(",", "")) for c in picked)


def facts_of(facts: Any) -> int:
    try:
        n = int(float(facts))
    except (TypeError, ValueError):
        raise ValueError("facts per user must be a whole number") from None
    if not 1 <= n <= MAX_FACTS:
        raise ValueError(f"facts per user must be between 1 and {MAX_FACTS} here (got {n:,})")
    return n


def run_exposure(state: WorkbenchState, chosen: Any, facts: Any, progress: Any = None) -> list[dict[str, Any]]:
    """Exposure reports of the loaded model's contract: without salting, then salted per user."""
    sizes, n = sizes_of(chosen), facts_of(facts)
    contract = model_contract(state.lm)  # with its tokenizer, as the contract's report rebuilds it
    bar = progress_of(progress, "exposure", phases=2)
    docs = []
    for salted in (False, True):
        result = exposure_curve(contract, sizes, n, PROBES, salted, 0, None, bar)
        docs.append(exposure_report(result, "in-process (the workbench's server)"))
    return docs


def exposure_rows(docs: list[dict[str, Any]]) -> list[list[Any]]:
    plain, salted = (d["result"]["sizes"] for d in docs)
    return [
        [
            f"{a['users']:,}",
            pct(a["exposed_share"]),
            pct(b["exposed_share"]),
            pct(a["derived_exposed_share"]),
            pct(a["exposed_by_content_share"]),
            pct(b["exposed_by_content_share"]),
        ]
        for a, b in zip(plain, salted, strict=True)
    ]


def exposure_figure(docs: list[dict[str, Any]]) -> go.Figure:
    """Measured (salted and not) beside the uniform-hash model, on a log axis of users."""
    plain, salted = (d["result"]["sizes"] for d in docs)
    users = [s["users"] for s in plain]
    fig = go.Figure()
    lines = [
        ("measured, no salting", [100 * s["exposed_share"] for s in plain], dict(color="#1f77b4"), "lines+markers"),
        (
            "measured, salted per user",
            [100 * s["exposed_share"] for s in salted],
            dict(color="#2ca02c"),
            "lines+markers",
        ),
        (
            "uniform-hash model (derived)",
            [100 * s["derived_exposed_share"] for s in plain],
            dict(color="#555555", dash="dash"),
            "lines",
        ),
        (
            "by shared content, no salting",
            [100 * s["exposed_by_content_share"] for s in plain],
            dict(color="#d62728", dash="dot"),
            "lines+markers",
        ),
    ]
    for name, y, line, mode in lines:
        fig.add_trace(
            go.Scatter(x=users, y=y, name=name, mode=mode, line=line, hovertemplate="%{x:,} users: %{y:.3g}%")
        )
    fig.update_layout(
        height=360,
        margin=dict(l=10, r=10, t=40, b=10),
        title="Share of one user's requests that read another user's row",
        xaxis=dict(type="log", title="users in the shared table"),
        yaxis=dict(title="requests exposed", ticksuffix="%", range=[0, 102]),
        legend=dict(orientation="h", y=-0.25),
    )
    return fig


def exposure_words(docs: list[dict[str, Any]]) -> str:
    r = docs[0]["result"]
    name = r["contract"]["contract"]["name"]
    return (
        f"Contract of the loaded model ({name}): {plural(r['facts_per_user'], 'fact')} per synthetic user, "
        f"{r['probe_requests']:,} probe requests per size, hash only (no weights read). Measured: a request is "
        "exposed when any of its reads is a row one of the other users writes. Derived: the uniform-hash model. "
        "Salting removes sharing by content, not by collision."
    )


def exposure_view(
    state: WorkbenchState, chosen: Any, facts: Any, progress: Any = None
) -> tuple[Any, pd.DataFrame, str]:
    try:
        docs = run_exposure(state, chosen, facts, progress)
    except USER_ERRORS as exc:
        return empty_figure(str(exc)), pd.DataFrame(columns=EXPOSURE_COLS), warn(exc)
    return exposure_figure(docs), pd.DataFrame(exposure_rows(docs), columns=EXPOSURE_COLS), exposure_words(docs)


def export_exposure(
    state: WorkbenchState, chosen: Any, facts: Any, progress: Any = None
) -> tuple[list[str] | None, str]:
    """Both exposure reports (no salting, salted) as JSON and HTML, and the table as CSV."""
    try:
        docs = run_exposure(state, chosen, facts, progress)
        folder = state.download_dir()
        files = []
        for doc, tag in zip(docs, ("no-salting", "salted"), strict=True):
            attribute(doc, state.access.current.name)
            stem = folder / f"exposure-{tag}-{doc['digests']['report'][:12]}"
            files += [
                save_json_report(doc, stem.with_suffix(".json")),
                write_exposure_html(doc, stem.with_suffix(".html")),
            ]
        files.append(write_csv(pd.DataFrame(exposure_rows(docs), columns=EXPOSURE_COLS), folder / "exposure.csv"))
    except (*USER_ERRORS, OSError) as exc:
        return None, warn(exc)
    return [
        str(f) for f in files
    ], "Exposure reports written (no salting and salted: JSON and HTML) and the table as CSV."
