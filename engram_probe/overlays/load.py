"""Open any registered overlay file as a :class:`OverlayRows`, with its facts from the file or a sidecar."""

from __future__ import annotations

import json
from pathlib import Path

from engram_probe.contracts.base import AddressContract, ContractError
from engram_probe.memory.ids import check_fact_id, check_user_id
from engram_probe.overlays.registry import read_rows
from engram_probe.overlays.rowset import FactTrigger, OverlayFileError, OverlayRows
from engram_probe.overlays.workbench_export import overlay_from_fact_rows

SIDECAR_SUFFIX = ".facts.json"


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


def overlays_from_store(
    contract: AddressContract, path: str | Path, users: list[str] | None = None
) -> list[OverlayRows]:
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
) -> OverlayRows:
    """Open an overlay file of any registered format (see ``registry``) with its facts; validate it fully."""
    overlay, _ = read_rows(path, contract, user)
    p = Path(path)
    sidecar = Path(facts) if facts else p.with_name(p.name + SIDECAR_SUFFIX)
    if facts and not sidecar.is_file():
        raise OverlayFileError(f"no facts file at {sidecar}")
    if sidecar.is_file():
        owner, found = read_facts_json(sidecar, contract, overlay.user if user is None else user)
        overlay.user = user or owner
        overlay.facts = [FactTrigger(overlay.user, f.fact_id, f.trigger_ids, f.layers, f.trigger_text) for f in found]
    check_ids(overlay, p.name if not sidecar.is_file() else f"{p.name} (with {sidecar.name})")
    return overlay


def check_ids(overlay: OverlayRows, where: str) -> None:
    """The overlay's user and every fact's user and fact id follow the stated rules (``memory/ids.py``): they end up
    in reports, HTML and terminals. Refused naming the file and the id otherwise."""
    try:
        check_user_id(overlay.user)
    except ValueError as exc:
        raise OverlayFileError(
            f"{where}: its user (named in the file or its facts, or taken from the file name) is not usable: {exc}; "
            f"rename the file, or name the user in its facts sidecar ({SIDECAR_SUFFIX})"
        ) from exc
    for f in overlay.facts:
        try:
            check_user_id(f.user)
            check_fact_id(f.fact_id)
        except ValueError as exc:
            raise OverlayFileError(f"{where}: a fact is not usable: {exc}") from exc
