"""High-level operations shared by the CLI, the workbench UI and the notebooks.

Each function takes a loaded model and a store, does one job, and returns plain data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engram_probe.arch.loaded import LoadedModel
from engram_probe.contracts.base import RowKey
from engram_probe.memory.answers import teacher_forced
from engram_probe.memory.ids import check_user_id, printable
from engram_probe.memory.store import LedgerEntry, MemoryStore, StoreError, UnknownUserError
from engram_probe.memory.store_file import Mode
from engram_probe.memory.user_memory import Fact, UserMemory
from engram_probe.memory.writing import FactSpec, FactWriter, Progress, WriteResult, WriteSettings


def open_store(path: str | Path, lm: LoadedModel, mode: Mode = "create") -> MemoryStore:
    """Open a store bound to this model's weights digest: ``read`` (read-only), ``change`` or ``create``."""
    return MemoryStore(path, lm.weights_sha256, mode)


def load_or_empty(store: MemoryStore, user_id: str) -> UserMemory:
    try:
        return store.load(user_id)
    except UnknownUserError:
        return UserMemory(user_id)


def specs_from_user_record(user: dict[str, Any]) -> list[FactSpec]:
    """Facts of a user file in the paper's format: prompt = paraphrase prefix before the answer."""
    from engram_probe.data.synthetic_users import fact_prompt

    return [FactSpec.of(*fact_prompt(f), key=f.get("key")) for f in user["facts"]]


def specs_from_file(path: str | Path) -> list[FactSpec]:
    """Read facts for a joint write.

    Accepts a list of ``{"prompt" | "triggers", "answer"}`` objects, ``{"facts": [...]}`` with
    such objects, or a user file in the paper's format (``uid``, ``facts`` with paraphrases).
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read facts file {p}: {exc}") from exc
    if isinstance(data, dict) and "uid" in data and "facts" in data:
        return specs_from_user_record(data)
    items = data.get("facts") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise ValueError(f"{p} holds no facts (expected a list of {{prompt, answer}} objects)")
    specs = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "answer" not in item or not ("prompt" in item or "triggers" in item):
            raise ValueError(f"{p}: fact {i} needs 'answer' and 'prompt' (or 'triggers')")
        triggers = item.get("triggers") or [item["prompt"]]
        if not isinstance(triggers, list) or not isinstance(item["answer"], str | int | float):
            raise ValueError(f"{p}: fact {i}: field triggers must be a list of prompts and answer a text")
        try:
            specs.append(FactSpec.of(triggers, str(item["answer"]), item.get("key")))
        except ValueError as exc:
            raise ValueError(f"{p}: fact {i}: {exc}") from exc
    return specs


RECALL_RULE = "recalled: the answer is the top-1 token after the write (and greedy generation gives the whole answer)"


def is_recalled(recall: dict[str, Any]) -> bool:
    """A recall after a write counts only when the answer is top-1 and, where measured, generated in full."""
    return recall.get("rank") == 1 and recall.get("exact", True) is True


@dataclass(frozen=True)
class TriggerConflict:
    """A trigger of the write that one of the user's facts (or another fact of the same write) already has."""

    trigger: str
    fact_id: str
    answer: str

    def as_dict(self) -> dict[str, Any]:
        return {"trigger": self.trigger, "fact_id": self.fact_id, "answer": self.answer}


class ConflictError(StoreError):
    """A write refused because the user already has a fact for one of its triggers; nothing was written."""

    def __init__(self, user_id: str, conflicts: Sequence[TriggerConflict]):
        self.user_id = user_id
        self.conflicts = list(conflicts)
        listed = "; ".join(
            f"the trigger {printable(c.trigger)!r} already answers {printable(c.answer)!r} (fact {c.fact_id})"
            for c in self.conflicts[:3]
        ) + (f" (and {len(self.conflicts) - 3} more)" if len(self.conflicts) > 3 else "")
        super().__init__(
            f"user {user_id!r} already has this trigger: {listed}. Nothing was written: choose to replace the "
            "existing fact (supersede: it is erased first) or keep it."
        )


def trigger_conflicts(user: UserMemory, specs: Sequence[FactSpec]) -> list[TriggerConflict]:
    """The write's triggers that the user's facts already have (same text, exactly), one per existing fact.

    Two facts of one write with the same trigger are refused outright (a ``ValueError``): there is nothing to keep.
    """
    seen: dict[str, str] = {}
    for spec in specs:
        for t in dict.fromkeys(spec.triggers):
            if t in seen and seen[t] != spec.answer:
                raise ValueError(
                    f"two facts of this write have the trigger {printable(t)!r} ({printable(seen[t])!r} and "
                    f"{printable(spec.answer)!r}); write one of them"
                )
            seen.setdefault(t, spec.answer)
    out: dict[str, TriggerConflict] = {}
    for f in user.facts:
        hit = next((t for t in f.triggers if t in seen), None)
        if hit is not None:
            out.setdefault(f.fact_id, TriggerConflict(hit, f.fact_id, f.answer))
    return list(out.values())


def write_facts(
    lm: LoadedModel,
    store: MemoryStore,
    user_id: str,
    specs: Sequence[FactSpec],
    strategy: str = "opt",
    layer: str | int | None = None,
    settings: WriteSettings | None = None,
    progress: Progress | None = None,
    operator: str | None = None,
    supersede: bool = False,
) -> tuple[WriteResult, LedgerEntry]:
    """Write facts for a user and commit them to the store.

    Everything that can be refused is refused before the optimisation runs: a store opened for
    reading, a user id outside the stated rule, a user whose ledger check fails, and a trigger the
    user already has (a ``ConflictError``) unless ``supersede``: then the facts it replaces are erased
    first (their own ledger entry, in ``result.extra["superseded"]``) and the write's entry names them.
    Rows that other users already write are found before anything is stored
    (``result.extra["shared_with_other_users"]``).
    """
    if not store.writable:
        raise StoreError(f"the store {store.path} was opened for reading only; nothing was written")
    if not store.has_user(user_id):
        check_user_id(user_id)
    user = load_or_empty(store, user_id)
    conflicts = trigger_conflicts(user, specs)
    if conflicts and not supersede:
        raise ConflictError(user_id, conflicts)
    replaced = [c.fact_id for c in conflicts]
    base = user.without(set(replaced)) if replaced else user
    result = FactWriter(lm.model, lm.tokenizer, settings).write(base, specs, strategy, layer, progress)
    result.extra["shared_with_other_users"] = shared_with_others(lm, store, user_id, result.facts)
    if not replaced:
        return result, store.add_facts(user_id, result.facts, operator=operator)
    erased, entry = store.supersede(user_id, replaced, result.facts, operator=operator)  # both entries, or neither
    result.extra["superseded"] = {"facts": [c.as_dict() for c in conflicts], "ledger": erased.as_dict()}
    return result, entry


def fact_ngrams(lm: LoadedModel, fact: Fact) -> dict[RowKey, set[tuple[int, ...]]]:
    """For each row the fact owns, the (hashed) n-grams through which its triggers' teacher-forced positions read
    that row (``answers.teacher_forced``: the trigger's last position, then each answer token's but the last)."""
    hasher = lm.model.hasher
    own = set(fact.rows)
    out: dict[RowKey, set[tuple[int, ...]]] = {}
    for trigger in fact.triggers:
        seq, positions = teacher_forced(lm.tokenizer.encode(trigger), fact.answer_token_ids)
        ids = np.asarray(seq, dtype=np.int64)
        if fact.layer not in hasher.layers or len(ids) > lm.model.max_tokens:
            continue
        addr = hasher.addresses(ids, fact.layer)
        hashed = hasher.hash_inputs(ids)
        for p in positions:
            for col in hasher.columns(fact.layer):
                key = (fact.layer, int(addr[p, col.column]))
                if key in own:
                    out.setdefault(key, set()).add(hasher.ngram_from(hashed, p, col.order))
    return out


def shared_with_others(
    lm: LoadedModel, store: MemoryStore, user_id: str, facts: Sequence[Fact]
) -> list[dict[str, Any]]:
    """Every other user's fact that writes rows these facts write, row by row: shared by content (the same
    trigger n-gram reads it), by hash collision (different n-grams land on it), or unattributed (no trigger of
    the other fact reads it). One record per (new fact, other user's fact)."""
    mine = {f.fact_id: set(f.rows) for f in facts}
    every = set().union(*mine.values()) if mine else set()
    grams = {f.fact_id: fact_ngrams(lm, f) for f in facts}
    out: list[dict[str, Any]] = []
    for other in store.user_ids():
        if other == user_id:
            continue
        try:
            memory = store.load(other, check=False)
        except StoreError:
            continue  # an unreadable user is the ledger check's finding, not this one's
        for g in memory.facts:
            theirs = set(g.rows)
            if not theirs & every:
                continue
            their_grams = fact_ngrams(lm, g)
            for f in facts:
                common = sorted(mine[f.fact_id] & theirs)
                if not common:
                    continue
                rows = []
                for key in common:
                    a, b = grams[f.fact_id].get(key, set()), their_grams.get(key, set())
                    sharing = "content" if a & b else ("hash collision" if a and b else "unattributed")
                    rows.append({"layer": key[0], "row": key[1], "sharing": sharing})
                out.append(
                    {
                        "fact_id": f.fact_id,
                        "user": other,
                        "other_fact_id": g.fact_id,
                        "other_trigger": g.triggers[0],
                        "rows": rows,
                        "by_content": sum(r["sharing"] == "content" for r in rows),
                        "by_hash_collision": sum(r["sharing"] == "hash collision" for r in rows),
                    }
                )
    return out


def _recall_record(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    rec = {"before": before["rank"], "after": after["rank"], "recalled": is_recalled(after)}
    for key in ("exact", "generated"):
        if key in after:
            rec[key] = after[key]
    return rec


def write_summary(result: WriteResult, entry: LedgerEntry) -> dict[str, Any]:
    """JSON-ready account of a write (the CLI's ``write --json`` output).

    Each fact says whether it is recalled after the write (``recalled``: every trigger's answer is top-1, and
    generated in full where that is measured), the rank reached, and the other users whose rows it shares.
    """
    facts = []
    per_prompt = iter(zip(result.recall_before, result.recall_after, strict=True))
    shared = result.extra.get("shared_with_other_users", [])
    for f in result.facts:
        recalls = [_recall_record(*next(per_prompt)) for _ in f.triggers]
        first = recalls[0]
        recall = {"rank_before": first["before"], "rank_after": first["after"], "per_trigger": recalls}
        recall |= {k: first[k] for k in ("exact", "generated") if k in first}
        facts.append(
            {
                "fact_id": f.fact_id,
                "triggers": f.triggers,
                "answer": f.answer,
                "gold_token": f.gold_token,
                "gold_token_id": f.gold_token_id,
                "rows": [list(r) for r in f.rows],
                "bytes": f.bytes,
                "cost_ms": round(f.cost_ms, 2),
                "recalled": all(r["recalled"] for r in recalls),
                "recall": recall,
                "shared_with_other_users": [s for s in shared if s["fact_id"] == f.fact_id],
            }
        )
    out: dict[str, Any] = {
        "strategy": result.extra["strategy"],
        "layer": result.extra["layer"],
        "rows": result.rows,
        "bytes": result.bytes,
        "cost_ms": round(result.cost_ms, 2),
        "facts": facts,
        "recalled": all(f["recalled"] for f in facts),
        "recall_rule": RECALL_RULE,
        "shared_with_other_users": shared,
        "superseded": result.extra.get("superseded"),
        "ledger": entry.as_dict(),
    }
    if len(facts) == 1:
        out |= {"fact_id": facts[0]["fact_id"], "recall": facts[0]["recall"]}
    return out
