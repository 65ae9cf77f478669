"""The paper's cross-user probe, decomposed: ask each user the other users' questions with the shared table.

For a user B and a fact of another user A, each of A's prompts (the fact's triggers, and its other paraphrases
where the user data has them) is run "as B": with the shared table of every user's memory, B's listed last so
that B's rows win where B writes a row someone else writes (``MemoryOverlay``: last listed wins, the paper's
server). A probe "leaks" when the answer served to B is A's: the first answer token is top-1 at the prompt's
last position (the paper's measure), and, the stricter one, greedy generation gives A's whole answer.

Every leak is attributed with evidence, on the identical input tensor (the probe's teacher-forced continuation
of A's answer, ``answers.teacher_forced``):

- **read**: the probe's positions read rows of A's, and removing A's memory from the table takes the answer away
  (measured by the run without A);
- **coincidence**: the probe reads none of A's rows, so the logits without A's memory are bit-identical (proved
  by a byte comparison of the two runs' logits), and the answer comes from the base model (the run with no rows)
  or from B's own rows (the run with B's rows only);
- **other users**: the probe reads none of A's rows and the answer comes from rows of users other than A and B
  (the run with B's rows only loses it, the run without A keeps it);
- **read, no effect**: the probe reads A's rows but the answer survives without them (B's row wins, or the
  change does not move the answer); its source is named as above.

Candidates are screened in batches (right padding, causal: a prompt's last position never sees the padding)
with a margin, then every candidate is re-run alone, so a batched forward's rounding never decides a count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from engram_probe.arch.base import EngramModelBase
from engram_probe.audit.proof import bits
from engram_probe.memory.answers import AnswerError, answer_tokens, teacher_forced
from engram_probe.memory.generation import greedy
from engram_probe.memory.overlay import MemoryOverlay
from engram_probe.memory.user_memory import UserMemory
from engram_probe.memory.writing import pad_batch
from engram_probe.tokenizer import EngramTokenizer

READ, COINCIDENCE, OTHERS, READ_NO_EFFECT = "read", "coincidence", "other users", "read, no effect"
CLASSES = (READ, COINCIDENCE, OTHERS, READ_NO_EFFECT)
BASE, OWN = "base model", "own rows"  # the source of a coincidence
SCREEN_MARGIN = 1e-3  # a batched logit this close to the top is re-run alone (batched rounding is ~1e-6)
SCREEN_BATCH = 64

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Probe:
    """One of A's prompts, asked as another user: the prompt's tokens and A's answer tokens after it."""

    owner: str
    fact_id: str
    prompt: str
    kind: str  # "trigger" (a prompt the fact was written with) or "paraphrase"
    prompt_ids: tuple[int, ...]
    answer_ids: tuple[int, ...]

    @property
    def gold(self) -> int:
        return self.answer_ids[0]

    def teacher_forced(self) -> list[int]:
        """The probe's positions: the prompt, then A's answer but its last token."""
        return teacher_forced(list(self.prompt_ids), list(self.answer_ids))[0]


def paraphrase_prompts(fact: Mapping[str, Any]) -> list[str]:
    """Every paraphrase of a fact in the paper's user format cut just before its answer, where it ends with it
    (one trailing period ignored), in the file's order; paraphrases that do not end with the answer are skipped."""
    from engram_probe.data.synthetic_users import answer_text

    answer = answer_text(fact.get("answer", ""))
    out = []
    for para in fact.get("paraphrases") or []:
        if not isinstance(para, str) or not answer:
            continue
        body = para.rstrip()
        body = body[:-1] if body.endswith(".") else body
        if body.endswith(answer) and body[: len(body) - len(answer)].strip():
            out.append(body[: len(body) - len(answer)].rstrip())
    return list(dict.fromkeys(out))


def build_probes(
    tokenizer: EngramTokenizer,
    memories: Sequence[UserMemory],
    paraphrases: Mapping[tuple[str, str], Sequence[str]] | None = None,
) -> list[Probe]:
    """Every fact's triggers, then its paraphrases (``paraphrases[(user, first trigger)]``) not already triggers.

    A paraphrase whose answer the tokenizer cannot spell after it is skipped."""
    out = []
    for mem in memories:
        for f in mem.facts:
            extra = (paraphrases or {}).get((mem.user_id, f.triggers[0]), ())
            for i, prompt in enumerate(dict.fromkeys([*f.triggers, *extra])):
                kind = "trigger" if prompt in f.triggers else "paraphrase"
                if i == 0:
                    answer = list(f.answer_token_ids)
                else:
                    try:
                        answer = answer_tokens(tokenizer, prompt, f.answer)[: f.answer_length]
                    except AnswerError:
                        continue
                ids = tokenizer.encode(prompt)
                out.append(Probe(mem.user_id, f.fact_id, prompt, kind, tuple(ids), tuple(answer)))
    return out


class SharedTable:
    """Every user's memory in one table, and the views of it a probe of user B is compared against."""

    def __init__(self, memories: Sequence[UserMemory]):
        self.memories = {m.user_id: m for m in memories}
        if len(self.memories) != len(memories):
            raise ValueError("a user appears twice in the shared table")
        self._views: dict[tuple[str, str], MemoryOverlay] = {}  # one user's views at a time (see ``forget``)

    def _view(self, key: tuple[str, str], memories: Callable[[], list[UserMemory]]) -> MemoryOverlay:
        if key not in self._views:
            self._views[key] = MemoryOverlay(memories())
        return self._views[key]

    def as_user(self, user: str, without: str | None = None) -> MemoryOverlay:
        """The shared table serving ``user`` (their memory listed last, so their rows win), optionally without
        one other user's memory (not kept: a table without each of N users would hold N copies of the rows)."""
        others = [m for u, m in self.memories.items() if u not in (user, without)]
        if without is not None:
            return MemoryOverlay([*others, self.memories[user]])
        return self._view((user, "shared"), lambda: [*others, self.memories[user]])

    def only(self, user: str) -> MemoryOverlay:
        """A table holding only ``user``'s rows (the paper's per-user server swap)."""
        return self._view((user, "only"), lambda: [self.memories[user]])

    def forget(self) -> None:
        """Drop the kept views (call when moving on to the next user)."""
        self._views.clear()


@torch.no_grad()
def screen(model: EngramModelBase, probes: Sequence[Probe], overlay: MemoryOverlay | None, pad_id: int) -> list[bool]:
    """Per probe: whether its gold token is top-1, or within ``SCREEN_MARGIN`` of it, in a batched forward."""
    out: list[bool] = []
    for start in range(0, len(probes), SCREEN_BATCH):
        chunk = probes[start : start + SCREEN_BATCH]
        batch, last = pad_batch([p.prompt_ids for p in chunk], pad_id)
        logits = model(batch, overlay=overlay)[torch.arange(len(chunk)), last].float()
        gold = logits[torch.arange(len(chunk)), torch.tensor([p.gold for p in chunk])]
        out += (gold >= logits.max(-1).values - SCREEN_MARGIN).tolist()
    return out


@dataclass
class Reads:
    """Whose rows the probe's positions read. ``first_position``/``rows``: per user, the rows read whose served
    value is that user's (the last-listed owner's); ``owned``: rows read that the user owns, whoever's value wins."""

    first_position: dict[str, int] = field(default_factory=dict)
    rows: dict[str, set[tuple[int, int]]] = field(default_factory=dict)
    owned: dict[str, set[tuple[int, int]]] = field(default_factory=dict)

    def by(self, user: str, before: int | None = None) -> bool:
        """Whether a row holding ``user``'s value is read (at a position below ``before``, when given)."""
        at = self.first_position.get(user)
        return at is not None and (before is None or at < before)

    def users(self, before: int | None = None) -> list[str]:
        return [u for u in self.first_position if self.by(u, before)]


def reads_of(model: EngramModelBase, tokens: Sequence[int], overlay: MemoryOverlay) -> Reads:
    """Which users' rows each position of ``tokens`` reads in the overlay (``engram_addresses`` + ``owners_of``)."""
    out = Reads()
    addresses = model.engram_addresses(torch.tensor([list(tokens)]))
    for layer, addr in addresses.items():
        if layer not in overlay.layers:
            continue
        hit = overlay.hit_mask(layer, addr[0])
        for pos, head in torch.nonzero(hit).tolist():
            key = (layer, int(addr[0, pos, head]))
            owners = [user for user, _facts in overlay.owners_of(key)]
            for user in owners:
                out.owned.setdefault(user, set()).add(key)
            served = owners[-1]  # the last listed owner's value is the one read
            out.rows.setdefault(served, set()).add(key)
            if pos < out.first_position.get(served, len(tokens)):
                out.first_position[served] = pos
    return out


def _holds(logits: Tensor, probe: Probe, whole: bool) -> bool:
    """Teacher-forced: the first answer token is top-1 (``whole``: every answer token at its position)."""
    first = len(probe.prompt_ids) - 1
    n = len(probe.answer_ids) if whole else 1
    return bool((logits[first : first + n].argmax(-1) == torch.tensor(probe.answer_ids[:n])).all())


def _attribute(
    probe: Probe,
    user: str,
    reads: Reads,
    runs: Mapping[str, Tensor],
    whole: bool,
) -> dict[str, Any]:
    """The class of one leak under one measure, from the reads and the counterfactual runs' logits."""
    first = len(probe.prompt_ids) - 1
    stop = first + (len(probe.answer_ids) if whole else 1)  # positions 0..stop-1 decide the measure
    reads_owner = reads.by(probe.owner, stop)
    identical = torch.equal(bits(runs["shared"][:stop]), bits(runs["without owner"][:stop]))
    without = _holds(runs["without owner"], probe, whole)
    out: dict[str, Any] = {"reads_owner": reads_owner, "bit_identical_without_owner": identical}
    if reads_owner and not without:
        return {**out, "class": READ}
    if _holds(runs["no rows"], probe, whole):
        source = BASE
    elif _holds(runs["own rows"], probe, whole):
        source = OWN
    else:
        source = OTHERS
    out["source"] = source
    others = [u for u in reads.users(stop) if u not in (probe.owner, user)]
    if source == OTHERS:
        out["other_users"] = others
    if reads_owner:
        return {**out, "class": READ_NO_EFFECT}
    if not identical:  # cannot happen: no row of the owner's is read, so the runs differ in nothing they read
        raise AssertionError(f"probe {probe.prompt!r}: no row of {probe.owner}'s is read, yet the logits differ")
    return {**out, "class": COINCIDENCE if source != OTHERS else OTHERS}


@torch.no_grad()
def examine(model: EngramModelBase, table: SharedTable, user: str, probe: Probe) -> dict[str, Any] | None:
    """One candidate re-run alone as ``user``; None unless the served first token is the owner's, else the leak's
    record: the served answer, whether it is the owner's whole answer, and its attribution under both measures."""
    shared = table.as_user(user)
    new, first_logits = greedy(model, list(probe.prompt_ids), shared, len(probe.answer_ids))
    if int(first_logits.argmax()) != probe.gold:
        return None
    exact = new == list(probe.answer_ids)
    tokens = probe.teacher_forced()
    x = torch.tensor([tokens])
    views = {
        "shared": shared,
        "without owner": table.as_user(user, without=probe.owner),
        "own rows": table.only(user),
        "no rows": None,
    }
    runs = {name: model(x, overlay=view)[0].float() for name, view in views.items()}
    reads = reads_of(model, tokens, shared)
    record: dict[str, Any] = {
        "user": user,
        "owner": probe.owner,
        "fact_id": probe.fact_id,
        "prompt": probe.prompt,
        "kind": probe.kind,
        "served": new,
        "exact": exact,
        "first_token": _attribute(probe, user, reads, runs, whole=False),
        "users_read": {u: [list(r) for r in sorted(reads.rows[u])] for u in reads.users()},
        "owner_rows_owned_not_served": len(reads.owned.get(probe.owner, set()) - reads.rows.get(probe.owner, set())),
        "owner_first_position": reads.first_position.get(probe.owner),
    }
    if exact:
        record["whole_answer"] = _attribute(probe, user, reads, runs, whole=True)
    return record


@torch.no_grad()
def own_rows_leak(model: EngramModelBase, table: SharedTable, user: str, probe: Probe) -> bool:
    """Whether the owner's first token is top-1 with ``user``'s rows only (the paper's per-user server)."""
    logits = model(torch.tensor([list(probe.prompt_ids)]), overlay=table.only(user))[0, -1]
    return int(logits.argmax()) == probe.gold


def cross_user_probe(
    model: EngramModelBase,
    tokenizer: EngramTokenizer,
    memories: Sequence[UserMemory],
    paraphrases: Mapping[tuple[str, str], Sequence[str]] | None = None,
    own_table_rate: bool = True,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Ask every user every other user's probes with the shared table; the leaks, attributed (see the module).

    ``own_table_rate``: also count the leaks with B's rows only (the paper's per-user server swap)."""
    from engram_probe.isolation.probe_summary import summarise

    table = SharedTable(memories)
    probes = build_probes(tokenizer, memories, paraphrases)
    users = list(table.memories)
    total = sum(1 for u in users for p in probes if p.owner != u)
    done, leaks, own_leaks = 0, [], 0
    for user in users:
        asked = [p for p in probes if p.owner != user]
        flagged = screen(model, asked, table.as_user(user), tokenizer.bos_id)
        for p in (p for p, hit in zip(asked, flagged, strict=True) if hit):
            record = examine(model, table, user, p)
            if record is not None:
                leaks.append(record)
        if own_table_rate:
            flagged = screen(model, asked, table.only(user), tokenizer.bos_id)
            own_leaks += sum(own_rows_leak(model, table, user, p) for p, hit in zip(asked, flagged, strict=True) if hit)
        done += len(asked)
        table.forget()
        if progress:
            progress(done, total, f"{user}: {len(leaks):,} answers served from another user so far")
    return summarise(leaks, total, probes, users, own_leaks if own_table_rate else None)


def probes_by_kind(probes: Iterable[Probe]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in probes:
        out[p.kind] = out.get(p.kind, 0) + 1
    return out
