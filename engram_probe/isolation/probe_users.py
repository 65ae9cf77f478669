"""The cross-user probe's users: user files in the paper's format written into memories (or read from a store)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from engram_probe.arch.loaded import LoadedModel
from engram_probe.isolation.probe import paraphrase_prompts
from engram_probe.memory.store import MemoryStore
from engram_probe.memory.user_memory import Fact, UserMemory
from engram_probe.memory.writing import FactSpec, FactWriter, WriteSettings, resolve_layer

Progress = Callable[[int, int, str], None]


def record_specs(record: Mapping[str, Any], limit: int | None = None) -> list[tuple[FactSpec, list[str]]]:
    """A user file's facts (the first ``limit``) as the recall evaluation writes them (one trigger: the first
    paraphrase cut before the answer), each with its other paraphrases cut the same way."""
    from engram_probe.memory.operations import specs_from_user_record

    facts = list(record["facts"])[:limit]
    specs = specs_from_user_record({**record, "facts": facts})
    return [(s, [p for p in paraphrase_prompts(f) if p not in s.triggers]) for s, f in zip(specs, facts, strict=True)]


def fits(writer: FactWriter, spec: FactSpec) -> bool:
    """Whether this model can hold the fact: its tokenizer spells the answer and the context holds it."""
    try:
        writer.prepare(spec, resolve_layer(writer.model, None))
    except ValueError:  # an AnswerError too
        return False
    return True


def probe_memories(
    lm: LoadedModel,
    records: Sequence[Mapping[str, Any]],
    limit: int | None = None,
    strategy: str = "opt",
    store: MemoryStore | None = None,
    settings: WriteSettings | None = None,
    progress: Progress | None = None,
) -> tuple[list[UserMemory], dict[tuple[str, str], list[str]], int]:
    """Each user's memory, the paraphrases of each fact (by user and first trigger), and how many facts were
    written now. A fact the store already holds for that user with the same first trigger and answer is reused;
    the others are written fact by fact and, with a store, committed per user. A fact this model cannot hold
    (see ``fits``) is left out."""
    writer = FactWriter(lm.model, lm.tokenizer, settings)
    wanted = [(str(r["uid"]), [(s, x) for s, x in record_specs(r, limit) if fits(writer, s)]) for r in records]
    total = sum(len(specs) for _, specs in wanted)
    memories, paraphrases, done, written = [], {}, 0, 0
    for uid, specs in wanted:
        stored = store.load(uid) if store is not None and store.has_user(uid) else UserMemory(uid)
        have = {(f.triggers[0], f.answer): f for f in stored.facts}
        kept = [have[(s.triggers[0], s.answer)] for s, _ in specs if (s.triggers[0], s.answer) in have]
        missing = [s for s, _ in specs if (s.triggers[0], s.answer) not in have]
        done += len(specs) - len(missing)
        new: list[Fact] = []
        for spec in missing:
            res = writer.write(UserMemory(uid, [*kept, *new]), [spec], strategy)
            new += res.facts
            done += 1
            if progress:
                progress(done, total, f"writing {uid}")
        if new and store is not None:
            store.add_facts(uid, new, detail={"by": "isolation probe"})
        written += len(new)
        memories.append(UserMemory(uid, [*kept, *new]))
        for spec, extra in specs:
            paraphrases[(uid, spec.triggers[0])] = extra
    return memories, paraphrases, written
