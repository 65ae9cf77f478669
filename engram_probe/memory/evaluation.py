"""Recall evaluation over user files in the paper's format (top-1 / top-5 of the gold first token)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from engram_probe.arch.loaded import LoadedModel
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


def _score(ranks: Sequence[int]) -> dict[str, float]:
    n = len(ranks)
    return {
        "n": n,
        "top1": sum(r == 1 for r in ranks) / n if n else 0.0,
        "top5": sum(r <= 5 for r in ranks) / n if n else 0.0,
    }


def user_ranks(
    lm: LoadedModel, specs: Sequence[FactSpec], mode: str, settings: WriteSettings, layer: str | int | None = None
) -> tuple[list[int], float, int]:
    """Gold ranks (first trigger of each fact), write time in ms, and rows used, for one mode."""
    writer = FactWriter(lm.model, lm.tokenizer, settings)
    prepared = [writer.prepare(s, resolve_layer(lm.model, layer)) for s in specs]
    prompts = [p.prompts[0] for p in prepared]
    golds = [p.gold for p in prepared]
    if mode == "none":
        return [r["rank"] for r in recall(lm.model, prompts, golds)], 0.0, 0
    strategy, scope = mode.split("_")
    t0 = time.perf_counter()
    if scope == "isolated":
        ranks, rows = [], 0
        for spec, ids, gold in zip(specs, prompts, golds, strict=True):
            res = writer.write(UserMemory("eval"), [spec], strategy, layer)
            mem = UserMemory("eval", res.facts)
            rows += mem.n_rows
            ranks.append(recall(lm.model, [ids], [gold], MemoryOverlay([mem]))[0]["rank"])
        return ranks, (time.perf_counter() - t0) * 1000, rows
    res = writer.write(UserMemory("eval"), specs, strategy, layer)
    mem = UserMemory("eval", res.facts)
    ms = (time.perf_counter() - t0) * 1000
    return [r["rank"] for r in recall(lm.model, prompts, golds, MemoryOverlay([mem]))], ms, mem.n_rows


def evaluate_recall(
    lm: LoadedModel,
    users: Sequence[dict[str, Any]],
    modes: Sequence[str] = tuple(MODES),
    settings: WriteSettings | None = None,
    layer: str | int | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Top-1/top-5 per mode, over every fact of every user (micro-averaged), plus per-user rows."""
    from engram_probe.memory.operations import specs_from_user_record

    settings = settings or WriteSettings()
    unknown = set(modes) - set(MODES)
    if unknown:
        raise ValueError(f"unknown modes {sorted(unknown)}; choose from {list(MODES)}")
    written = resolve_layer(lm.model, layer)
    table: dict[str, Any] = {}
    for mode in modes:
        all_ranks: list[int] = []
        per_user = []
        total_ms, total_facts = 0.0, 0
        for user in users:
            specs = specs_from_user_record(user)
            ranks, ms, rows = user_ranks(lm, specs, mode, settings, written)
            all_ranks += ranks
            total_ms += ms
            total_facts += len(specs)
            per_user.append({"user": user["uid"], **_score(ranks), "rows": rows, "write_ms": round(ms, 1)})
            if progress:
                progress(f"{mode} {user['uid']}: top1 {_score(ranks)['top1']:.2f}")
        table[mode] = {
            "description": MODES[mode],
            **_score(all_ranks),
            "ms_per_fact": round(total_ms / max(1, total_facts), 2),
            "users": per_user,
        }
    return {"modes": table, "settings": settings.__dict__, "n_users": len(users), "layer": written}


def _continued(max_steps: int, steps: int) -> str:
    if max_steps <= steps:
        return ""
    return f", continued to at most {max_steps} while some prompt's top-1 is not its gold token"


def _layer_sentence(layer: int | None) -> str:
    return "" if layer is None else f" Rows written in Engram layer {layer}."


def render_recall_markdown(result: dict[str, Any], command: str) -> str:
    """docs/recall.md: the table, the goals, and the command that reproduces it."""
    modes = result["modes"]
    lines = [
        "# Recall of written facts",
        "",
        f"Reproduce: `{command}`",
        "",
        f"{result['n_users']} users from `{result.get('users_source', '?')}`, every fact in the paper's format "
        "(prompt = the first paraphrase cut just before the answer; gold = the answer's first token as it follows "
        "the prompt). Rank of the gold token at the prompt's last position, on the shipped model "
        f"`{result.get('model_sha256', '')[:16]}…`.",
        "",
        "| mode | top-1 | top-5 | facts | write ms/fact |",
        "|---|---|---|---|---|",
    ]
    for r in modes.values():
        lines.append(f"| {r['description']} | {r['top1']:.3f} | {r['top5']:.3f} | {r['n']} | {r['ms_per_fact']:.1f} |")
    s = result["settings"]
    lines += [
        "",
        f"Budgets: unembed scale {s['scale']}; opt {s['opt_steps']} Adam steps at lr {s['opt_lr']} (L2 {s['opt_l2']})"
        + _continued(s.get("opt_max_steps", 0), s["opt_steps"])
        + f"; joint {s['joint_steps']} steps at lr {s['joint_lr']} over all of a user's facts at once"
        + _continued(s.get("joint_max_steps", 0), s["joint_steps"])
        + "."
        + _layer_sentence(result.get("layer")),
        "",
    ]
    goals = []
    if "opt_isolated" in modes:
        v = modes["opt_isolated"]["top1"]
        goals.append(f"- isolated `opt` top-1 >= 0.90: **{v:.3f}, {'met' if v >= 0.9 else 'missed'}**")
    if "joint_together" in modes:
        v = modes["joint_together"]["top1"]
        goals.append(
            f"- all facts together, `joint` top-1 >= 0.80: **{v:.3f}, {'met' if v >= 0.8 else 'missed'}** "
            f"with {modes['joint_together']['n'] / max(1, result['n_users']):.0f} facts per user (the paper: 0.68 "
            "at 100 XXL facts per user on a 339 M model, a denser setting)"
        )
    if goals:
        lines += ["## Goals", "", *goals, ""]
    per_user = next(iter(modes.values()))["users"]
    if per_user:
        lines += ["## Per user", "", "| user | " + " | ".join(modes) + " |", "|---|" + "---|" * len(modes)]
        for i, u in enumerate(per_user):
            lines.append(f"| {u['user']} | " + " | ".join(f"{modes[m]['users'][i]['top1']:.2f}" for m in modes) + " |")
    return "\n".join(lines) + "\n"
