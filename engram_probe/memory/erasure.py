"""Erase with its proof, and a user's history: the one path of the CLI's ``erase``/``history`` and the UI's tab.

The proof of an erase is bit-exact and has two parts. Rows: every row an erased fact owned either reads the
shared table again (no user value left) or holds, byte for byte, the value of the latest remaining fact that
owns it. Forward: on each erased fact's trigger followed by its answer, the model with the memory the store
now holds gives logits whose raw bytes equal those of the model with only the remaining facts, built without
the store (as if the erased facts had never been written; the plain model when none remain). The proof also
says whether the erased facts changed those logits before, so that an identity is never vacuous unnoticed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from engram_probe.arch.loaded import LoadedModel
from engram_probe.memory.ledger import LedgerEntry, action_words
from engram_probe.memory.overlay import MemoryOverlay
from engram_probe.memory.store import EMPTY_MEMORY, MemoryStore, StoreError, TamperedError, memory_digest
from engram_probe.memory.user_memory import Fact, UserMemory

MAX_PROOF_TEXTS = 8  # forwards compared per erase (one per erased fact, first trigger)
PROOF_METHOD = (
    "raw bytes: each row the erased facts owned reads the shared table again or holds the remaining owner's "
    "value; logits on each erased fact's trigger and answer equal those of the memory without it, built apart "
    "from the store"
)


def _bits(t: torch.Tensor) -> bytes:
    return t.detach().contiguous().numpy().tobytes()


def _logits(lm: LoadedModel, ids: list[int], memory: UserMemory | None) -> torch.Tensor:
    overlay = MemoryOverlay([memory]) if memory is not None and len(memory) else None
    with torch.no_grad():
        return lm.model(torch.tensor([ids]), overlay=overlay)[0]


def probe_ids(lm: LoadedModel, fact: Fact) -> list[int]:
    """The fact's first trigger followed by every token of its answer (what a teacher-forced write reads)."""
    return [*lm.tokenizer.encode(fact.triggers[0]), *fact.answer_token_ids][: lm.model.max_tokens]


def row_fates(erased: Sequence[Fact], after: UserMemory | None) -> list[dict[str, Any]]:
    """What each row of the erased facts holds now: the shared table's value, or a remaining fact's (bit-exact)."""
    remaining = after.row_map() if after is not None else {}
    owners = after.owners() if after is not None else {}
    out = []
    for key in sorted({k for f in erased for k in f.rows}):
        if key not in remaining:
            out.append({"layer": key[0], "row": key[1], "now": "shared table", "kept_by": None, "bit_exact": True})
            continue
        keeper = owners[key][-1]
        fact = after.fact(keeper) if after is not None else None
        own = fact.values[fact.rows.index(key)] if fact is not None else None
        same = own is not None and _bits(remaining[key]) == _bits(own)
        out.append({"layer": key[0], "row": key[1], "now": "remaining fact", "kept_by": keeper, "bit_exact": same})
    return out


def erase_with_proof(
    lm: LoadedModel,
    store: MemoryStore,
    user_id: str,
    fact_ids: Sequence[str] | None = None,
    operator: str | None = None,
) -> tuple[LedgerEntry, dict[str, Any]]:
    """Erase facts (or the whole user when ``fact_ids`` is None), then prove the erase bit-exact (module doc)."""
    try:
        before: UserMemory | None = store.load(user_id, check=fact_ids is not None)
    except TamperedError:
        if fact_ids is not None:
            raise
        before = None  # erasing a tampered user is its remedy; there is nothing trustworthy to prove against
    ids = list(dict.fromkeys(fact_ids)) if fact_ids is not None else None
    entry = store.erase(user_id, ids, operator=operator)
    if before is None:
        return entry, {"user": user_id, "erased": entry.fact_ids, "bit_exact": None, "method": PROOF_METHOD}
    gone = set(entry.fact_ids)
    erased = [f for f in before.facts if f.fact_id in gone]
    never = before.without(gone) if ids is not None else None
    after = store.load(user_id) if store.has_user(user_id) else None
    forwards: list[dict[str, Any]] = []
    for fact in erased[:MAX_PROOF_TEXTS]:
        ids_ = probe_ids(lm, fact)
        text = lm.tokenizer.decode(ids_[1:] if ids_[:1] == [lm.tokenizer.bos_id] else ids_)
        now, ref, was = _logits(lm, ids_, after), _logits(lm, ids_, never), _logits(lm, ids_, before)
        forwards.append(
            {
                "fact_id": fact.fact_id,
                "text": text,
                "tokens": len(ids_),
                "values_compared": now.numel(),
                "bytes_compared": now.numel() * now.element_size(),
                "identical": _bits(now) == _bits(ref),
                "changed_before_erase": _bits(was) != _bits(now),
            }
        )
    rows = row_fates(erased, after)
    digests = {
        "before": memory_digest(before),
        "after": memory_digest(after),
        "without_the_facts": memory_digest(never),
        "ledger_after": entry.digest_after,
    }
    same_digest = digests["after"] == digests["without_the_facts"] == entry.digest_after
    proof = {
        "user": user_id,
        "erased": entry.fact_ids,
        "digests": digests,
        "rows": rows,
        "rows_to_shared_table": sum(r["now"] == "shared table" for r in rows),
        "rows_kept_by_remaining_facts": sum(r["now"] == "remaining fact" for r in rows),
        "forwards": forwards,
        "values_compared": sum(f["values_compared"] for f in forwards),
        "bytes_compared": sum(f["bytes_compared"] for f in forwards),
        "bit_exact": same_digest and all(r["bit_exact"] for r in rows) and all(f["identical"] for f in forwards),
        "method": PROOF_METHOD,
    }
    return entry, proof


def user_history(store: MemoryStore, user_id: str, reads: bool = False) -> dict[str, Any]:
    """A user's ledger entries (writes, erases, imports; reads too with ``reads``), and each current fact with
    the entry that wrote it. Works for an erased user too: its entries stay in the ledger."""
    entries = store.ledger(user_id)
    if not entries and not store.has_user(user_id):
        known = ", ".join(store.user_ids()) or "none"
        raise StoreError(f"no ledger entries for user {user_id!r}; known users: {known}")
    shown = [e for e in entries if reads or e.action != "read"]
    wrote: dict[str, LedgerEntry] = {}
    for e in entries:
        if e.action in ("write", "import"):
            for fid in e.fact_ids:
                wrote[fid] = e
    facts = []
    try:
        current = store.load(user_id, check=False).facts if store.has_user(user_id) else []
    except TamperedError:
        current = []  # an unreadable stored fact: ``problems`` names it
    for f in current:
        w = wrote.get(f.fact_id)
        facts.append(
            {
                "fact_id": f.fact_id,
                "trigger": f.triggers[0],
                "answer": f.answer,
                "written_at": w.at if w else f.written_at,
                "written_by": w.operator if w else None,
                "ledger_seq": w.seq if w else None,
            }
        )
    return {
        "user": user_id,
        "exists": store.has_user(user_id),
        "digest": entries[-1].digest_after if entries else EMPTY_MEMORY,
        "entries": [e.as_dict() | {"what": action_words(e)} for e in shown],
        "reads_hidden": 0 if reads else sum(e.action == "read" for e in entries),
        "facts": facts,
        "problems": store.problems(user_id),
    }
