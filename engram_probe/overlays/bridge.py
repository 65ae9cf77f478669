"""The bridge from any overlay file to a user memory of a loaded model, so it can be forward-audited.

An overlay written under the loaded model's own address contract (the same digest) becomes a
:class:`UserMemory`: each fact of the file owns the file's rows its teacher-forced positions read (as the
census counts them, ``edited_rows.fact_reads``), per table. A file that names a fact's answer tokens (a V4.1 file
written from our export) gives a whole answer. One that names none (a ``.pleo`` facts sidecar, most V4.1 files) gives
a one-token answer, read at the trigger's last position, whose gold token is the one the edited model predicts
there; the fact's settings say which. Our own memory
export is read as it always was (``memory.transfer``), with its answers. Where no model runs, the same
files get the hash-only audits of ``engram-probe contract``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engram_probe.arch.loaded import LoadedModel
from engram_probe.contracts.base import AddressContract
from engram_probe.memory.answers import MAX_ANSWER_TOKENS
from engram_probe.memory.ids import check_fact_id, check_user_id
from engram_probe.memory.overlay import MemoryOverlay
from engram_probe.memory.store import LedgerEntry, MemoryStore
from engram_probe.memory.transfer import (
    ImportRejected,
    check_importable,
    file_sha256,
    import_memory,
    read_memory_file,
)
from engram_probe.memory.user_memory import Fact, UserMemory
from engram_probe.overlays.edited_rows import fact_reads
from engram_probe.overlays.load import read_overlay
from engram_probe.overlays.registry import OverlayFormat, detect, get_format
from engram_probe.overlays.rowset import FactTrigger, OverlayFileError, OverlayRows
from engram_probe.overlays.workbench_export import WORKBENCH_FORMAT

IMPORTED = "imported"  # the strategy of a bridged fact: written by another tool, not by this workbench
NAMED_RULE = "the file names the answer's tokens: the answer is those tokens, read at their teacher-forced positions"
GOLD_RULE = (
    "the file names no answer: a one-token answer, the edited model's top-1 next token at the trigger's last position"
)


@dataclass(frozen=True)
class Bridged:
    """A file turned into a user memory, with the format it was read as."""

    memory: UserMemory
    format: OverlayFormat
    overlay: OverlayRows | None  # None for our own memory export, which is read without the overlay form


def model_contract(lm: LoadedModel) -> AddressContract:
    """The loaded model's address contract, able to address text (its tokenizer attached where it has none)."""
    contract = lm.model.hasher
    if getattr(contract, "tokenizer", None) is None:
        contract = copy.copy(contract)  # the model's own hasher is shared: attach the tokenizer to a copy
        contract.tokenizer = lm.tokenizer
    return contract


def check_contract(overlay: OverlayRows, lm: LoadedModel) -> None:
    """Refuse an overlay bound to another contract than the loaded model's, naming both."""
    ours = lm.model.hasher
    if overlay.contract_sha256 is not None and overlay.contract_sha256 != ours.digest():
        raise OverlayFileError(
            f"{Path(overlay.source).name} was written under contract {overlay.contract_sha256[:12]}…, but the "
            f"loaded model's contract is {ours.name} {ours.digest()[:12]}…: audit it where its own model runs, "
            "or hash-only with engram-probe contract"
        )


def _fact_rows(contract: AddressContract, overlay: OverlayRows, fact: FactTrigger) -> dict[int, np.ndarray]:
    """Per table, the overlay's rows this fact reads at its teacher-forced positions (sorted)."""
    read: dict[int, set[int]] = {}
    for rd in fact_reads(contract, fact, sorted(overlay.layers)):
        read.setdefault(rd.layer, set()).add(rd.row)
    out = {}
    for layer in sorted(read):
        if layer not in overlay.layers:
            continue
        owned = np.intersect1d(overlay.rows(layer), np.fromiter(read[layer], dtype=np.int64))
        if owned.size:
            out[layer] = owned
    return out


def _trigger_text(lm: LoadedModel, fact: FactTrigger) -> str:
    if fact.trigger_text and fact.trigger_text.strip():
        return fact.trigger_text
    ids = list(fact.trigger_ids)
    if ids[:1] == [getattr(lm.tokenizer, "bos_id", None)]:
        ids = ids[1:]  # the model's BOS is added again by whoever encodes the trigger text
    text = lm.tokenizer.decode(ids)
    return text if text.strip() else " ".join(lm.tokenizer.token_text(t) for t in fact.trigger_ids)


def overlay_memory(
    overlay: OverlayRows, lm: LoadedModel, fmt_name: str | None = None, user: str | None = None
) -> UserMemory:
    """The overlay as a user memory of ``lm`` (under ``user``, default the file's); refused when its contract
    differs or a row has no fact."""
    check_contract(overlay, lm)
    where = Path(overlay.source).name
    contract = lm.model.hasher
    try:
        user = check_user_id(user or overlay.user)
    except ValueError as exc:
        raise OverlayFileError(f"{where}: field user: {exc}; import it under another id") from exc
    if not overlay.facts:
        raise OverlayFileError(
            f"{where} names no facts; a user memory is facts: give their triggers (a NAME.facts.json beside it)"
        )
    pieces: list[tuple[FactTrigger, int, np.ndarray]] = []
    claimed: dict[int, set[int]] = {}
    for fact in overlay.facts:
        ids = fact.trigger_ids
        if not ids or len(ids) > lm.model.max_tokens or max(ids) >= lm.cfg.d_vocab:
            raise OverlayFileError(f"{where}: fact {fact.fact_id}: its trigger is not token ids this model reads")
        answer = fact.answer_ids
        if answer and (
            len(answer) > MAX_ANSWER_TOKENS
            or max(answer) >= lm.cfg.d_vocab
            or len(ids) + len(answer) - 1 > lm.model.max_tokens
        ):
            raise OverlayFileError(f"{where}: fact {fact.fact_id}: its answer is not token ids this model reads")
        for layer, rows in _fact_rows(contract, overlay, fact).items():
            pieces.append((fact, layer, rows))
            claimed.setdefault(layer, set()).update(rows.tolist())
    for layer in sorted(overlay.layers):
        loose = len(overlay.rows(layer)) - len(claimed.get(layer, ()))
        if loose:
            raise OverlayFileError(
                f"{where}: {loose} rows of table {layer} are read by no fact's trigger; a user memory needs a fact "
                "for every row (add it to the facts)"
            )
    split = {f.fact_id for f, _, _ in pieces if sum(g.fact_id == f.fact_id for g, _, _ in pieces) > 1}
    facts = []
    for fact, layer, rows in pieces:
        fact_id = f"{fact.fact_id}.L{layer}" if fact.fact_id in split else fact.fact_id
        try:
            check_fact_id(fact_id)
        except ValueError as exc:
            raise OverlayFileError(f"{where}: {exc}") from exc
        table_rows, table_values = overlay.layers[layer]
        values = np.ascontiguousarray(table_values[np.searchsorted(table_rows, rows)], dtype=np.float32)
        facts.append((fact, fact_id, layer, rows, values))
    source = fmt_name or overlay.format

    def build(golds: list[int]) -> UserMemory:
        out = []
        for (fact, fact_id, layer, rows, values), gold in zip(facts, golds, strict=True):
            answer = list(fact.answer_ids) or [gold]
            out.append(
                Fact(
                    fact_id=fact_id,
                    triggers=[_trigger_text(lm, fact)],
                    answer=lm.tokenizer.decode(answer) if fact.answer_ids else lm.tokenizer.token_text(gold),
                    gold_token_id=answer[0],
                    gold_token=lm.tokenizer.token_text(answer[0]),
                    answer_token_ids=answer,
                    strategy=IMPORTED,
                    layer=layer,
                    row_ids=torch.tensor([[layer, int(r)] for r in rows], dtype=torch.int64),
                    values=torch.from_numpy(values),
                    written_at="",
                    settings={"source_format": source, "gold": NAMED_RULE if fact.answer_ids else GOLD_RULE},
                )
            )
        return UserMemory(user, out)

    edited = MemoryOverlay([build([0] * len(facts))])  # the rows do not depend on the gold tokens
    golds = []
    with torch.no_grad():
        for fact, *_ in facts:
            if fact.answer_ids:
                golds.append(fact.answer_ids[0])
                continue
            logits = lm.model(torch.tensor([list(fact.trigger_ids)]), overlay=edited)
            golds.append(int(logits[0, -1].argmax()))
    return build(golds)


def read_user_memory(
    path: str | Path, lm: LoadedModel, user: str | None = None, facts: str | Path | None = None
) -> Bridged:
    """Any registered overlay file as a user memory of the loaded model (our export keeps its own facts)."""
    p = Path(path)
    if not p.is_file():
        raise OverlayFileError(f"no overlay file at {p}")
    fmt = detect(p)
    if fmt is not None and fmt.name == WORKBENCH_FORMAT:
        memory = read_memory_file(p, lm.model, lm.weights_sha256)
        return Bridged(UserMemory(check_user_id(user), memory.facts) if user else memory, fmt, None)
    overlay = read_overlay(p, model_contract(lm), None, facts)  # refuses a file no format recognises
    name = fmt.name if fmt is not None else overlay.format
    return Bridged(overlay_memory(overlay, lm, name, user), fmt or get_format(name), overlay)


def import_file(
    store: MemoryStore,
    path: str | Path,
    lm: LoadedModel,
    as_user: str | None = None,
    operator: str | None = None,
) -> LedgerEntry:
    """Add a memory file, or any overlay file for this model's contract, to the store as a new user.

    Our own export (and any file no format recognises, which is refused there) goes through
    ``memory.transfer.import_memory`` exactly as before; the ledger entry of a bridged file names its format.
    """
    fmt = detect(path) if Path(path).is_file() else None
    if fmt is None or fmt.name == WORKBENCH_FORMAT:
        return import_memory(store, path, lm.model, lm.weights_sha256, as_user, operator)
    try:
        bridged = read_user_memory(path, lm, as_user)
    except OverlayFileError as exc:
        raise ImportRejected(str(exc)) from exc
    memory = bridged.memory
    check_importable(store, memory)
    overlay = bridged.overlay
    detail = {
        "file_sha256": file_sha256(path),
        "file_format": fmt.name,
        "file_user": overlay.user if overlay is not None else memory.user_id,
        "file_contract_sha256": overlay.contract_sha256 if overlay is not None else None,
    }
    return store.replace_user(memory, action="import", operator=operator, detail=detail)
