"""This project's memory export (``engram-probe export``) read as a row overlay, without the model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from engram_probe.contracts.base import AddressContract
from engram_probe.memory.answers import AnswerError, answer_tokens, teacher_forced
from engram_probe.overlays.rowset import FactTrigger, OverlayFileError, OverlayRows, normalise_rows
from engram_probe.safetensors_io import UnreadableSafetensors, read_all

WORKBENCH_FORMAT = "engram-probe-memory/1"


def _answers(contract: AddressContract, m: dict, where: str) -> list[tuple[str, list[int]]]:
    """Each trigger of a fact with its answer's tokens as they follow it: the first trigger's as the fact records
    them (a fact stored without them is a one-token answer), a paraphrase's tokenised as the writers tokenise it."""
    triggers = [str(t) for t in m["triggers"]]
    first = [int(t) for t in m.get("answer_token_ids") or [m["gold_token_id"]]]
    out = [(triggers[0], first)]
    tok = getattr(contract, "tokenizer", None)
    for t in triggers[1:]:
        if tok is None:
            raise OverlayFileError(f"{where}: trigger {t!r} is a paraphrase; this contract has no tokenizer to read it")
        try:
            out.append((t, answer_tokens(tok, t, str(m["answer"]))))
        except AnswerError as exc:
            raise OverlayFileError(f"{where}: trigger {t!r}: {exc}") from exc
    return out


def model_view_ids(
    contract: AddressContract, answers: list[tuple[str, list[int]]], layer: int, rows: set[int], where: str
) -> tuple[int, ...]:
    """The first trigger's ids as the model saw them (with or without a leading BOS): the ones for which the
    teacher-forced positions of every trigger (``answers.teacher_forced``: the trigger's last position, then each
    answer token's but the last) read exactly the fact's stored rows. A fact whose rows match neither is refused."""
    encoded = [(list(contract.encode(text)), answer) for text, answer in answers]
    variants = [[ids for ids, _ in encoded]]
    tok = getattr(contract, "tokenizer", None)
    bos = tok.token_to_id("<|bos|>") if tok is not None and hasattr(tok, "token_to_id") else None
    if bos is not None and any(not ids or ids[0] != bos for ids, _ in encoded):
        variants.append([ids if ids[:1] == [bos] else [bos, *ids] for ids, _ in encoded])
    for prompts in variants:
        if not all(prompts):
            continue
        read: set[int] = set()
        for prompt, (_, answer) in zip(prompts, encoded, strict=True):
            seq, positions = teacher_forced(prompt, answer)
            read.update(contract.addresses(np.asarray(seq, dtype=np.int64), layer)[positions].ravel().tolist())
        if read == rows:
            return tuple(prompts[0])
    raise OverlayFileError(
        f"{where}: the stored rows of trigger {answers[0][0]!r} are not the rows its answer's teacher-forced "
        "positions read"
    )


def read_workbench_memory(path: Path, contract: AddressContract, user: str | None) -> OverlayRows:
    """This project's memory export, read without the model: rows, values and the facts' triggers."""
    try:
        meta, tensors = read_all(path, "np")
    except UnreadableSafetensors as exc:
        raise OverlayFileError(f"{path.name}: not a readable safetensors file, or truncated ({exc})") from exc
    written_under = meta.get("contract", "workbench")
    if written_under != contract.name:
        raise OverlayFileError(
            f"{path.name} is a memory of a {written_under} model; audit it with --contract {written_under}"
        )
    if meta.get("contract_sha256") not in (None, contract.digest()):
        raise OverlayFileError(
            f"{path.name}: written under contract {written_under} {meta['contract_sha256'][:12]}…, not "
            f"{contract.name} {contract.digest()[:12]}…"
        )
    try:
        metas = json.loads(meta["facts"])
    except (KeyError, json.JSONDecodeError) as exc:
        raise OverlayFileError(f"{path.name}: unreadable fact metadata") from exc
    owner = user or meta.get("user_id") or path.stem
    items = []
    for i, m in enumerate(metas):
        ids, vals = tensors.get(f"fact.{i:05d}.row_ids"), tensors.get(f"fact.{i:05d}.values")
        if ids is None or vals is None or ids.ndim != 2 or ids.shape[1] != 2:
            raise OverlayFileError(f"{path.name}: fact {i} has no valid row_ids/values tensors")
        items.append((m, ids, vals))
    return overlay_from_fact_rows(contract, owner, str(path), items, meta.get("contract_sha256"))


def overlay_from_fact_rows(
    contract: AddressContract,
    owner: str,
    source: str,
    items: list[tuple[dict, np.ndarray, np.ndarray]],
    contract_sha256: str | None = None,
) -> OverlayRows:
    """A workbench user's rows as an overlay: ``items`` are (fact metadata, [k, 2] (layer, row), [k, dim])."""
    where = Path(source).name
    by_layer: dict[int, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    facts = []
    for m, ids, vals in items:
        for layer in np.unique(ids[:, 0]).tolist():
            sel = ids[:, 0] == layer
            by_layer.setdefault(int(layer), ([], []))[0].append(ids[sel, 1])
            by_layer[int(layer)][1].append(vals[sel])
        layer = int(m["layer"])
        answers = _answers(contract, m, where)
        trigger_ids = model_view_ids(contract, answers, layer, set(ids[ids[:, 0] == layer, 1].tolist()), where)
        facts.append(FactTrigger(owner, m["fact_id"], trigger_ids, (layer,), answers[0][0], tuple(answers[0][1])))
    layers = {}
    for layer, (row_parts, value_parts) in by_layer.items():
        # within a user, the most recently written fact wins a shared row: keep the last occurrence
        r, v = np.concatenate(row_parts), np.concatenate(value_parts)
        last = {int(x): j for j, x in enumerate(r.tolist())}
        keep = np.array(sorted(last.values()), dtype=np.int64)
        layers[layer] = normalise_rows(contract, layer, r[keep], v[keep], where)[:2]
    return OverlayRows(owner, source, WORKBENCH_FORMAT, layers, facts, contract_sha256)
