"""High-level operations shared by the CLI, the workbench UI and the notebooks.

Each function takes a loaded model and a store, does one job, and returns plain data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engram_probe.arch.loaded import LoadedModel
from engram_probe.memory.ids import check_user_id
from engram_probe.memory.store import LedgerEntry, MemoryStore, StoreError, UnknownUserError
from engram_probe.memory.store_file import Mode
from engram_probe.memory.user_memory import UserMemory
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
) -> tuple[WriteResult, LedgerEntry]:
    """Write facts for a user and commit them to the store in one transaction.

    Everything that can be refused is refused before the optimisation runs: a store opened for
    reading, a user id outside the stated rule, a user whose ledger check fails.
    """
    if not store.writable:
        raise StoreError(f"the store {store.path} was opened for reading only; nothing was written")
    if not store.has_user(user_id):
        check_user_id(user_id)
    user = load_or_empty(store, user_id)
    result = FactWriter(lm.model, lm.tokenizer, settings).write(user, specs, strategy, layer, progress)
    entry = store.add_facts(user_id, result.facts, operator=operator)
    return result, entry


def write_summary(result: WriteResult, entry: LedgerEntry) -> dict[str, Any]:
    """JSON-ready account of a write (the CLI's ``write --json`` output)."""
    facts = []
    per_prompt = iter(zip(result.recall_before, result.recall_after, strict=True))
    for f in result.facts:
        recalls = [next(per_prompt) for _ in f.triggers]
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
                "recall": {
                    "rank_before": recalls[0][0]["rank"],
                    "rank_after": recalls[0][1]["rank"],
                    "per_trigger": [{"before": b["rank"], "after": a["rank"]} for b, a in recalls],
                },
            }
        )
    out: dict[str, Any] = {
        "strategy": result.extra["strategy"],
        "layer": result.extra["layer"],
        "rows": result.rows,
        "bytes": result.bytes,
        "cost_ms": round(result.cost_ms, 2),
        "facts": facts,
        "ledger": entry.as_dict(),
    }
    if len(facts) == 1:
        out |= {"fact_id": facts[0]["fact_id"], "recall": facts[0]["recall"]}
    return out
