"""Recall evaluation over user files in the paper's format.

Two measures per fact: the answer's first token at the prompt's last position (top-1 / top-5, as the paper), and
the whole answer under greedy generation (exact: the generated tokens are the answer's, token for token).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from engram_probe.arch.loaded import LoadedModel
from engram_probe.memory.answers import MAX_ANSWER_TOKENS
from engram_probe.memory.overlay import MemoryOverlay
from engram_probe.memory.user_memory import UserMemory
from engram_probe.memory.writing import FactSpec, FactWriter, WriteSettings, recall, resolve_layer

MODES = {
    "none": "no edit",
    "unembed_isolated": "unembed, each fact written and tested alone",
    "opt_isolated": "opt, each fact written and tested alone",
    "joint_isolated": "joint on a single fact, each fact written and tested alone",
    "opt_together": "opt, all of a user's facts written one after another, tested together",
    "joint_together": "joint, all of a user's facts optimised together, tested together",
}


def _score(recalls: Sequence[dict[str, Any]]) -> dict[str, float]:
    n = len(recalls)
    return {
        "n": n,
        "top1": sum(r["rank"] == 1 for r in recalls) / n if n else 0.0,
        "top5": sum(r["rank"] <= 5 for r in recalls) / n if n else 0.0,
        "exact": sum(bool(r["exact"]) for r in recalls) / n if n else 0.0,
    }


def user_recall(
    lm: LoadedModel, specs: Sequence[FactSpec], mode: str, settings: WriteSettings, layer: str | int | None = None
) -> tuple[list[dict[str, Any]], float, int]:
    """Recall of each fact (first trigger; see ``writing.recall``), write time in ms, and rows used, for one mode."""
    writer = FactWriter(lm.model, lm.tokenizer, settings)
    prepared = [writer.prepare(s, resolve_layer(lm.model, layer)) for s in specs]
    prompts = [p.prompts[0] for p in prepared]
    answers = [p.answer_ids for p in prepared]
    if mode == "none":
        return recall(lm.model, prompts, answers, None, lm.tokenizer), 0.0, 0
    strategy, scope = mode.split("_")
    t0 = time.perf_counter()
    if scope == "isolated":
        out, rows = [], 0
        for spec in specs:
            res = writer.write(UserMemory("eval"), [spec], strategy, layer)
            rows += UserMemory("eval", res.facts).n_rows
            out.append(res.recall_after[0])  # the first trigger, under a memory of this one fact
        return out, (time.perf_counter() - t0) * 1000, rows
    res = writer.write(UserMemory("eval"), specs, strategy, layer)
    mem = UserMemory("eval", res.facts)
    ms = (time.perf_counter() - t0) * 1000
    return recall(lm.model, prompts, answers, MemoryOverlay([mem]), lm.tokenizer), ms, mem.n_rows


def evaluate_recall(
    lm: LoadedModel,
    users: Sequence[dict[str, Any]],
    modes: Sequence[str] = tuple(MODES),
    settings: WriteSettings | None = None,
    layer: str | int | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """First-token top-1/top-5 and whole-answer exact match per mode, over every fact of every user
    (micro-averaged), plus per-user rows."""
    from engram_probe.memory.operations import specs_from_user_record

    settings = settings or WriteSettings()
    unknown = set(modes) - set(MODES)
    if unknown:
        raise ValueError(f"unknown modes {sorted(unknown)}; choose from {list(MODES)}")
    written = resolve_layer(lm.model, layer)
    table: dict[str, Any] = {}
    for mode in modes:
        every: list[dict[str, Any]] = []
        per_user = []
        total_ms, total_facts = 0.0, 0
        for user in users:
            specs = specs_from_user_record(user)
            recalls, ms, rows = user_recall(lm, specs, mode, settings, written)
            every += recalls
            total_ms += ms
            total_facts += len(specs)
            score = _score(recalls)
            per_user.append({"user": user["uid"], **score, "rows": rows, "write_ms": round(ms, 1)})
            if progress:
                progress(f"{mode} {user['uid']}: first token {score['top1']:.0%}, whole answer {score['exact']:.0%}")
        table[mode] = {
            "description": MODES[mode],
            **_score(every),
            "ms_per_fact": round(total_ms / max(1, total_facts), 2),
            "users": per_user,
        }
    return {
        "modes": table,
        "settings": settings.__dict__,
        "n_users": len(users),
        "layer": written,
        "max_answer_tokens": MAX_ANSWER_TOKENS,
    }


def _continued(max_steps: int, steps: int) -> str:
    if max_steps <= steps:
        return ""
    return f", continued to at most {max_steps} while greedy generation misses some whole answer"


def _layer_sentence(layer: int | None) -> str:
    return "" if layer is None else f" Rows written in Engram layer {layer}."


# goals of issue 23 (whole answers): exact whole-answer match, and first-token top-1 no worse than before it
EXACT_GOALS = {"opt_isolated": 0.90, "joint_together": 0.85}
# first-token top-1 on u000-u019 before whole answers, as counts of its 668 facts (docs/recall.md at 37786d0 shows
# them rounded, 0.984 and 0.972): comparing with the rounded figure would call the same count worse
FIRST_TOKEN_BEFORE = {"opt_isolated": (657, 668), "joint_together": (649, 668)}


def _goal_lines(modes: dict[str, Any], n_users: int) -> list[str]:
    out = []
    names = {"opt_isolated": "isolated `opt`", "joint_together": "all facts together, `joint`"}
    for mode, goal in EXACT_GOALS.items():
        if mode not in modes:
            continue
        r = modes[mode]
        exact, top1 = r["exact"], r["top1"]
        hits, facts = FIRST_TOKEN_BEFORE[mode]
        before = hits / facts
        out.append(
            f"- {names[mode]} whole answer exact >= {goal:.2f}: "
            f"**{exact:.3f}, {'met' if exact >= goal else 'missed'}**; first token top-1 no worse than before whole "
            f"answers ({hits:,} of {facts:,} = {before:.3f}): **{top1:.3f} ({round(top1 * r['n']):,} of {r['n']:,}), "
            f"{'met' if top1 >= before - 1e-12 else 'missed'}**"
        )
    if "joint_together" in modes:
        out.append(
            f"- `joint` writes {modes['joint_together']['n'] / max(1, n_users):.0f} facts per user at once (the paper: "
            "0.68 first-token top-1 at 100 XXL facts per user on a 339 M model, a denser setting)"
        )
    return out


def render_recall_markdown(result: dict[str, Any], command: str) -> str:
    """docs/recall.md: the table of both measures, the goals, and the command that reproduces it."""
    modes = result["modes"]
    lines = [
        "# Recall of written facts",
        "",
        f"Reproduce: `{command}`",
        "",
        f"{result['n_users']} users from `{result.get('users_source', '?')}`, every fact in the paper's format "
        "(prompt = the first paraphrase cut just before the answer; the answer = every token of it as it follows "
        "the prompt), on the shipped model "
        f"`{result.get('model_sha256', '')[:16]}…`. Writers teach the whole answer at the positions a "
        "teacher-forced continuation reads. Two measures: **first token**, the rank of the answer's first token "
        "at the prompt's last position (top-1, top-5, as the paper); **whole answer**, greedy generation of as "
        "many tokens as the answer has, counted when every generated token is the answer's (exact match).",
        "",
        "| mode | whole answer (exact) | first token top-1 | first token top-5 | facts | write ms/fact |",
        "|---|---|---|---|---|---|",
    ]
    for r in modes.values():
        lines.append(
            f"| {r['description']} | {r.get('exact', 0.0):.3f} | {r['top1']:.3f} | {r['top5']:.3f} | {r['n']:,} | "
            f"{r['ms_per_fact']:,.1f} |"
        )
    s = result["settings"]
    lines += [
        "",
        f"Budgets: unembed scale {s['scale']}; opt {s['opt_steps']} Adam steps at lr {s['opt_lr']} (L2 {s['opt_l2']})"
        + _continued(s.get("opt_max_steps", 0), s["opt_steps"])
        + f"; joint {s['joint_steps']} steps at lr {s['joint_lr']} over all of a user's facts at once"
        + _continued(s.get("joint_max_steps", 0), s["joint_steps"])
        + "."
        + _layer_sentence(result.get("layer"))
        + f" Answers have at most {result.get('max_answer_tokens', '?')} tokens.",
        "",
    ]
    goals = _goal_lines(modes, result["n_users"])
    if goals:
        lines += ["## Goals", "", *goals, ""]
    per_user = next(iter(modes.values()))["users"]
    if per_user:
        lines += [
            "## Per user (whole answer exact / first token top-1)",
            "",
            "| user | " + " | ".join(modes) + " |",
            "|---|" + "---|" * len(modes),
        ]
        for i, u in enumerate(per_user):
            cells = (
                f"{modes[m]['users'][i].get('exact', 0.0):.2f} / {modes[m]['users'][i]['top1']:.2f}" for m in modes
            )
            lines.append(f"| {u['user']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
