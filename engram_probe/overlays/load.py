"""Open any supported overlay file as a :class:`RowOverlay`, with its facts from the file or a sidecar."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from engram_probe.contracts.base import AddressContract, ContractError
from engram_probe.overlays import pleo
from engram_probe.overlays.rowset import V41_FORMAT, FactTrigger, OverlayFileError, RowOverlay, normalise_rows
from engram_probe.safetensors_io import UnreadableSafetensors, read_all, read_metadata

WORKBENCH_FORMAT = "engram-probe-memory/1"
SIDECAR_SUFFIX = ".facts.json"


def _safetensors_format(p: Path) -> str | None:
    try:
        return read_metadata(p).get("format")
    except UnreadableSafetensors as exc:
        raise OverlayFileError(f"{p.name}: not a readable safetensors file, or truncated ({exc})") from exc


def read_facts_json(path: str | Path, contract: AddressContract, user: str) -> tuple[str, list[FactTrigger]]:
    """A facts file: ``{"user": ..., "facts": [{"fact_id", "trigger" or "trigger_ids", "layers"?}]}``."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OverlayFileError(f"{p.name}: not a readable facts JSON ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("facts"), list):
        raise OverlayFileError(f"{p.name}: a facts file holds {{'user': ..., 'facts': [...]}}")
    owner = str(doc.get("user") or user)
    out = []
    for i, f in enumerate(doc["facts"]):
        where = f"{p.name} fact {i}"
        if not isinstance(f, dict) or "fact_id" not in f:
            raise OverlayFileError(f"{where}: needs a fact_id")
        if "trigger_ids" in f:
            ids = f["trigger_ids"]
            if not isinstance(ids, list) or not ids or not all(isinstance(t, int) for t in ids):
                raise OverlayFileError(f"{where}: trigger_ids must be a non-empty list of token ids")
            text = f.get("trigger")
        elif isinstance(f.get("trigger"), str) and f["trigger"]:
            text = f["trigger"]
            try:
                ids = contract.encode(text)
            except ContractError as exc:
                raise OverlayFileError(f"{where}: {exc}") from exc
        else:
            raise OverlayFileError(f"{where}: give trigger (text) or trigger_ids")
        layers = f.get("layers")
        try:
            layer_ids = None if layers is None else tuple(layers)
            out.append(FactTrigger(owner, str(f["fact_id"]), tuple(ids), layer_ids, text))
        except (OverlayFileError, TypeError) as exc:
            raise OverlayFileError(f"{where}: {exc}") from exc
    return owner, out


def model_view_ids(contract: AddressContract, text: str, layer: int, rows: set[int], where: str) -> tuple[int, ...]:
    """The trigger's ids as the model saw them (with or without a leading BOS): the ones whose last position reads
    exactly the fact's stored rows. A fact whose rows match neither is refused."""
    ids = list(contract.encode(text))
    candidates = [ids]
    tok = getattr(contract, "tokenizer", None)
    bos = tok.token_to_id("<|bos|>") if tok is not None and hasattr(tok, "token_to_id") else None
    if bos is not None and (not ids or ids[0] != bos):
        candidates.append([bos, *ids])
    for cand in candidates:
        if cand and set(contract.addresses(np.asarray(cand), layer)[-1].tolist()) == rows:
            return tuple(cand)
    raise OverlayFileError(f"{where}: the stored rows of trigger {text!r} are not the rows its last position reads")


def read_workbench_memory(path: Path, contract: AddressContract, user: str | None) -> RowOverlay:
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
        raise OverlayFileError(f"{path.name}: written under contract {meta['contract_sha256'][:12]}…, not this one")
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
) -> RowOverlay:
    """A workbench user's rows as an overlay: ``items`` are (fact metadata, [k, 2] (layer, row), [k, dim])."""
    where = Path(source).name
    by_layer: dict[int, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    facts = []
    for m, ids, vals in items:
        for layer in np.unique(ids[:, 0]).tolist():
            sel = ids[:, 0] == layer
            by_layer.setdefault(int(layer), ([], []))[0].append(ids[sel, 1])
            by_layer[int(layer)][1].append(vals[sel])
        trigger = m["triggers"][0]
        layer = int(m["layer"])
        trigger_ids = model_view_ids(contract, trigger, layer, set(ids[ids[:, 0] == layer, 1].tolist()), where)
        facts.append(FactTrigger(owner, m["fact_id"], trigger_ids, (layer,), trigger))
    layers = {}
    for layer, (row_parts, value_parts) in by_layer.items():
        # within a user, the most recently written fact wins a shared row: keep the last occurrence
        r, v = np.concatenate(row_parts), np.concatenate(value_parts)
        last = {int(x): j for j, x in enumerate(r.tolist())}
        keep = np.array(sorted(last.values()), dtype=np.int64)
        layers[layer] = normalise_rows(contract, layer, r[keep], v[keep], where)[:2]
    return RowOverlay(owner, source, WORKBENCH_FORMAT, layers, facts, contract_sha256)


def overlays_from_store(
    contract: AddressContract, path: str | Path, users: list[str] | None = None
) -> list[RowOverlay]:
    """Users' memories in a workbench SQLite store, as overlays (every user, or the ones named)."""
    from engram_probe.memory.store import MemoryStore  # imports torch: only when a store is given

    p = Path(path)
    if not p.is_file():
        raise OverlayFileError(f"no memory store at {p}")
    if contract.name != "workbench":
        raise OverlayFileError("a memory store holds workbench memories; audit it with --contract workbench")
    with MemoryStore(p, mode="read") as store:
        names = users or store.user_ids()
        out = []
        for u in names:
            mem = store.load(u)
            items = [(f.meta(), f.row_ids.numpy(), f.values.detach().float().numpy()) for f in mem.facts]
            if items:
                out.append(overlay_from_fact_rows(contract, u, f"{p}#{u}", items, contract.digest()))
    if not out:
        raise OverlayFileError(f"{p.name}: no user with facts in the store")
    return out


def read_overlay(
    path: str | Path, contract: AddressContract, user: str | None = None, facts: str | Path | None = None
) -> RowOverlay:
    """Open a ``.pleo``, a V4.1 row-override file or a workbench memory export; validate it fully."""
    p = Path(path)
    if not p.is_file():
        raise OverlayFileError(f"no overlay file at {p}")
    with p.open("rb") as fh:
        head = fh.read(4)
    if head == pleo.MAGIC or p.suffix == ".pleo":
        overlay = pleo.read_pleo(p, contract, user)
    else:
        fmt = _safetensors_format(p)
        if fmt == V41_FORMAT:
            from engram_probe.overlays.v41_rows import read_v41_rows  # imports torch: only when needed

            overlay = read_v41_rows(p, contract, user)
        elif fmt == WORKBENCH_FORMAT:
            overlay = read_workbench_memory(p, contract, user)
        else:
            raise OverlayFileError(f"{p.name}: unknown overlay format {fmt!r}")
    sidecar = Path(facts) if facts else p.with_name(p.name + SIDECAR_SUFFIX)
    if facts and not sidecar.is_file():
        raise OverlayFileError(f"no facts file at {sidecar}")
    if sidecar.is_file():
        owner, found = read_facts_json(sidecar, contract, overlay.user if user is None else user)
        overlay.user = user or owner
        overlay.facts = [FactTrigger(overlay.user, f.fact_id, f.trigger_ids, f.layers, f.trigger_text) for f in found]
    return overlay
