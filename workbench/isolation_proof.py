"""Handlers of the Isolation tab's proof: one user against every other user of a shared table.

The users and the table come from the app's store (``isolation.shared.table_from``), the proof and its report from
``isolation.prove_report.build_report`` (the CLI's ``isolation prove``); this module only turns them into words, a
table of the foreign reads, a per-position strip, and download files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from engram_probe.isolation.prove import FAILS, HOLDS, SCOPED
from engram_probe.isolation.prove_report import build_report
from engram_probe.isolation.shared import CONTENT, MergeRefused, SharedTable, merge
from engram_probe.memory.user_memory import UserMemory
from engram_probe.report.kernel import attribute
from engram_probe.report.kinds import write_html
from engram_probe.report.numbers import pct, plural
from engram_probe.report.printing import PdfError, html_to_pdf, save_json_report
from workbench.handling import USER_ERRORS, empty_figure, progress_of, warn
from workbench.state import WorkbenchState
from workbench.used import used_line
from workbench.users_tab import FAIL, PASS

AMBER = "#b45309"  # a scoped verdict: independent up to a named position
LATE = "#fbbf24"  # positions after the first foreign read (they may depend on another user's data)
POLICY_WORDS = {"last write wins": "last-write-wins", "refuse": "refuse"}
STATUS_COLOUR = {HOLDS: PASS, SCOPED: AMBER, FAILS: FAIL}
STATUS_WORDS = {HOLDS: "Holds", SCOPED: "Scoped", FAILS: "Does not hold"}
READ_COLS = [
    "text",
    "position",
    "n-gram read",
    "layer",
    "row",
    "owner",
    "owner's fact",
    "how it is shared",
    "change in the answer distribution",
    "top-1 (own rows → shared table)",
    "top-1 changed",
]
TEXT_COLS = ["text", "probe", "tokens", "independent positions", "verdict"]
MAX_READS = 500  # rows of the foreign-read table shown (the export holds every read)
MAX_TEXTS = 50  # probe texts one proof in the UI takes


def split_users(text: str | None) -> list[str]:
    """User ids from a comma- or line-separated list, in the order given."""
    return [u.strip() for u in (text or "").replace("\n", ",").split(",") if u.strip()]


def listed_users(state: WorkbenchState, others: str | None) -> list[str]:
    """The users listed, in the order given (default: every user of the store this operator may read, in id order)."""
    listed = split_users(others) or state.access.visible(state.store.user_ids())
    if not listed:
        raise ValueError("there are no users in the store yet: write a fact first")
    if len(set(listed)) != len(listed):
        raise ValueError(f"a user is listed twice among the users of the table: {', '.join(listed)}")
    return listed


def serving_order(state: WorkbenchState, user: str, others: str | None) -> list[str]:
    """The users of the shared table in serving order: those listed, with the chosen user added last when not."""
    listed = listed_users(state, others)
    return listed if user in listed else [*listed, user]


def table_memories(state: WorkbenchState, user: str | None, others: str | None) -> tuple[str, list[UserMemory]]:
    """The chosen user and every memory of the table (each read is checked against the operator and recorded)."""
    uid = (user or "").strip()
    if not uid:
        raise ValueError("choose a user first")
    return uid, [state.memory(u, "isolation") for u in serving_order(state, uid, others)]


def shared_table(
    state: WorkbenchState, user: str | None, others: str | None, policy: str
) -> tuple[str, SharedTable, dict[str, Any]]:
    """The chosen user, the shared table and its source record; a refused merge is one sentence."""
    if policy not in POLICY_WORDS:
        raise ValueError(f"choose a merge policy: {' or '.join(POLICY_WORDS)}")
    uid, memories = table_memories(state, user, others)
    try:
        table = merge(state.lm, memories, POLICY_WORDS[policy])
    except MergeRefused as exc:
        who = str(exc).split("): ", 1)[0] + ")"  # the count and the users; the rows are in the merge's own message
        raise ValueError(f"the merge is refused: {who}. Choose last write wins to build the table anyway") from exc
    # the record ``table_from`` makes of a table built from the store, so that the report's verify rebuilds it
    source = {"path": str(state.store.path), "users": table.users, "overlays": []}
    return uid, table, source


def fact_names(memories: Sequence[UserMemory]) -> dict[tuple[str, str], str]:
    """Each fact as people know it: "trigger → answer", by (user, fact id)."""
    return {(m.user_id, f.fact_id): f"{f.triggers[0]} → {f.answer}" for m in memories for f in m.facts}


def table_words(table: SharedTable) -> str:
    """The shared table in one sentence: its users in order, its rows, the rows two users write and who keeps them."""
    s = table.summary()
    users = table.users
    rule = (
        f"last write wins: {users[-1]} is listed last and keeps every row it shares"
        if table.policy == "last-write-wins"
        else "refuse: no two users share a row"
    )
    shared = (
        f"{plural(s['shared_count'], 'row')} written by two or more users ({s['by_content']:,} by shared content, "
        f"{s['by_hash_collision']:,} by hash collision)"
        if s["shared_count"]
        else "no row is written by two users, so the proof holds at every position of every text"
    )
    return (
        f"Shared table of {plural(len(users), 'user')} in serving order ({', '.join(users)}; {rule}): "
        f"{plural(s['rows'], 'row')}, {shared}."
    )


def verdict_markdown(doc: dict[str, Any], shown: int = 10) -> str:
    """The verdict in its colour (green holds, amber scoped, red does not hold), then each text's sentence."""
    s = doc["summary"]
    colour = STATUS_COLOUR[s["status"]]
    lines = [f'<span style="color:{colour};font-weight:600">{STATUS_WORDS[s["status"]]}: {s["verdict"]}.</span>']
    for i, p in enumerate(doc["probes"][:shown], 1):
        c = STATUS_COLOUR[p["status"]]
        lines.append(f'- text {i}: <span style="color:{c}">{p["verdict"]}</span>')
    if len(doc["probes"]) > shown:
        lines.append(f"- and {plural(len(doc['probes']) - shown, 'more text')} (in the table and the export)")
    if not s["foreign_reads"]:
        lines.append(
            f"\nNo position of any text reads another user's row: {s['hooks_compared']:,} hook values compared "
            "byte for byte with the user's rows alone."
        )
        return "\n".join(lines)
    moved = s["max_total_variation"]
    lines.append(
        f"\n{plural(s['foreign_reads'], 'read')} of another user's row"
        + (f" ({', '.join(s['foreign_users'])})" if s["foreign_users"] else "")
        + f"; the answer distribution moved by at most {pct(moved)} (total variation) and the top-1 token changed "
        f"at {plural(s['top1_changes'], 'position')}. {s['hooks_compared']:,} hook values compared byte for byte "
        "before each text's first foreign read."
    )
    return "\n".join(lines)


def read_rows(doc: dict[str, Any], names: dict[tuple[str, str], str]) -> list[list[Any]]:
    """One row per foreign read: where, through which n-gram, whose row and fact, and how far the output moved."""
    rows = []
    for i, p in enumerate(doc["probes"], 1):
        moved = {m["position"]: m for m in p["movement"]}
        for r in p["reads"]:
            m = moved.get(r["position"])
            rows.append(
                [
                    i,
                    r["position"],
                    repr(r["ngram"]["text"]),
                    r["layer"],
                    f"{r['row']:,}",
                    r["user"],
                    "; ".join(names.get((r["user"], f), f) for f in r["facts"]),
                    "shared content" if r["sharing"] == CONTENT else r["sharing"],
                    pct(m["total_variation"]) if m else "—",
                    f"{m['top1_alone']['text']!r} → {m['top1_shared']['text']!r}" if m else "—",
                    ("yes" if m["top1_changed"] else "no") if m else "—",
                ]
            )
    return rows


def text_rows(state: WorkbenchState, doc: dict[str, Any]) -> list[list[Any]]:
    """One row per probe text: the text as fed (teacher-forced, without the start token), how far it is proved."""
    tok = state.lm.tokenizer
    rows = []
    for i, p in enumerate(doc["probes"], 1):
        k = p["independent_positions"]
        upto = "none proved" if k is None else "all" if k == p["positions"] else f"0..{k - 1}" if k else "none"
        text = tok.decode([t for t in p["probe"]["token_ids"] if t != tok.bos_id])
        rows.append([i, text, p["positions"], upto, STATUS_WORDS[p["status"]].lower()])
    return rows


def _cell(p: dict[str, Any], t: int, tokens: list[str]) -> tuple[int, str]:
    """A position's class (0 proved identical, 1 after the first foreign read, 2 reads a foreign row, 3 differs)
    and its hover text."""
    reads = [r for r in p["reads"] if r["position"] == t]
    differs = [m for m in p["proof"]["mismatches"] if m["position"] == t]
    k = p["first_foreign_read"] if p["first_foreign_read"] is not None else p["positions"]
    head = f"position {t} {tokens[t]!r}"
    if differs:
        return 3, f"{head}<br>differs between the shared table and the user's rows alone (hook {differs[0]['hook']})"
    if reads:
        owners = sorted({f"{r['user']} row {r['row']:,} (layer {r['layer']})" for r in reads})
        return 2, f"{head}<br>reads another user's row: " + "<br>".join(owners[:6])
    if t < k:
        return 0, f"{head}<br>proved bit-identical with the user's rows alone"
    return 1, f"{head}<br>after the first foreign read: may depend on another user's data"


def strip_figure(state: WorkbenchState, doc: dict[str, Any]) -> go.Figure:
    """One row per probe text, one cell per position: proved identical, after the first foreign read, a read."""
    z, hover, labels = [], [], []
    width = max(p["positions"] for p in doc["probes"])
    for p in doc["probes"]:
        tokens = [state.lm.tokenizer.token_text(i) for i in p["probe"]["token_ids"]]
        cells = [_cell(p, t, tokens) for t in range(p["positions"])]
        pad = width - len(cells)
        z.append([c for c, _ in cells] + [None] * pad)
        hover.append([h for _, h in cells] + [""] * pad)
        labels.append([tok.replace(" ", "·") for tok in tokens] + [""] * pad)
    small = width <= 40
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(range(width)),
            y=[f"text {i}" for i in range(1, len(z) + 1)],
            text=labels if small else None,
            texttemplate="%{text}" if small else None,
            hovertext=hover,
            hoverinfo="text",
            zmin=0,
            zmax=3,
            colorscale=[[0, PASS], [1 / 3, LATE], [2 / 3, AMBER], [1, FAIL]],
            showscale=False,
            xgap=2,
            ygap=2,
        )
    )
    fig.update_layout(
        height=110 + 34 * len(z),
        margin=dict(l=10, r=10, t=40, b=10),
        title="Per position: green proved bit-identical, amber reads another user's row, yellow after it",
        xaxis=dict(title="position", dtick=1 if small else None),
        yaxis=dict(autorange="reversed"),
    )
    return fig


def probe_texts(text: str | None) -> list[str] | None:
    """The probe texts given, one per line (None: the user's facts' triggers followed by their answers)."""
    texts = [t for t in (text or "").splitlines() if t.strip()]
    if len(texts) > MAX_TEXTS:
        raise ValueError(f"give at most {MAX_TEXTS} probe texts at a time (got {len(texts):,})")
    return texts or None


def run_proof(
    state: WorkbenchState, user: str | None, others: str | None, policy: str, text: str | None, progress: Any = None
) -> tuple[dict[str, Any], SharedTable]:
    """The isolation report of the chosen user against the shared table (the report kind's builder)."""
    uid, table, source = shared_table(state, user, others, policy)
    bar = progress_of(progress, "proving")
    step = (lambda i, n: bar(i, n, f"text {i:,} of {n:,}")) if bar else None
    return build_report(state.lm, table, source, uid, probe_texts(text), step), table


def prove_view(
    state: WorkbenchState, user: str | None, others: str | None, policy: str, text: str | None, progress: Any = None
) -> tuple[str, pd.DataFrame, Any, pd.DataFrame, str]:
    """The verdict, the foreign reads, the per-position strip, the texts, and a status line."""
    try:
        doc, table = run_proof(state, user, others, policy, text, progress)
    except USER_ERRORS as exc:
        return warn(exc), pd.DataFrame(columns=READ_COLS), empty_figure(str(exc)), pd.DataFrame(columns=TEXT_COLS), ""
    rows = read_rows(doc, fact_names(table.overlay.memories))
    status = table_words(table)
    if len(rows) > MAX_READS:
        status += f" The table lists the first {MAX_READS:,} of {len(rows):,} foreign reads; the export holds all."
    status += "\n\n" + used_line(layers=table.overlay.layers, env=doc["environment"])
    return (
        verdict_markdown(doc),
        pd.DataFrame(rows[:MAX_READS] or [["no text reads another user's row"] + [""] * 10], columns=READ_COLS),
        strip_figure(state, doc),
        pd.DataFrame(text_rows(state, doc), columns=TEXT_COLS),
        status,
    )


def export_proof(
    state: WorkbenchState,
    user: str | None,
    others: str | None,
    policy: str,
    text: str | None,
    with_pdf: bool,
    progress: Any = None,
) -> tuple[list[str] | None, str]:
    """The proof's report as JSON and HTML (and PDF), and its foreign reads as CSV, in a fresh download folder."""
    try:
        doc, table = run_proof(state, user, others, policy, text, progress)
        attribute(doc, state.access.current.name)
        stem = state.download_dir() / f"isolation-{doc['user']}-{doc['digests']['report'][:12]}"
        files = [save_json_report(doc, stem.with_suffix(".json")), write_html(doc, stem.with_suffix(".html"))]
        reads = pd.DataFrame(read_rows(doc, fact_names(table.overlay.memories)), columns=READ_COLS)
        files.append(write_csv(reads, Path(f"{stem}-foreign-reads.csv")))
        note = ""
        if with_pdf:
            try:
                files.append(html_to_pdf(stem.with_suffix(".html"), stem.with_suffix(".pdf")))
            except PdfError as exc:
                note = f" (PDF skipped: {exc})"
    except USER_ERRORS as exc:
        return None, warn(exc)
    kinds = "JSON, HTML" + (", PDF" if with_pdf and not note else "") + " and the foreign reads as CSV"
    return [str(f) for f in files], (
        f"Isolation report `{doc['digests']['report'][:16]}…` written ({kinds}){note}: "
        f"{STATUS_WORDS[doc['summary']['status']].lower()}."
    )


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """A table as UTF-8 CSV."""
    frame.to_csv(path, index=False, encoding="utf-8")
    return path
