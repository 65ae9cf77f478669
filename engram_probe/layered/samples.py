"""Text samples of the layered protocol, built from user records in the paper's format."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from engram_probe.data.synthetic_users import fact_prompt
from engram_probe.memory.writing import FactSpec

REASONING_PER_USER = 20
INDIRECT_PER_USER = 20


@dataclass(frozen=True)
class IndirectProbe:
    """One indirect question: the model must combine stored facts to answer it."""

    question: str
    gold: str
    schema: str
    required: tuple[str, ...]

    @property
    def prompt(self) -> str:
        return f"Q: {self.question}\nA:"


def fact_statement(fact: dict[str, Any]) -> str:
    """'<prompt> <answer>' from the first paraphrase that ends with the answer (the paper's completion form)."""
    prompt, answer = fact_prompt(fact)
    return f"{prompt} {answer}"


def statements_by_key(user: dict[str, Any]) -> dict[str, str]:
    return {str(f.get("key")): fact_statement(f) for f in user["facts"]}


def reasoning_sample(user: dict[str, Any], item: dict[str, Any]) -> str | None:
    """'Facts: <f1>. <f2>.\\nQ: <question>\\nA: <gold>' with only the facts the question needs."""
    by_key = statements_by_key(user)
    needed = [by_key[k] for k in item.get("required_fact_keys", []) if k in by_key]
    if not needed:
        return None
    return f"Facts: {'. '.join(needed)}.\nQ: {item['question']}\nA: {item['answer']}"


def adapter_corpus(users: list[dict[str, Any]], seed: int = 42) -> list[str]:
    """Fact statements of every user plus up to 20 reasoning samples each (indirect items shuffled first)."""
    rng = random.Random(seed)
    out: list[str] = []
    for user in users:
        out += [fact_statement(f) for f in user["facts"]]
        items = list(user.get("indirect_qa", []))
        rng.shuffle(items)
        samples = [s for s in (reasoning_sample(user, it) for it in items) if s is not None]
        out += samples[:REASONING_PER_USER]
    return out


def direct_specs(user: dict[str, Any]) -> list[FactSpec]:
    return [FactSpec.of(*fact_prompt(f), key=f.get("key")) for f in user["facts"]]


def indirect_probes(user: dict[str, Any], limit: int = INDIRECT_PER_USER) -> list[IndirectProbe]:
    """The first ``limit`` indirect questions of a user, as in the paper's protocol."""
    return [
        IndirectProbe(
            str(it["question"]), str(it["answer"]), str(it.get("schema", "")), tuple(it.get("required_fact_keys", []))
        )
        for it in user.get("indirect_qa", [])[:limit]
    ]
