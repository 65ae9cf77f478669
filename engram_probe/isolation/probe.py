"""The paper's cross-user probe, decomposed: ask each user the other users' questions with the shared table.

For a user B and a fact of another user A, each of A's prompts (the fact's triggers, and its other paraphrases
where the user data has them) is run "as B": with the shared table of every user's memory, B's listed last so
that B's rows win where B writes a row someone else writes (``MemoryOverlay``: last listed wins, the paper's
server). A probe "leaks" when the answer served to B is A's: the first answer token is top-1 at the prompt's
last position (the paper's measure), and, the stricter one, greedy generation gives A's whole answer.

Every leak is attributed with evidence, on the identical input tensor (the probe's teacher-forced continuation
of A's answer, ``answers.teacher_forced``), from the positions that decide the measure (the prompt's for the first
token, every teacher-forced position for the whole answer). "Reads A's rows" means reads a row whose served value
is A's (a row A writes but a later-listed user also writes serves that user's value):

- **read**: the probe reads A's rows, and removing A's memory from the table takes the answer away (measured by
  the run without A);
- **coincidence**: the probe reads none of A's rows, so the logits without A's memory are bit-identical (proved
  by a byte comparison of the two runs' logits), and the answer comes from the base model (the run with no rows)
  or from B's own rows (the run with B's rows only);
- **other users**: the probe reads none of A's rows and the answer comes from rows of users other than A and B
  (the run with B's rows only loses it, the run without A keeps it);
- **read, no effect**: the probe reads A's rows but the answer survives without them; its source is named as
  above.

Probes are screened in batches (right padding, causal: a position never sees the padding) and candidates within
a margin of a tie are kept; every verdict closer than ``SCREEN_MARGIN`` to a tie is re-run alone (greedy
generation for the served answer, as ``writing.recall``), so a batched forward's rounding never decides a count.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from engram_probe.arch.base import EngramModelBase
from engram_probe.audit.proof import bits
from engram_probe.isolation.probe_summary import BASE, COINCIDENCE, OTHERS, OWN, READ, READ_NO_EFFECT, summarise
from engram_probe.memory.answers import AnswerError, answer_tokens, teacher_forced
from engram_probe.memory.generation import greedy
from engram_probe.memory.overlay import MemoryOverlay
from engram_probe.memory.user_memory import UserMemory
from engram_probe.memory.writing import pad_batch
from engram_probe.tokenizer import EngramTokenizer

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


class ServingViews:
    """The views of one shared table that a probe of user B is compared against (B served last, without one
    owner, B alone). The table itself is ``MemoryOverlay``'s merge, last listed wins, as ``isolation.shared``'s
    ``last-write-wins`` policy."""

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
def forwards(
    model: EngramModelBase, seqs: Sequence[Sequence[int]], overlay: MemoryOverlay | None, pad_id: int
) -> list[Tensor]:
    """The logits of each sequence ([its length, vocab]) from right-padded batches of ``SCREEN_BATCH``."""
    out: list[Tensor] = []
    for start in range(0, len(seqs), SCREEN_BATCH):
        chunk = seqs[start : start + SCREEN_BATCH]
        batch, _ = pad_batch(chunk, pad_id)
        logits = model(batch, overlay=overlay).float()
        out += [logits[i, : len(s)] for i, s in enumerate(chunk)]
    return out


def gold_gap(logits_last: Tensor, gold: int) -> float:
    """The gold token's logit minus the best other token's (positive: the gold token is top-1)."""
    others = logits_last.clone()
    others[gold] = -float("inf")
    return float(logits_last[gold] - others.max())


def screen(model: EngramModelBase, probes: Sequence[Probe], overlay: MemoryOverlay | None, pad_id: int) -> list[float]:
    """Per probe, in batched forwards of the prompts: the gold token's gap at the prompt's last position."""
    logits = forwards(model, [p.prompt_ids for p in probes], overlay, pad_id)
    return [gold_gap(lg[-1], p.gold) for lg, p in zip(logits, probes, strict=True)]


def verdict(logits: Tensor, probe: Probe, whole: bool) -> bool | None:
    """Teacher-forced: the first answer token is top-1 (``whole``: every answer token at its position, i.e. greedy
    generation gives the whole answer). None when a deciding position is within ``SCREEN_MARGIN`` of a tie, so a
    batched forward's rounding could decide it: the caller re-runs that probe alone."""
    first = len(probe.prompt_ids) - 1
    n = len(probe.answer_ids) if whole else 1
    sure = True
    for i, token in enumerate(probe.answer_ids[:n]):
        gap = gold_gap(logits[first + i], token)
        if gap < -SCREEN_MARGIN:
            return False
        sure = sure and gap > SCREEN_MARGIN
    return True if sure else None


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


@torch.no_grad()
def _alone(model: EngramModelBase, probe: Probe, overlay: MemoryOverlay | None, whole: bool) -> bool:
    """The measure decided by the probe's teacher-forced continuation run alone (one unbatched forward)."""
    logits = model(torch.tensor([probe.teacher_forced()]), overlay=overlay)[0]
    first = len(probe.prompt_ids) - 1
    n = len(probe.answer_ids) if whole else 1
    return bool((logits[first : first + n].argmax(-1) == torch.tensor(probe.answer_ids[:n])).all())


def _identical(a: Tensor, b: Tensor, stop: int) -> bool:
    return torch.equal(bits(a[:stop]), bits(b[:stop]))


def _attribute(probe: Probe, user: str, reads: Reads, holds: Mapping[str, bool], identical: bool, stop: int) -> dict:
    """The class of one leak under one measure, from the reads, whether the measure holds in each counterfactual
    run, and whether the run without the owner's memory is bit-identical at positions 0..stop-1."""
    reads_owner = reads.by(probe.owner, stop)
    out: dict[str, Any] = {"reads_owner": reads_owner, "bit_identical_without_owner": identical}
    if reads_owner and not holds["without owner"]:
        return {**out, "class": READ}
    source = BASE if holds["no rows"] else OWN if holds["own rows"] else OTHERS
    out["source"] = source
    if source == OTHERS:
        out["other_users"] = [u for u in reads.users(stop) if u not in (probe.owner, user)]
    if reads_owner:
        return {**out, "class": READ_NO_EFFECT}
    if not identical:  # cannot happen: no row holding the owner's value is read, so the runs read the same rows
        raise AssertionError(f"probe {probe.prompt!r}: no row of {probe.owner}'s is read, yet the logits differ")
    return {**out, "class": COINCIDENCE if source != OTHERS else OTHERS}


@torch.no_grad()
def examine(
    model: EngramModelBase, table: ServingViews, user: str, probes: Sequence[Probe], pad_id: int
) -> list[dict[str, Any]]:
    """Candidates of one owner asked as ``user``: the leaks among them, each with its attribution under both
    measures. The four runs (the shared table, without the owner, the user's rows only, no rows) share one padded
    batch tensor, so the byte comparison of the first two is on the identical input."""
    if not probes:
        return []
    owner = probes[0].owner
    shared = table.as_user(user)
    views = {
        "shared": shared,
        "without owner": table.as_user(user, without=owner),
        "own rows": table.only(user),
        "no rows": None,
    }
    seqs = [p.teacher_forced() for p in probes]
    runs = {name: forwards(model, seqs, view, pad_id) for name, view in views.items()}
    out = []
    for i, p in enumerate(probes):
        first = len(p.prompt_ids)  # positions 0..first-1 decide the first token
        leak = verdict(runs["shared"][i], p, whole=False)
        if leak is None:
            leak = int(greedy(model, list(p.prompt_ids), views["shared"], 1)[1].argmax()) == p.gold
        if not leak:
            continue
        exact = verdict(runs["shared"][i], p, whole=True)
        if exact is None:
            new, _ = greedy(model, list(p.prompt_ids), views["shared"], len(p.answer_ids))
            exact = new == list(p.answer_ids)
        reads = reads_of(model, seqs[i], shared)
        record: dict[str, Any] = {
            "user": user,
            "owner": owner,
            "fact_id": p.fact_id,
            "prompt": p.prompt,
            "kind": p.kind,
            "exact": exact,
            "users_read": {u: [list(r) for r in sorted(reads.rows[u])] for u in reads.users()},
            "owner_rows_owned_not_served": len(reads.owned.get(owner, set()) - reads.rows.get(owner, set())),
            "owner_first_position": reads.first_position.get(owner),
        }
        for measure, whole, stop in (("first_token", False, first), ("whole_answer", True, len(seqs[i]))):
            if whole and not exact:
                continue
            holds = {}
            for name in ("without owner", "own rows", "no rows"):
                v = verdict(runs[name][i], p, whole)
                holds[name] = _alone(model, p, views[name], whole) if v is None else v
            same = _identical(runs["shared"][i], runs["without owner"][i], stop)
            record[measure] = _attribute(p, user, reads, holds, same, stop)
        out.append(record)
    return out


def own_rows_leaks(model: EngramModelBase, table: ServingViews, user: str, probes: Sequence[Probe], pad_id: int) -> int:
    """How many probes get the owner's first token with ``user``'s rows only (the paper's per-user server)."""
    found = 0
    for p, gap in zip(probes, screen(model, probes, table.only(user), pad_id), strict=True):
        if abs(gap) <= SCREEN_MARGIN:
            found += _alone(model, p, table.only(user), whole=False)
        else:
            found += gap > 0
    return found


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
    table = ServingViews(memories)
    probes = build_probes(tokenizer, memories, paraphrases)
    users = list(table.memories)
    total = sum(1 for u in users for p in probes if p.owner != u)
    done, own_leaks = 0, 0
    leaks: list[dict[str, Any]] = []
    for user in users:
        asked = [p for p in probes if p.owner != user]
        gaps = screen(model, asked, table.as_user(user), tokenizer.bos_id)
        candidates = [p for p, gap in zip(asked, gaps, strict=True) if gap >= -SCREEN_MARGIN]
        for owner in dict.fromkeys(p.owner for p in candidates):
            leaks += examine(model, table, user, [p for p in candidates if p.owner == owner], tokenizer.bos_id)
        if own_table_rate:
            own_leaks += own_rows_leaks(model, table, user, asked, tokenizer.bos_id)
        done += len(asked)
        table.forget()
        if progress:
            progress(done, total, f"{user}: {len(leaks):,} answers served from another user so far")
    return summarise(leaks, total, probes, users, own_leaks if own_table_rate else None)
