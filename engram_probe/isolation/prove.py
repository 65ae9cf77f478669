"""The isolation proof for one user against everyone else in a shared table (forward tier, any architecture).

For each of user B's probe texts the model runs twice on the identical input tensor (``audit.paired.paired_run``):
with the shared table, and with a table holding only B's rows. A *foreign row* is a row of the shared table whose
value is another user's (B does not write it, or another user's value wins it). The first position ``k`` that reads
a foreign row splits the text. Before it, every row read holds the same value in both tables, so by causality
nothing can differ there (the derived argument); the two runs are compared byte for byte at every hook at those
positions (``audit.proof.ByteProof``: the measurement). At and after ``k`` the proof says which rows are read,
whose they are, which n-gram read them, and how far the next-token distribution moved.

Only the model seam (``arch.base.EngramModelBase``: addresses, recorded forwards, hook axes) is used, so the
proof runs on every architecture the workbench loads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from engram_probe.arch.loaded import LoadedModel
from engram_probe.audit.paired import paired_run
from engram_probe.audit.proof import ByteProof, bits
from engram_probe.audit.readmap import DOWNSTREAM, UNTOUCHED, WRITE_SITE
from engram_probe.isolation.shared import COLLISION, CONTENT, UNATTRIBUTED, SharedTable, Window
from engram_probe.memory.answers import teacher_forced

HOLDS, SCOPED, FAILS = "holds", "scoped", "does not hold"
FOREIGN_RULE = (
    "a foreign row is a row of the shared table whose value is another user's: the user does not write it, or "
    "another user's value wins it"
)
DERIVED_RULE = (
    "causality: the output at position t depends only on the tokens at 0..t and the rows they read; before the first "
    "position that reads a foreign row, every row read holds the same value in both tables, so nothing there can "
    "depend on another user's data"
)
MEASURED_RULE = (
    "measured: every hook value at every position before the first foreign read, with the shared table and with the "
    "user's rows alone, on the identical input tensor, compared as raw bytes"
)
MAX_MISMATCHES = 20  # kept per probe in the report (the count says how many there were)


@dataclass(frozen=True)
class Probe:
    """One probe text: its token ids, and where it came from (one of the user's facts, or the caller)."""

    token_ids: tuple[int, ...]
    text: str
    fact_id: str | None = None  # the fact whose trigger and answer it is; None for a text the caller gave

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "fact": self.fact_id, "token_ids": list(self.token_ids)}


def fact_probes(lm: LoadedModel, table: SharedTable, user: str) -> list[Probe]:
    """The user's facts' triggers followed by their answers, teacher-forced (one probe per trigger)."""
    out = []
    for fact in table.memory(user).facts:
        for trigger in fact.triggers:
            seq, _ = teacher_forced(lm.tokenizer.encode(trigger), fact.answer_token_ids)
            if len(seq) <= lm.model.max_tokens:
                out.append(Probe(tuple(seq), lm.tokenizer.decode(seq), fact.fact_id))
    if not out:
        raise ValueError(f"user {user!r} has no fact whose trigger and answer fit the model's context; give texts")
    return out


def text_probes(lm: LoadedModel, texts: Sequence[str]) -> list[Probe]:
    """The caller's texts, tokenised; an empty text or one longer than the context is refused."""
    out = []
    for i, text in enumerate(texts):
        ids = lm.tokenizer.encode(text) if text.strip() else []
        if not ids:
            raise ValueError(f"probe text {i + 1} is empty")
        if len(ids) > lm.model.max_tokens:
            raise ValueError(
                f"probe text {i + 1} has {len(ids):,} tokens; the model's context holds {lm.model.max_tokens:,}"
            )
        out.append(Probe(tuple(ids), text))
    return out


def _sharing(mine: tuple[int, ...], theirs: Sequence[Window]) -> str:
    if any(w.hashed == mine for w in theirs):
        return CONTENT
    return COLLISION if theirs else UNATTRIBUTED


def foreign_reads(table: SharedTable, user: str, token_ids: Sequence[int], addresses: dict[int, Tensor]) -> list[dict]:
    """Every (position, layer, column) of the probe that reads a foreign row, in position order, with its owner.

    Entries that name the same n-gram or the same owner's windows share those sub-entries (read-only)."""
    lm = table.lm
    contract = lm.model.hasher
    ids = [int(x) for x in token_ids]
    hashed = contract.hash_inputs(np.asarray(ids, dtype=np.int64))
    own = set(table.memory(user).owners())  # rows the user also writes (another user's value may win them)
    # a dense table reads the same row and the same n-gram many times: each is worked out once per probe
    ngrams: dict[tuple[int, int], tuple[tuple[int, ...], dict[str, Any]]] = {}
    rows_seen: dict[tuple[int, int], tuple[str, list[str], list[Window], list[dict[str, Any]]] | None] = {}
    out = []
    for layer in sorted(addresses):
        addr = addresses[layer][0]  # [pos, columns]
        hit = torch.nonzero(table.overlay.hit_mask(layer, addr)).tolist()
        if not hit:
            continue
        cols = contract.columns(layer)
        addr_list = addr.tolist()
        for t, c in hit:
            key = (layer, addr_list[t][c])
            if key not in rows_seen:
                win = table.winner(key)
                if win is None or win[0] == user:
                    rows_seen[key] = None
                else:
                    theirs = table.windows(win[0]).get(key, [])
                    rows_seen[key] = (win[0], list(win[1]), theirs, table.window_texts(win[0], key))
            seen = rows_seen[key]
            if seen is None:
                continue
            owner, facts, theirs, owner_ngrams = seen
            col = cols[c]
            if (t, col.order) not in ngrams:
                window = ids[max(0, t - col.order + 1) : t + 1]
                text = {"tokens": window, "text": lm.tokenizer.decode(window)}
                ngrams[(t, col.order)] = (contract.ngram_from(hashed, t, col.order), text)
            mine, text = ngrams[(t, col.order)]
            out.append(
                {
                    "position": t,
                    "layer": layer,
                    "column": col.column,
                    "order": col.order,
                    "row": key[1],
                    "user": owner,
                    "facts": facts,
                    "also_written_by_user": key in own,
                    "ngram": text,
                    "sharing": _sharing(mine, theirs),
                    "owner_ngrams": owner_ngrams,
                }
            )
    out.sort(key=lambda r: (r["position"], r["layer"], r["column"]))
    return out


def _distances(a: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
    """Total variation and KL(alone || shared) of the next-token distributions, row by row, in float64."""
    la, ls = torch.log_softmax(a.double(), -1), torch.log_softmax(s.double(), -1)
    pa, ps = la.exp(), ls.exp()  # every row at once: one pass over the vocabulary, not one per position
    return 0.5 * (pa - ps).abs().sum(-1), (pa * (la - ls)).sum(-1)


def _movement(alone: Tensor, shared: Tensor, lm: LoadedModel, start: int) -> list[dict[str, Any]]:
    """At each position from ``start``: how far the next-token distribution moved, and the top-1 of each run."""
    a, s = alone[0, start:], shared[0, start:]
    same = (bits(a) == bits(s)).all(-1)
    tv = torch.zeros(a.shape[0], dtype=torch.float64)
    kl = torch.zeros(a.shape[0], dtype=torch.float64)
    moved = torch.nonzero(~same).flatten()  # a bit-identical position moved by exactly nothing
    if moved.numel() == a.shape[0]:
        tv, kl = _distances(a, s)
    elif moved.numel():
        tv[moved], kl[moved] = _distances(a[moved], s[moved])
    top_a, top_s = a.argmax(-1).tolist(), s.argmax(-1).tolist()  # softmax keeps the order: the logits' top-1
    names: dict[int, dict[str, Any]] = {}
    for i in {*top_a, *top_s}:
        names[i] = {"id": i, "text": lm.tokenizer.token_text(i)}
    return [
        {
            "position": start + i,
            "identical": same_i,
            "total_variation": tv_i,
            "kl_alone_to_shared": kl_i,
            "top1_alone": names[ta],
            "top1_shared": names[ts],
            "top1_changed": ta != ts,
        }
        for i, (same_i, tv_i, kl_i, ta, ts) in enumerate(
            zip(same.tolist(), tv.tolist(), kl.tolist(), top_a, top_s, strict=True)
        )
    ]


def _read_words(user: str, read: dict[str, Any]) -> str:
    mine, owner = read["ngram"]["text"], read["user"]
    theirs = read["owner_ngrams"][0]["text"] if read["owner_ngrams"] else None
    where = f"{owner}'s row {read['row']:,} of layer {read['layer']}"
    if read["sharing"] == CONTENT:
        return f"{where} (shared content: {user} and {owner} both read it through {mine!r})"
    if read["sharing"] == COLLISION:
        return f"{where} (a hash collision of {mine!r} with {owner}'s {theirs!r})"
    return f"{where}, read through {mine!r} (no trigger of {owner}'s reads that row)"


def verdict(user: str, n_positions: int, first: int | None, reads: list[dict], proof: dict[str, Any]) -> str:
    """The proof's scope in words."""
    if not proof["identical"]:
        m = proof["mismatches"][0]
        upto = f"before position {first}" if first is not None else "anywhere"
        return (
            f"{user}'s outputs are NOT provably independent of other users' data: hook {m['hook']} at position "
            f"{m['position']} differs between the shared table and {user}'s rows alone, although no position {upto} "
            "reads another user's row (the table changes rows it does not list)"
        )
    if first is None:
        return (
            f"{user}'s outputs are provably independent of every other user's data at every position "
            f"(0..{n_positions - 1})"
        )
    what = _read_words(user, next(r for r in reads if r["position"] == first))
    if first == 0:
        return f"no position of this text is independent of other users' data: position 0 reads {what}"
    return (
        f"{user}'s outputs at positions 0..{first - 1} are provably independent of every other user's data; "
        f"position {first} reads {what}"
    )


@torch.no_grad()
def prove_probe(table: SharedTable, user: str, probe: Probe) -> dict[str, Any]:
    """The proof for one probe: the measured identical prefix, then every foreign read and the output's movement."""
    lm = table.lm
    model = lm.model
    tokens = torch.tensor([list(probe.token_ids)], dtype=torch.int64)
    n = tokens.shape[1]
    reads = foreign_reads(table, user, probe.token_ids, model.engram_addresses(tokens))
    sites = {r["position"] for r in reads}
    first = min(sites) if sites else None
    k = n if first is None else first
    classes = [UNTOUCHED if t < k else WRITE_SITE if t in sites else DOWNSTREAM for t in range(n)]
    proof = ByteProof(classes)
    run = paired_run(model, tokens, table.overlay, [proof], keep={"hook_logits"}, base_overlay=table.only(user))
    measured = proof.result()
    measured["mismatches"] = measured["mismatches"][:MAX_MISMATCHES]
    status = FAILS if not measured["identical"] else HOLDS if first is None else SCOPED
    return {
        "probe": probe.as_dict(),
        "positions": n,
        "first_foreign_read": first,
        "independent_positions": k if measured["identical"] else None,
        "status": status,
        "verdict": verdict(user, n, first, reads, measured),
        "proof": {k2: v for k2, v in measured.items() if k2 != "untouched_positions"},
        "reads": reads,
        "movement": _movement(run.base["hook_logits"], run.edited["hook_logits"], lm, k),
    }


def summarise(user: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    """The verdict over every probe: holds (independent everywhere), scoped, or does not hold."""
    counts = {s: sum(r["status"] == s for r in results) for s in (HOLDS, SCOPED, FAILS)}
    n = len(results)
    status = FAILS if counts[FAILS] else SCOPED if counts[SCOPED] else HOLDS
    if status == FAILS:
        words = (
            f"{user}'s outputs are NOT provably independent of other users' data on {counts[FAILS]:,} of {n:,} texts"
        )
    elif status == SCOPED:
        every = f"at every position of {counts[HOLDS]:,} of {n:,} texts and " if counts[HOLDS] else ""
        words = (
            f"{user}'s outputs are provably independent of every other user's data {every}up to the first position "
            f"that reads another user's row on {counts[SCOPED]:,} of {n:,} texts"
        )
    else:
        words = (
            f"{user}'s outputs are provably independent of every other user's data at every position of all {n:,} texts"
        )
    moved = [m for r in results for m in r["movement"]]
    return {
        "texts": n,
        "holds": counts[HOLDS],
        "scoped": counts[SCOPED],
        "does_not_hold": counts[FAILS],
        "status": status,
        "verdict": words,
        "foreign_reads": sum(len(r["reads"]) for r in results),
        "foreign_users": sorted({rd["user"] for r in results for rd in r["reads"]}),
        "top1_changes": sum(m["top1_changed"] for m in moved),
        "max_total_variation": max((m["total_variation"] for m in moved), default=0.0),
        "hooks_compared": sum(r["proof"]["pairs_compared"] for r in results),
        "bytes_compared": sum(r["proof"]["bytes_compared"] for r in results),
    }


def prove(
    table: SharedTable,
    user: str,
    texts: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """The isolation proof of ``user`` against every other user of the table, over ``texts`` (default: the user's
    facts, teacher-forced): ``{user, probes, summary, rules}``."""
    table.memory(user)  # refuses a user the table does not hold, naming its users
    probes = text_probes(table.lm, texts) if texts else fact_probes(table.lm, table, user)
    results = []
    for i, probe in enumerate(probes):
        results.append(prove_probe(table, user, probe))
        if progress is not None:
            progress(i + 1, len(probes))
    return {
        "user": user,
        "probes": results,
        "summary": summarise(user, results),
        "rules": {"foreign": FOREIGN_RULE, "derived": DERIVED_RULE, "measured": MEASURED_RULE},
    }
