"""The "History & erase" tab: a user's facts with their ledger entries, and erase with its bit-exact proof.

The handlers call the library's one path (``memory.erasure``), the same the CLI's ``history`` and ``erase`` call.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from engram_probe.memory.erasure import erase_with_proof, user_history
from engram_probe.report.erase_words import proof_sentences
from engram_probe.report.numbers import plural
from workbench.handling import USER_ERRORS, warn
from workbench.pickers import Pickers
from workbench.state import WorkbenchState
from workbench.tables import waiting
from workbench.users_tab import FAIL, PASS

FACT_COLS = ["fact", "trigger", "answer", "written", "by", "ledger entry"]
ENTRY_COLS = ["entry", "when (UTC)", "what", "digest before", "digest after"]
PROOF_COLS = ["layer", "row", "now reads", "bit-exact"]


def _when(at: str) -> str:
    return at[:19].replace("T", " ")


def _digest(d: str) -> str:
    return d if len(d) < 16 else d[:16] + "…"


def show_history(state: WorkbenchState, user_id: str | None) -> tuple[pd.DataFrame, pd.DataFrame, str, Any]:
    """The user's current facts (each with the entry that wrote it) and every write, erase and import entry."""
    empty = pd.DataFrame(columns=FACT_COLS), pd.DataFrame(columns=ENTRY_COLS)
    try:
        uid = (user_id or "").strip()
        if not uid:
            raise ValueError("choose a user first")
        op = state.access.require("read", uid)
        h = user_history(state.store, uid)
        if h["exists"]:
            state.store.record_read(uid, op.name, "history")
    except USER_ERRORS as exc:
        return *empty, warn(exc), gr.update(choices=[], value=None)
    facts = [
        [f["fact_id"], f["trigger"], f["answer"], _when(f["written_at"]), f["written_by"] or "—", f["ledger_seq"]]
        for f in h["facts"]
    ]
    entries = [
        [e["seq"], _when(e["at"]), e["what"], _digest(e["digest_before"]), _digest(e["digest_after"])]
        for e in h["entries"]
    ]
    status = (
        f"User **{uid}**: {plural(len(facts), 'fact')} now, {plural(len(entries), 'ledger entry', 'ledger entries')}"
        + (f" (and {plural(h['reads_hidden'], 'recorded read')}, not listed)" if h["reads_hidden"] else "")
        + f" · memory digest `{_digest(h['digest'])}`"
        + ("" if h["exists"] else " · this user was erased")
    )
    if h["problems"]:
        status += (
            f'\n\n<span style="color:{FAIL}">✘ fails the ledger check: ' + "; ".join(h["problems"][:3]) + "</span>"
        )
    choices = [(f"{f['fact_id']} · {f['trigger']} → {f['answer']}", f["fact_id"]) for f in h["facts"]]
    pick = gr.update(choices=choices, value=choices[-1][1] if choices else None)
    return pd.DataFrame(facts, columns=FACT_COLS), pd.DataFrame(entries, columns=ENTRY_COLS), status, pick


def proof_markdown(proof: dict[str, Any]) -> str:
    """An erase's proof in words, its verdict in the colour of its outcome."""
    ok, sentences = proof_sentences(proof)
    if ok is None:
        return sentences[0] + " The whole user is erased."
    head, rows, *forwards, digests = sentences
    colour, mark = (PASS, "✔") if ok else (FAIL, "✘")
    return "\n\n".join(
        [
            f'<span style="color:{colour};font-weight:600">{mark} {head}</span>',
            rows,
            *(f"- {f}" for f in forwards),
            digests,
        ]
    )


def erase(
    state: WorkbenchState, user_id: str | None, fact_id: str | None, whole_user: bool
) -> tuple[str, pd.DataFrame, pd.DataFrame, pd.DataFrame, str, Any]:
    """Erase one fact (or the whole user), show the proof, and the history after it."""
    try:
        uid = (user_id or "").strip()
        if not uid:
            raise ValueError("choose a user first")
        if not whole_user and not (fact_id or "").strip():
            raise ValueError("choose a fact to erase, or tick the box to erase the whole user")
        op = state.access.require("write", uid)
        ids = None if whole_user else [str(fact_id).strip()]
        entry, proof = erase_with_proof(state.lm, state.store, uid, ids, operator=op.name)
    except USER_ERRORS as exc:
        facts, entries, status, pick = show_history(state, user_id)
        return warn(exc), pd.DataFrame(columns=PROOF_COLS), facts, entries, status, pick
    table = [
        [
            r["layer"],
            r["row"],
            "shared table" if r["kept_by"] is None else f"fact {r['kept_by']}",
            "yes" if r["bit_exact"] else "NO",
        ]
        for r in proof.get("rows", [])
    ]
    head = f"Erased {plural(len(entry.fact_ids), 'fact')} of **{uid}** (ledger entry {entry.seq}).\n\n"
    facts, entries, status, pick = show_history(state, uid)
    return head + proof_markdown(proof), pd.DataFrame(table, columns=PROOF_COLS), facts, entries, status, pick


def history_tab(state: WorkbenchState, pick: Pickers) -> gr.Dropdown:
    """The tab, inside the caller's ``gr.Tabs``; returns its user picker (its list follows new users)."""
    with gr.Tab("History & erase", id="tab-history"):
        user = pick.user("history")
        show = gr.Button("Show history", variant="primary", elem_id="history-go")
        status = gr.Markdown(elem_id="history-status")
        facts = gr.Dataframe(
            waiting("Press Show history to list the user's facts."),
            label="Facts now, with the ledger entry that wrote each",
            elem_id="history-facts",
            interactive=False,
        )
        entries = gr.Dataframe(
            waiting("Press Show history to list who wrote or erased what, and when."),
            label="Ledger entries (writes, erases, imports)",
            elem_id="history-entries",
            interactive=False,
        )
        gr.Markdown("### Erase")
        with gr.Row():
            fact = gr.Dropdown([], label="Fact to erase", elem_id="history-fact", allow_custom_value=True)
            whole = gr.Checkbox(False, label="Erase the whole user instead", elem_id="history-whole")
        go = gr.Button("Erase and prove", variant="stop", elem_id="history-erase")
        proof = gr.Markdown(elem_id="history-proof")
        rows = gr.Dataframe(
            waiting("Erase a fact to see what each of its rows reads now."),
            label="Rows of the erased facts",
            elem_id="history-proof-rows",
            interactive=False,
        )

        def do_show(uid: str | None, request: gr.Request) -> tuple[Any, ...]:
            with state.access.acting(request):
                return show_history(state, uid)

        def do_erase(uid: str | None, fid: str | None, all_: bool, request: gr.Request) -> tuple[Any, ...]:
            with state.access.acting(request):
                return erase(state, uid, fid, all_)

        show.click(do_show, [user], [facts, entries, status, fact], api_name="history")
        go.click(do_erase, [user, fact, whole], [proof, rows, facts, entries, status, fact], api_name="erase")
    return user
