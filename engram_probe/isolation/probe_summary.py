"""The cross-user probe's rates with 95% Wilson intervals, its decomposition counts, and the docs page."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from statistics import NormalDist
from typing import Any

READ, COINCIDENCE, OTHERS, READ_NO_EFFECT = "read", "coincidence", "other users", "read, no effect"
CLASSES = (READ, COINCIDENCE, OTHERS, READ_NO_EFFECT)  # the attribution of one leak (see ``isolation.probe``)
BASE, OWN = "base model", "own rows"  # the source of a coincidence
SOURCE_WORDS = {BASE: "base model (no rows)", OWN: "asking user's own rows"}

# the paper's serving evaluation (d12 v1, 30 users x 50 facts, 600 requests, 20% deliberate wrong-user probes)
PAPER_LEAKS, PAPER_PROBES = 5, 127


def wilson(k: int, n: int) -> tuple[float, float]:
    """The 95% Wilson score interval of k successes in n trials ((0, 1) when n is 0)."""
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.975)
    p, zz = k / n, z * z
    centre = (p + zz / (2 * n)) / (1 + zz / n)
    half = z * math.sqrt(p * (1 - p) / n + zz / (4 * n * n)) / (1 + zz / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def rate(k: int, n: int) -> dict[str, Any]:
    low, high = wilson(k, n)
    return {"count": k, "of": n, "rate": k / n if n else 0.0, "ci95": [low, high]}


def decomposition(leaks: Sequence[dict[str, Any]], measure: str) -> dict[str, Any]:
    """Counts per class for one measure ("first_token" or "whole_answer"), coincidences split by source."""
    attributed = [r[measure] for r in leaks if measure in r]
    out: dict[str, Any] = {c: sum(a["class"] == c for a in attributed) for c in CLASSES}
    out["coincidence_by_source"] = {
        s: sum(a["class"] == "coincidence" and a["source"] == s for a in attributed) for s in (BASE, OWN)
    }
    out["read_no_effect_by_source"] = {
        s: sum(a["class"] == READ_NO_EFFECT and a["source"] == s for a in attributed) for s in (BASE, OWN, OTHERS)
    }
    unread = [a for a in attributed if not a["reads_owner"]]
    out["proved_bit_identical"] = sum(a["bit_identical_without_owner"] for a in unread)
    out["reads_no_owner_row"] = len(unread)
    return out


def probes_by_kind(probes: Iterable[Any]) -> dict[str, int]:
    """How many probes of each kind ("trigger", "paraphrase")."""
    out: dict[str, int] = {}
    for p in probes:
        out[p.kind] = out.get(p.kind, 0) + 1
    return out


def summarise(
    leaks: Sequence[dict[str, Any]],
    total: int,
    probes: Sequence[Any],
    users: Sequence[str],
    own_leaks: int | None,
) -> dict[str, Any]:
    """The probe's result: rates with intervals, the decomposition under both measures, and every leak."""
    first = len(leaks)
    exact = sum(bool(r["exact"]) for r in leaks)
    by_kind = probes_by_kind(probes)
    asked = {k: n * (len(users) - 1) for k, n in by_kind.items()}  # every probe is asked of every other user
    out: dict[str, Any] = {
        "users": list(users),
        "facts": len({(p.owner, p.fact_id) for p in probes}),
        "probes_per_user_pair": len(probes),
        "probes": total,
        "probes_by_kind": asked,
        "first_token": rate(first, total),
        "whole_answer": rate(exact, total),
        "first_token_by_kind": {k: rate(sum(r["kind"] == k for r in leaks), n) for k, n in asked.items()},
        "decomposition": {
            "first_token": decomposition(leaks, "first_token"),
            "whole_answer": decomposition(leaks, "whole_answer"),
        },
        "leaks": list(leaks),
        "paper": rate(PAPER_LEAKS, PAPER_PROBES),
    }
    if own_leaks is not None:
        out["first_token_own_rows_only"] = rate(own_leaks, total)
    return out


def _pct(r: dict[str, Any]) -> str:
    low, high = r["ci95"]
    return f"{r['rate']:.2%} ({r['count']:,} of {r['of']:,}; 95% interval {low:.2%} to {high:.2%})"


def summary_lines(result: dict[str, Any]) -> list[str]:
    """The result in plain words, for the terminal and the docs."""
    ft, wa = result["decomposition"]["first_token"], result["decomposition"]["whole_answer"]
    lines = [
        f"{len(result['users']):,} users, {result['facts']:,} facts, {result['probes']:,} probes "
        "(each user asked every other user's prompts with the shared table)",
        f"answer's first token is the other user's: {_pct(result['first_token'])}",
        f"whole answer is the other user's: {_pct(result['whole_answer'])}",
    ]
    if "first_token_own_rows_only" in result:
        lines.append(
            f"first token, served with the asking user's rows only: {_pct(result['first_token_own_rows_only'])}"
        )
    for name, d in (("first token", ft), ("whole answer", wa)):
        lines.append(
            f"{name}: read the other user's rows {d['read']:,}; coincidence {d['coincidence']:,} "
            f"(base model {d['coincidence_by_source'][BASE]:,}, own rows {d['coincidence_by_source'][OWN]:,}; "
            f"{d['proved_bit_identical']:,} of {d['reads_no_owner_row']:,} proved bit-identical without the other "
            f"user's rows); third users' rows {d['other users']:,}; read but no effect {d[READ_NO_EFFECT]:,}"
        )
    return lines


def _row(label: str, r: dict[str, Any]) -> str:
    low, high = r["ci95"]
    return f"| {label} | {r['count']:,} / {r['of']:,} | {r['rate']:.2%} | {low:.2%} – {high:.2%} |"


def render_markdown(result: dict[str, Any], title: str) -> list[str]:
    """One model's section of ``docs/isolation-probe.md``: the rates table and the decomposition table."""
    lines = [
        f"### {title}",
        "",
        f"{len(result['users']):,} users, {result['facts']:,} facts, {result['probes']:,} probes "
        f"({', '.join(f'{n:,} {k}' for k, n in result['probes_by_kind'].items())}).",
        "",
        "| measure | probes | rate | 95% interval (Wilson) |",
        "|---|---|---|---|",
        _row("first token is the owner's (the paper's \"leak\")", result["first_token"]),
        _row("whole answer is the owner's (greedy, exact)", result["whole_answer"]),
    ]
    for kind, r in result["first_token_by_kind"].items():
        lines.append(_row(f"first token, {kind} prompts only", r))
    if "first_token_own_rows_only" in result:
        lines.append(
            _row("first token, asking user's rows only (no shared table)", result["first_token_own_rows_only"])
        )
    lines += [
        _row("the paper (d12 v1, served with the asking user's map)", result["paper"]),
        "",
        "| attribution | first token | whole answer |",
        "|---|---|---|",
    ]
    ft, wa = result["decomposition"]["first_token"], result["decomposition"]["whole_answer"]
    cells = [
        ("(a) read: reads the owner's rows, and the answer goes without them", "read"),
        ("(b) coincidence: reads none of the owner's rows", "coincidence"),
    ]
    for label, key in cells:
        lines.append(f"| {label} | {ft[key]:,} | {wa[key]:,} |")
    for source in (BASE, OWN):
        lines.append(
            f"| &nbsp;&nbsp;of which from the {SOURCE_WORDS[source]} | {ft['coincidence_by_source'][source]:,} | "
            f"{wa['coincidence_by_source'][source]:,} |"
        )
    lines += [
        f"| &nbsp;&nbsp;proved bit-identical without the owner's rows | {ft['proved_bit_identical']:,} of "
        f"{ft['reads_no_owner_row']:,} | {wa['proved_bit_identical']:,} of {wa['reads_no_owner_row']:,} |",
        f"| (c) third users' rows: reads none of the owner's, the answer comes from others' | {ft[OTHERS]:,} | "
        f"{wa[OTHERS]:,} |",
        f"| reads the owner's rows, but the answer stays without them | {ft[READ_NO_EFFECT]:,} | "
        f"{wa[READ_NO_EFFECT]:,} |",
        "",
    ]
    return lines
