"""``engram-probe isolation erase-plan``: what erasing a user's facts from a shared table restores, and the proof."""

from __future__ import annotations

import argparse
from typing import Any

from engram_probe.cli.framework import CliError, add_store_args, emit, open_store_arg, printable, user_errors

ACTION = "erase-plan"
HELP = (
    "plan (or, with --apply, do) the erasure of a user's facts from a table shared with other users: rows restored, "
    "rows other users' facts keep, and the proof that no read finds the erased value"
)


def add_args(p: argparse.ArgumentParser) -> None:
    add_store_args(p, mode="change")
    p.add_argument("--fact", action="append", required=True, help="a fact id to erase (repeat for more)")
    p.add_argument(
        "--users",
        default=None,
        help="comma-separated users that share the table, in serving order (the last wins a shared row); "
        "default: every user of the store",
    )
    p.add_argument(
        "--apply",
        action="store_true",
        help="erase the facts from the store (the ledger records it) and prove the plan on the table after",
    )


def plan_lines(plan: dict[str, Any]) -> list[str]:
    """The plan for people: one line per fate, one per fact that shares rows, one per finding."""
    from engram_probe.isolation.erase_plan import plan_verdict

    lines = [
        f"{'ERASED VALUE GONE' if plan['erased_value_gone'] else 'ERASED VALUE STILL READ'}: {plan_verdict(plan)}",
        f"rows of the erased facts: {len(plan['rows']):,} — restored to the base table {plan['rows_restored']:,}, "
        f"kept by the user's other facts {plan['rows_kept_by_own_facts']:,}, "
        f"held by other users {plan['rows_held_by_other_users']:,}",
    ]
    for s in plan["facts_sharing_rows"]:
        lines.append(
            f"  {printable(s['user'])}'s fact {printable(s['fact_id'])} shares {s['rows']:,} row(s): restoring "
            "them would damage it"
        )
    for r in plan["reads"]:
        lines.append(
            f"  {printable(r['fact_id'])}: {r['rows_read']:,} reads at {len(r['positions']):,} position(s): "
            f"{r['read_base']:,} base rows, {r['read_other_values']:,} other values, "
            f"{r['read_erased_values']:,} erased values"
        )
    return lines


def run(args: argparse.Namespace) -> None:
    from engram_probe.isolation.erase_plan import erase_plan, read_proof
    from engram_probe.memory.erasure import erase_with_proof

    lm, store = open_store_arg(args, "change" if args.apply else "read")
    try:
        users = [u.strip() for u in args.users.split(",") if u.strip()] if args.users else store.user_ids()
        if args.user not in users:
            raise CliError(f"user {printable(args.user)} is not among the users that share the table")
        memories = [store.load(u) for u in users]
        plan = erase_plan(lm, memories, args.user, args.fact)
        payload: dict[str, Any] = {"plan": plan}
        lines = plan_lines(plan)
        if args.apply:
            entry, proof = erase_with_proof(lm, store, args.user, args.fact, args.operator)
            erased = [f for m in memories if m.user_id == args.user for f in m.facts if f.fact_id in plan["erased"]]
            after = [m for m in (store.load(u) for u in users if store.has_user(u)) if len(m)]
            stored = read_proof(lm, after, erased)  # the proof again, on the table the store now serves
            plan["erased_value_gone"] = plan["erased_value_gone"] and all(r["clean"] for r in stored)
            payload |= {"ledger_entry": entry.as_dict(), "erase_proof": proof, "reads_after_store": stored}
            lines.append(
                f"erased from the store (ledger entry {entry.seq:,}); on the table the store now serves, "
                f"{sum(r['read_erased_values'] for r in stored):,} reads find an erased value; the user's own "
                f"erase proof is {'bit-exact' if proof.get('bit_exact') else 'NOT bit-exact'}"
            )
    except user_errors() as exc:  # an ErasePlanError is a ValueError
        raise CliError(str(exc)) from exc
    emit(args, payload, "\n".join(lines))
    if not plan["erased_value_gone"]:
        raise CliError("a read at an erased fact's positions still finds a value it wrote; see the lines above")
