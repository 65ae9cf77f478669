"""Verify a layered report: digests, model, adapter, its aggregate, and a re-run of its first user."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

from engram_probe.arch.loaded import LoadedModel
from engram_probe.layered.adapter import SharedAdapter
from engram_probe.layered.evaluate import LAYERED_FORMAT, LayeredSettings, aggregate, evaluate_layered
from engram_probe.layered.users import UsersError, load_layered_users, users_digest
from engram_probe.report.checks import differing_fields, outcome
from engram_probe.report.kernel import body_digest, differences

# Compared exactly on the re-run (the run is deterministic for the same threads and inputs).
COMPARED = ("A", "B", "C", "D", "E", "F", "F-zero")


class VerifyError(ValueError):
    """A report that cannot be read or is not a layered report."""


def _settings(doc: dict[str, Any]) -> LayeredSettings:
    from engram_probe.audit.lora import LoraSettings
    from engram_probe.memory.writing import WriteSettings

    s = doc["settings"]
    simple = {f.name: s[f.name] for f in fields(LayeredSettings) if f.name not in ("write", "lora") and f.name in s}
    return LayeredSettings(**simple, write=WriteSettings(**s["write"]), lora=LoraSettings(**s["per_user_lora"]))


# Row values written by `joint` in another process can differ in the last bits (measured: summed values
# 848.39447 vs 848.39453 on a tiny model), which moves held-out losses by ~1e-9; every answer, count and
# score must still be identical.
LOSS_RTOL = 1e-6


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or abs(a - b) <= LOSS_RTOL * max(abs(a), abs(b))
    return a == b


def verify_layered(path: str | Path, lm: LoadedModel, adapter: SharedAdapter, progress: Any = None) -> dict[str, Any]:
    """Return {ok, checks}: digests, the aggregate re-derived from the per-user results, and the first user re-run."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VerifyError(f"cannot read {path}: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != LAYERED_FORMAT:
        raise VerifyError(f"{path} is not a layered report")
    checks = []

    def check(name: str, ok: bool, detail: str, failed: str | None = None) -> None:
        checks.append(outcome(name, ok, detail, detail if failed is None else failed))

    check(
        "report digest",
        body_digest(doc) == doc["digests"]["report"],
        "the report's body hashes to its recorded digest",
        "the report's body does not hash to its recorded digest: the report was edited after it was written",
    )
    check(
        "model",
        lm.weights_sha256 == doc["model"]["sha256"],
        f"the loaded model's weights match the report's digest ({lm.weights_sha256[:16]}…)",
        f"the loaded model's weights hash to {lm.weights_sha256[:16]}…, not the report's "
        f"{str(doc['model']['sha256'])[:16]}…",
    )
    check(
        "adapter",
        adapter.digest == doc["digests"]["adapter"],
        f"the shared adapter matches the report's digest ({adapter.digest[:16]}…)",
        f"the shared adapter hashes to {adapter.digest[:16]}…, not the report's {str(doc['digests']['adapter'])[:16]}…",
    )
    # the aggregate is a function of the per-user results: re-derive it (JSON types: tuples become lists)
    again_agg = json.loads(json.dumps(aggregate(doc["users"], doc["settings"]["bootstrap"])))
    agg_diff = differences(doc["aggregate"], again_agg, skip=frozenset())
    check(
        "aggregate",
        not agg_diff,
        "re-derived from the per-user results: identical"
        if not agg_diff
        else f"re-derived from the per-user results: {len(agg_diff)} values differ: {differing_fields(agg_diff)}",
    )
    src = doc["test_users"]
    try:
        users = load_layered_users(src["source"], ",".join(src["uids"]), facts=src.get("facts_per_user"))
    except UsersError as exc:
        check("test users", False, str(exc))
        return {"ok": False, "checks": checks}
    check(
        "test users",
        users_digest(users) == src["sha256"],
        f"the {len(users)} test users from {src['source']} match the report's digest",
        f"the {len(users)} test users from {src['source']} do not match the report's digest",
    )
    first = users[0]
    again = evaluate_layered(lm, adapter, [first], _settings(doc), progress)["users"][0]["conditions"]
    recorded = doc["users"][0]["conditions"]
    for cond in COMPARED:
        a = {k: v for k, v in again[cond].items() if k != "rows_sha256"}
        b = {k: v for k, v in recorded[cond].items() if k != "rows_sha256"}
        diff = sorted(k for k in a if not _same(a[k], b.get(k)))
        check(
            f"re-run {first['uid']} condition {cond}",
            not diff,
            "identical (answers, counts and scores; losses within 1e-6 relative)",
            f"differs in {', '.join(diff)}",
        )
    return {"ok": all(c["ok"] for c in checks), "checks": checks}
