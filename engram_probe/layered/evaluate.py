"""Evaluate conditions A-F and both controls over test users; aggregate with the paper's and stricter metrics."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from engram_probe.arch.loaded import LoadedModel
from engram_probe.arch.weights import tensors_digest
from engram_probe.arch.workbench_checkpoint import weights_digest
from engram_probe.audit.engine import generated_heldout
from engram_probe.audit.lora import LoraSettings
from engram_probe.layered.adapter import SharedAdapter
from engram_probe.layered.conditions import (
    CONDITIONS,
    PER_USER_LORA,
    Condition,
    build_conditions,
    row_keys,
    with_swap,
    write_rows,
)
from engram_probe.layered.evidence import RULE, never_read_share, probe_reads
from engram_probe.layered.samples import direct_specs, indirect_probes
from engram_probe.layered.scoring import answer_indirect, direct_ranks, heldout_loss, summarise
from engram_probe.layered.users import users_digest
from engram_probe.memory.user_memory import UserMemory
from engram_probe.memory.writing import WriteSettings
from engram_probe.report.kernel import body_digest, environment

LAYERED_FORMAT = "engram-probe-layered/1"
UserProgress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class LayeredSettings:
    indirect_per_user: int = 20
    heldout_docs: int = 8
    heldout_seed: int = 12345
    bootstrap: int = 2000
    write: WriteSettings = field(default_factory=WriteSettings)
    lora: LoraSettings = PER_USER_LORA


def _lora_digest(cond: Condition) -> str | None:
    state = {n: p.detach() for n, p in cond.model.named_parameters() if "lora_" in n}
    return tensors_digest(state) if state else None


def _score(
    lm: LoadedModel,
    cond: Condition,
    user: dict[str, Any],
    s: LayeredSettings,
    texts: list[str],
    loss_cache: dict[str, float],
) -> tuple[dict[str, Any], list[Any]]:
    overlay = cond.overlay
    ranks = direct_ranks(lm, cond.model, overlay, direct_specs(user))
    answers = answer_indirect(lm, cond.model, overlay, indirect_probes(user, s.indirect_per_user))
    # A and E are the same for every user; every other condition depends on the user's own rows or LoRA
    key = cond.name if cond.name in ("A", "E") else f"{cond.name}:{user['uid']}"
    if key not in loss_cache:
        loss_cache[key] = heldout_loss(lm, cond.model, overlay, texts)
    out = {
        **cond.describe(),
        **summarise(ranks, answers),
        "heldout_loss": loss_cache[key],
        "adapter_sha256": _lora_digest(cond) if cond.name in ("E", "F", "F-swap", "F-zero") else None,
        "answers": [a.as_dict() for a in answers],
    }
    return out, answers


def evaluate_layered(
    lm: LoadedModel,
    adapter: SharedAdapter,
    users: Sequence[dict[str, Any]],
    settings: LayeredSettings | None = None,
    progress: UserProgress | None = None,
    users_source: str = "inline",
    adapter_path: str | None = None,
    partner: dict[str, Any] | None = None,
    facts_per_user: int | None = None,
) -> dict[str, Any]:
    """Every condition for every user; F-swap pairs user i with user i+1's F rows.

    With a single user, F-swap uses the F rows of ``partner`` (written here, not evaluated); without a
    partner it is left out.
    """
    s = settings or LayeredSettings()
    if not users:
        raise ValueError("no test users")
    base_before = weights_digest(lm.model)
    adapter_model = adapter.attach(lm.model)
    texts = list(generated_heldout(s.heldout_docs, s.heldout_seed).texts)  # the default count and seed: pinned
    cache: dict[str, float] = {}
    per_user: list[dict[str, Any]] = []
    f_rows: list[UserMemory] = []
    all_conds = []
    total = len(users) * 12  # per user: 4 trainings, 7 conditions scored, then one F-swap each
    for i, user in enumerate(users):
        uid = user["uid"]

        def inner(step: int, _total: int, msg: str, base: int = 11 * i, uid: str = uid) -> None:
            if progress:
                progress(base + step, total, f"{uid}: {msg}")

        conds, extra = build_conditions(lm, adapter_model, uid, direct_specs(user), s.write, s.lora, inner)
        scores, evidence = {}, []
        for k, (name, cond) in enumerate(conds.items()):
            inner(5 + k, total, f"scoring {name}")
            scores[name], answers = _score(lm, cond, user, s, texts, cache)
            if name == "F":
                evidence = [probe_reads(lm, cond.rows, a) for a in answers]
        per_user.append({"user": uid, "conditions": scores, "evidence": evidence, **extra})
        f_rows.append(conds["F"].rows)
        all_conds.append(conds)
        inner(11, total, "conditions A-F done")
    donors = list(users[1:]) + [users[0]] if len(users) > 1 else ([partner] if partner else [])
    if len(users) == 1 and partner is not None:
        f_rows = [write_rows(lm, adapter_model, partner["uid"], direct_specs(partner), s.write)]
    else:
        f_rows = f_rows[1:] + f_rows[:1]
    for i, user in enumerate(users):
        if donors:
            conds = with_swap(all_conds[i], f_rows[i])
            scored, _ = _score(lm, conds["F-swap"], user, s, texts, cache)
            scored["rows_from"] = donors[i]["uid"]
            got = {**per_user[i]["conditions"], "F-swap": scored}
            per_user[i]["conditions"] = {k: got[k] for k in CONDITIONS if k in got}  # the letters' order
        if progress:
            progress(11 * len(users) + i + 1, total, f"{user['uid']}: F-swap")
    invariants = _invariants(lm, all_conds, per_user, base_before)
    doc: dict[str, Any] = {
        "format": LAYERED_FORMAT,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "model": {
            "sha256": lm.weights_sha256,
            "path": str(lm.path) if lm.path else None,
            "architecture": lm.model.architecture,
            "contract_digest": lm.model.hasher.address_digest(),
        },
        "adapter": {**adapter.describe(), "path": adapter_path},
        "test_users": {
            "source": users_source,
            "uids": [u["uid"] for u in users],
            "facts_per_user": facts_per_user,
            "sha256": users_digest(users),
        },
        "conditions": CONDITIONS,
        "settings": {
            **{k: v for k, v in asdict(s).items() if k not in ("write", "lora")},
            "write": asdict(s.write),
            "per_user_lora": asdict(s.lora),
        },
        "environment": environment(),
        "users": per_user,
        "aggregate": aggregate(per_user, s.bootstrap),
        "evidence_rule": RULE,
        "invariants": invariants,
    }
    doc["digests"] = {"algorithm": "sha256", "model": lm.weights_sha256, "adapter": adapter.digest}
    doc["digests"]["report"] = body_digest(doc)
    return doc


def _invariants(
    lm: LoadedModel, all_conds: list[dict[str, Condition]], per_user: list[dict[str, Any]], base_before: str
) -> dict[str, Any]:
    adapters = {c["conditions"][n]["adapter_sha256"] for c in per_user for n in ("E", "F", "F-zero")}
    return {
        "base_weights_unchanged": weights_digest(lm.model) == base_before,
        "E_and_F_share_adapter_bytes": len(adapters) == 1 and None not in adapters,
        "C_and_F_share_rows": all(row_keys(c["C"].rows) == row_keys(c["F"].rows) for c in all_conds),
        "F_zero_rows_are_zero": all(
            all(float(f.values.abs().max()) == 0.0 for f in c["F-zero"].rows.facts) for c in all_conds
        ),
    }


def _micro(per_user: list[dict[str, Any]], cond: str, metric: str, weight: str) -> float:
    rows = [u["conditions"][cond] for u in per_user if cond in u["conditions"]]
    n = sum(r[weight] for r in rows)
    return sum(r[metric] * r[weight] for r in rows) / n if n else 0.0


def bootstrap_ci(diffs: Sequence[float], n: int, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of the mean of ``diffs``, resampling users with replacement."""
    arr = np.asarray(diffs, dtype=np.float64)
    if arr.size < 2:
        return (float(arr.mean()) if arr.size else 0.0,) * 2  # type: ignore[return-value]
    rng = np.random.default_rng(seed)
    means = arr[rng.integers(0, arr.size, size=(n, arr.size))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def aggregate(per_user: list[dict[str, Any]], n_boot: int) -> dict[str, Any]:
    table = {}
    loss_a = per_user[0]["conditions"]["A"]["heldout_loss"]
    for cond in CONDITIONS:
        rows = [u["conditions"][cond] for u in per_user if cond in u["conditions"]]
        if not rows:
            continue
        table[cond] = {
            "what": CONDITIONS[cond],
            "users": len(rows),
            **{m: _micro(per_user, cond, m, "direct_n") for m in ("direct_top1", "direct_top5")},
            **{
                m: _micro(per_user, cond, m, "indirect_n")
                for m in ("indirect_top1", "indirect_any", "first_word_exact", "exact_answer")
            },
            "indirect_any_strict": _micro(per_user, cond, "indirect_any_strict", "strict_n"),
            "heldout_loss_delta": float(np.mean([r["heldout_loss"] for r in rows])) - loss_a,
            "users_worse_than_A_indirect_any": sum(
                u["conditions"][cond]["indirect_any"] < u["conditions"]["A"]["indirect_any"]
                for u in per_user
                if cond in u["conditions"]
            ),
        }
    out: dict[str, Any] = {"table": table}
    for a, b in (("F", "E"), ("F", "B"), ("F", "F-swap"), ("F", "F-zero")):
        if a in table and b in table:
            for metric in ("indirect_any", "indirect_top1", "direct_top1", "indirect_any_strict"):
                diffs = [
                    u["conditions"][a][metric] - u["conditions"][b][metric] for u in per_user if b in u["conditions"]
                ]
                lo, hi = bootstrap_ci(diffs, n_boot)
                out[f"{a} - {b} {metric}"] = {"mean": float(np.mean(diffs)), "ci95": [lo, hi], "users": len(diffs)}
    if "B" in table and table["B"]["indirect_any"] > 0:
        out["F / B indirect_any"] = table["F"]["indirect_any"] / table["B"]["indirect_any"]
    evidence = [e for u in per_user for e in u["evidence"]]
    out["indirect_probes"] = len(evidence)
    out["share_of_indirect_probes_never_reading_rows"] = never_read_share(evidence)
    out["share_of_answers_reading_rows_while_generating"] = (
        sum(bool(e["generated_positions"]) for e in evidence) / len(evidence) if evidence else 0.0
    )
    return out
