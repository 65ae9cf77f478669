"""Handlers of the Isolation tab's erasure plan: what erasing one of a user's facts from the shared table restores.

The plan and its proof are ``isolation.erase_plan.erase_plan`` (the CLI's ``isolation erase-plan``); nothing is
erased here (the History & erase tab erases, with its own proof and confirmation).
"""

from __future__ import annotations

import json
from typing import Any

import gradio as gr
import pandas as pd

from engram_probe.isolation.erase_plan import erase_plan, plan_verdict
from engram_probe.report.numbers import plural
from workbench.handling import USER_ERRORS, warn
from workbench.isolation_proof import fact_names, table_memories, write_csv
from workbench.state import WorkbenchState
from workbench.users_tab import FAIL, PASS

ROW_COLS = ["layer", "row", "after the erase", "kept by the user's other facts", "held by other users' facts"]
SHARE_COLS = ["user", "fact", "rows shared", "if those rows were restored"]
FATES = {
    "restored": "restored to the base table",
    "kept by the user's other fact": "keeps the user's other fact's value",
    "held by other users": "keeps another user's value",
}


def fact_choices(state: WorkbenchState, user: str | None) -> Any:
    """The user's facts as "trigger → answer" choices (the fact's id is the value)."""
    uid = (user or "").strip()
    try:
        memory = state.memory(uid, "isolation") if uid else None
    except USER_ERRORS:
        memory = None
    choices = [(f"{f.triggers[0]} → {f.answer}", f.fact_id) for f in memory.facts] if memory else []
    return gr.update(choices=choices, value=choices[0][1] if choices else None)


def run_plan(state: WorkbenchState, user: str | None, others: str | None, fact: str | None) -> tuple[dict, dict]:
    uid, memories = table_memories(state, user, others)
    fid = (fact or "").strip()
    if not fid:
        raise ValueError("choose one of the user's facts to plan its erasure")
    return erase_plan(state.lm, memories, uid, [fid]), fact_names(memories)


def row_rows(plan: dict[str, Any], names: dict[tuple[str, str], str]) -> list[list[Any]]:
    uid = plan["user"]
    return [
        [
            r["layer"],
            f"{r['row']:,}",
            FATES.get(r["fate"], r["fate"]),
            "; ".join(names.get((uid, f), f) for f in r["own_facts"]) or "—",
            "; ".join(
                f"{o['user']}: " + ", ".join(names.get((o["user"], f), f) for f in o["facts"]) for o in r["other_users"]
            )
            or "—",
        ]
        for r in plan["rows"]
    ]


def share_rows(plan: dict[str, Any], names: dict[tuple[str, str], str]) -> list[list[Any]]:
    return [
        [
            s["user"],
            names.get((s["user"], s["fact_id"]), s["fact_id"]),
            s["rows"],
            "those rows would return to the base table and the fact would lose them",
        ]
        for s in plan["facts_sharing_rows"]
    ]


def plan_markdown(plan: dict[str, Any], names: dict[tuple[str, str], str]) -> str:
    ok = plan["erased_value_gone"]
    colour, head = (PASS, "✔ The erased value is gone") if ok else (FAIL, "✘ An erased value is still read")
    fact = names.get((plan["user"], plan["erased"][0]), plan["erased"][0])
    n = len(plan["rows"])
    return (
        f'<span style="color:{colour};font-weight:600">{head}</span>: {plan_verdict(plan)}.\n\n'
        f"Erasing **{plan['user']}**'s fact “{fact}” from the table shared by "
        f"{plural(len(plan['users_in_table']), 'user')}: of its {plural(n, 'row')}, "
        f"{plan['rows_restored']:,} return to the base table, {plan['rows_kept_by_own_facts']:,} keep the user's "
        f"other facts' values and {plan['rows_held_by_other_users']:,} keep other users' values. "
        "This is a plan: nothing was erased (the History & erase tab erases, with its proof)."
    )


def plan_view(
    state: WorkbenchState, user: str | None, others: str | None, fact: str | None
) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    try:
        plan, names = run_plan(state, user, others, fact)
    except USER_ERRORS as exc:
        return warn(exc), pd.DataFrame(columns=ROW_COLS), pd.DataFrame(columns=SHARE_COLS)
    sharing = share_rows(plan, names) or [["no other user's fact shares these rows", "", "", ""]]
    return (
        plan_markdown(plan, names),
        pd.DataFrame(row_rows(plan, names), columns=ROW_COLS),
        pd.DataFrame(sharing, columns=SHARE_COLS),
    )


def export_plan(
    state: WorkbenchState, user: str | None, others: str | None, fact: str | None
) -> tuple[list[str] | None, str]:
    """The plan as JSON, and its rows and the facts sharing them as CSV."""
    try:
        plan, names = run_plan(state, user, others, fact)
        folder = state.download_dir()
        path = folder / f"erase-plan-{plan['user']}-{plan['erased'][0]}.json"
        path.write_text(json.dumps(plan, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
        files = [
            path,
            write_csv(pd.DataFrame(row_rows(plan, names), columns=ROW_COLS), folder / "erase-plan-rows.csv"),
            write_csv(pd.DataFrame(share_rows(plan, names), columns=SHARE_COLS), folder / "erase-plan-sharing.csv"),
        ]
    except (*USER_ERRORS, OSError) as exc:
        return None, warn(exc)
    return [str(f) for f in files], f"Erasure plan written: {plan_verdict(plan)}."
