"""docs/layered.md from a layered report: the measured table, the differences, and the paper's claims checked."""

from __future__ import annotations

from typing import Any

from engram_probe.layered.report import CONDITION_HEADER, comparison_rows, condition_rows, from_folder

# The paper's layered results (seed S0, n = 20; REFERENCE_FACTS.md §4.4), quoted for comparison.
PAPER = {"F indirect_any": 0.445, "E indirect_any": 0.440, "B indirect_any": 0.060, "F/B": 7.4, "F/B 3 seeds": 5.6}


def _md_table(header: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def claims(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(claim, verdict on this model, evidence) — every verdict follows from the numbers in the report."""
    agg, t = doc["aggregate"], doc["aggregate"]["table"]
    out = []
    gap = t["F"]["direct_top1"] - t["B"]["direct_top1"]
    out.append(
        (
            "F matches per-user LoRA's direct recall",
            "holds" if gap >= -0.02 else "does not hold",
            f"direct top-1 F {t['F']['direct_top1']:.3f} vs B {t['B']['direct_top1']:.3f}",
        )
    )
    ratio = agg.get("F / B indirect_any")
    out.append(
        (
            "F gives ~5.6x the indirect accuracy of per-user LoRA",
            "holds" if ratio is not None and ratio >= 5.6 else "does not hold",
            f"indirect_any F {t['F']['indirect_any']:.3f} / B {t['B']['indirect_any']:.3f} = "
            + (f"{ratio:.2f}x" if ratio is not None else "undefined (B is 0)")
            + f"; strict F {t['F']['indirect_any_strict']:.3f} vs B {t['B']['indirect_any_strict']:.3f}",
        )
    )
    worse = t["F"]["users_worse_than_A_indirect_any"]
    out.append(
        (
            "F never makes a user worse than the untouched base",
            "holds" if worse == 0 else "does not hold",
            f"{worse} of {t['F']['users']} users below A on indirect_any "
            f"(E: {t['E']['users_worse_than_A_indirect_any']})",
        )
    )
    fe = agg["F - E indirect_any"]
    lo, hi = fe["ci95"]
    verdict = "the rows add to reasoning" if lo > 0 else "no measurable contribution of the rows to reasoning"
    out.append(
        (
            "the per-user rows carry part of the reasoning gain (control: E)",
            verdict,
            f"F - E indirect_any {fe['mean']:+.3f}, 95% CI [{lo:+.3f}, {hi:+.3f}] over {fe['users']} users",
        )
    )
    swap, zero = agg.get("F - F-swap indirect_any"), agg.get("F - F-zero indirect_any")
    if swap and zero:
        out.append(
            (
                "what the rows contain matters for indirect answers (controls: F-swap, F-zero)",
                "holds" if swap["ci95"][0] > 0 and zero["ci95"][0] > 0 else "not shown",
                f"F - F-swap {swap['mean']:+.3f} [{swap['ci95'][0]:+.3f}, {swap['ci95'][1]:+.3f}]; "
                f"F - F-zero {zero['mean']:+.3f} [{zero['ci95'][0]:+.3f}, {zero['ci95'][1]:+.3f}]",
            )
        )
    out.append(
        (
            "indirect probes read the user's rows",
            f"{1 - agg['share_of_indirect_probes_never_reading_rows']:.1%} of probes do",
            f"{agg['share_of_indirect_probes_never_reading_rows']:.1%} of {agg['indirect_probes']} indirect probes "
            "never read the rows at any position of the question (derived: there the rows cannot have contributed "
            "until a generated token reads one; "
            f"{agg['share_of_answers_reading_rows_while_generating']:.1%} of F's answers do)",
        )
    )
    return out


def answers_differing(doc: dict[str, Any], a: str, b: str) -> tuple[int, int]:
    """How many answers differ in text between two conditions (same questions, same order)."""
    n = d = 0
    for u in doc["users"]:
        if a in u["conditions"] and b in u["conditions"]:
            for x, y in zip(u["conditions"][a]["answers"], u["conditions"][b]["answers"], strict=True):
                n += 1
                d += x["answer"] != y["answer"]
    return d, n


def adapter_sentence(a: dict[str, Any]) -> str:
    """What the shared adapter is: trained by ``train-adapter``, or the LoRA saved in an engram-peft folder."""
    s = a["settings"]
    head = f"`{a['sha256'][:16]}…`: PEFT LoRA rank {s['rank']} (alpha {s['alpha']}) on `{s['target_modules']}`, "
    if from_folder(a):  # the LoRA of the engram-peft adapter folder, trained outside the workbench
        return (
            f"{head}{a['params']:,} parameters, {a.get('source', 'read from a file')} "
            f"(`{a.get('weights')}`, target modules {a.get('target_modules')}), trained outside the workbench. "
        )
    return (
        f"{head}{s['steps']:,} steps at lr {s['lr']}, batch 1, seed {s['seed']}, {a['params']:,} parameters, trained "
        f"on {len(a['training_users'])} users ({', '.join(a['training_users'][:2])} … {a['training_users'][-1]}; "
        f"{a['samples']} samples: fact statements and `Facts: … Q: … A:` items) in {a['train_seconds']} s. "
    )


def verify_adapter_args(a: dict[str, Any]) -> str:
    """How ``layered verify`` is given this report's adapter."""
    if from_folder(a):
        return "--model BASE --engram ADAPTER_DIR"  # the folder's own LoRA is the default adapter
    return "--adapter ADAPTER"


def render_layered_markdown(doc: dict[str, Any], command: str, adapter_command: str) -> str:
    a = doc["adapter"]
    rows = [r[:1] + r[2:] for r in condition_rows(doc)]
    reproduce = f"`{command}`" if from_folder(a) and not adapter_command else f"`{adapter_command}` then `{command}`"
    lines = [
        "# Layered memory: a shared adapter over per-user rows",
        "",
        f"Reproduce: {reproduce}.",
        "",
        f"Model `{doc['model']['sha256'][:16]}…` ({doc['model']['architecture']}); shared adapter "
        + adapter_sentence(a)
        + f"Test users: {len(doc['users'])} ({doc['test_users']['uids'][0]} … {doc['test_users']['uids'][-1]}), "
        f"{doc['settings']['indirect_per_user']} indirect questions each, 16 greedy tokens per answer. "
        "Per-user rows: `joint` over all of a user's facts, written through the model they are read with "
        "(C: base, D: with the per-user LoRA, F: with the shared adapter). Per-user LoRA (B): rank "
        f"{doc['settings']['per_user_lora']['rank']} on attention, trained on the user's facts until every fact is "
        f"recalled or {doc['settings']['per_user_lora']['max_steps']} steps.",
        "",
        "## Measured, per condition (micro-averaged over facts or questions)",
        "",
        _md_table([CONDITION_HEADER[0], *CONDITION_HEADER[2:]], rows),
        "",
        "Metrics: *indirect top-1* and *indirect_any* are the paper's (first generated token equals the first token "
        'of " " + the gold\'s first word; the lower-cased gold is a substring of the 16 generated tokens). '
        "Stricter: *first word exact* (the answer starts with the gold's first word, ending at a word boundary), "
        "*exact answer* (the first line is the gold), *indirect_any, strict* (indirect_any over questions whose "
        "gold is not yes/no and does not appear in the question). Δ held-out loss is against A on "
        f"{doc['settings']['heldout_docs']} generated held-out documents.",
        "",
        f"## Differences over users (95% bootstrap intervals, {doc['settings']['bootstrap']:,} resamples of users)",
        "",
        _md_table(["difference", "mean", "95% CI", "users"], comparison_rows(doc)),
        "",
        "## The paper's claims on this model",
        "",
        _md_table(["claim", "on this model", "evidence"], [list(c) for c in claims(doc)]),
        "",
        f"The paper (d20, seed S0, n = 20) reports indirect_any F {PAPER['F indirect_any']:.3f}, E "
        f"{PAPER['E indirect_any']:.3f}, B {PAPER['B indirect_any']:.3f} (F/B {PAPER['F/B']}x; {PAPER['F/B 3 seeds']}x "
        "over three seeds): there too E, which has no per-user content, scores about as F does.",
        "",
        "Answers that differ in text: "
        + "; ".join(
            f"{a} vs {b} {answers_differing(doc, a, b)[0]} of {answers_differing(doc, a, b)[1]}"
            for a, b in (("F", "E"), ("F", "F-swap"), ("F", "F-zero"), ("C", "A"))
        )
        + " (a differing answer need not change any metric: the rows mostly change tokens after the first line).",
        "",
        "## Invariants (checked in this run)",
        "",
        _md_table(["invariant", "holds"], [[k, v] for k, v in doc["invariants"].items()]),
        "",
        f"Report digest `{doc['digests']['report']}`; verify with `engram-probe layered verify REPORT.json "
        f"{verify_adapter_args(a)}` (re-runs the first user and compares every number).",
    ]
    return "\n".join(lines) + "\n"
