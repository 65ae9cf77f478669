"""Export and import one user's memory as a single safetensors file with metadata.

Import validates everything before touching the store: the base model digest, the file
format, tensor names, shapes, dtypes, row-id ranges, finiteness and the memory digest.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from engram_probe.arch.base import EngramModelBase
from engram_probe.contracts.base import AddressContract
from engram_probe.memory.ids import check_fact_id, check_text, check_user_id, printable
from engram_probe.memory.signed_file import SignedFileError, check_unchanged
from engram_probe.memory.store import LedgerEntry, MemoryStore, StoreError
from engram_probe.memory.user_memory import Fact, UserMemory
from engram_probe.safetensors_io import UnreadableSafetensors, read_all

FORMAT = "engram-probe-memory/1"
# the workbench's write strategies, and "imported": a fact another tool wrote, bridged from its overlay file
STRATEGIES = ("unembed", "opt", "joint", "imported")


class ImportRejected(StoreError):
    """A memory file that cannot be imported; nothing was changed."""


def export_memory(
    memory: UserMemory,
    path: str | Path,
    base_sha256: str,
    contract: AddressContract,
    provenance: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Write one user's memory to a safetensors file that names the base model and the address contract.

    ``provenance``: where the memory comes from in its store (the ledger's head and the user's last
    entry), recorded in the file so that an import can name the ledger it continues.
    """
    if len(memory) == 0:
        raise StoreError(f"user {memory.user_id!r} has no facts to export")
    tensors: dict[str, torch.Tensor] = {}
    metas = []
    for i, f in enumerate(memory.facts):
        tensors[f"fact.{i:05d}.row_ids"] = f.row_ids.contiguous()
        tensors[f"fact.{i:05d}.values"] = f.values.contiguous()
        metas.append(f.meta())
    metadata = {
        "format": FORMAT,
        "user_id": memory.user_id,
        "base_model_sha256": base_sha256,
        "contract": contract.name,
        "contract_sha256": contract.digest(),
        "memory_sha256": memory.digest(),
        "facts": json.dumps(metas),
    }
    metadata |= {f"source_{k}": str(v) for k, v in (provenance or {}).items()}
    save_file(tensors, str(path), metadata=metadata)
    return {
        "path": str(path),
        "user": memory.user_id,
        "facts": len(memory),
        "memory_sha256": memory.digest(),
        "contract_sha256": contract.digest(),
    }


def read_memory_file(path: str | Path, model: EngramModelBase, base_sha256: str) -> UserMemory:
    """Parse and validate a memory file against the model; raise ``ImportRejected`` on any problem."""
    p = Path(path)
    if not p.is_file():
        raise ImportRejected(f"no file at {p}")
    try:
        check_unchanged(p)  # a signature beside it lists the bytes that were signed
        meta, tensors = read_all(p)
    except SignedFileError as exc:
        raise ImportRejected(str(exc)) from exc
    except UnreadableSafetensors as exc:
        raise ImportRejected(f"{p.name} is not a readable safetensors file ({exc})") from exc
    if meta.get("format") != FORMAT:
        raise ImportRejected(f"{p.name} is not an engram-probe memory file (format {meta.get('format')!r})")
    if meta.get("base_model_sha256") != base_sha256:
        raise ImportRejected(
            f"{p.name} was written for base model {str(meta.get('base_model_sha256'))[:12]}…, "
            f"not the loaded model {base_sha256[:12]}…"
        )
    if "contract_sha256" in meta and meta["contract_sha256"] != model.hasher.digest():
        raise ImportRejected(
            f"{p.name} was written under address contract {meta['contract_sha256'][:12]}…, not the loaded model's "
            f"{model.hasher.digest()[:12]}…"
        )
    user = meta.get("user_id", "")
    try:
        check_user_id(user)
    except ValueError as exc:
        raise ImportRejected(f"{p.name}: field user_id: {exc}") from exc
    try:
        metas = json.loads(meta.get("facts", ""))
        if not isinstance(metas, list) or not metas:
            raise ValueError("no facts")
        if not all(isinstance(m, dict) for m in metas):
            raise ValueError("each fact must be an object of named fields")
    except ValueError as exc:
        raise ImportRejected(f"{p.name} has unreadable fact metadata in field facts ({exc})") from exc
    cfg = model.cfg
    expected_names = {f"fact.{i:05d}.{k}" for i in range(len(metas)) for k in ("row_ids", "values")}
    if set(tensors) != expected_names:
        raise ImportRejected(f"{p.name} tensors do not match its {len(metas)} facts")
    facts = []
    for i, m in enumerate(metas):
        ids, vals = tensors[f"fact.{i:05d}.row_ids"], tensors[f"fact.{i:05d}.values"]
        where = f"{p.name}: fact {i} ({printable(str(m.get('fact_id', '?')))[:40]})"
        if ids.dtype != torch.int64 or vals.dtype != torch.float32:
            raise ImportRejected(f"{where}: expected int64 row ids and float32 values, got {ids.dtype}, {vals.dtype}")
        if ids.ndim != 2 or ids.shape[1] != 2 or vals.shape != (ids.shape[0], cfg.dim_per_head):
            raise ImportRejected(
                f"{where}: shapes {tuple(ids.shape)} / {tuple(vals.shape)} do not fit rows of {cfg.dim_per_head} dims"
            )
        for layer, row in ids.tolist():
            if layer not in cfg.engram_layers:
                raise ImportRejected(f"{where}: layer {layer} is not an Engram layer {list(cfg.engram_layers)}")
            if not 0 <= row < model.hasher.table_rows(layer):
                raise ImportRejected(f"{where}: row {row} is outside layer {layer}'s table")
        if not bool(torch.isfinite(vals).all()):
            raise ImportRejected(f"{where}: values contain NaN or infinity")
        try:
            fields: dict[str, Any] = {k: v for k, v in m.items() if k != "rows"}
            fact = Fact(row_ids=ids, values=vals, **fields)
            check_fact_id(fact.fact_id)
            for t in fact.triggers:
                check_text(t, "a trigger prompt")
            check_text(fact.answer, "the answer")
        except (TypeError, ValueError) as exc:
            raise ImportRejected(f"{where}: {exc}") from exc
        if not 0 <= fact.gold_token_id < cfg.d_vocab:
            raise ImportRejected(
                f"{where}: field gold_token_id {fact.gold_token_id} is outside the vocabulary (0..{cfg.d_vocab - 1})"
            )
        if not all(0 <= t < cfg.d_vocab for t in fact.answer_token_ids):
            raise ImportRejected(f"{where}: field answer_token_ids has a token outside the vocabulary")
        if fact.strategy not in STRATEGIES:
            raise ImportRejected(f"{where}: field strategy {fact.strategy!r} is not one of {', '.join(STRATEGIES)}")
        facts.append(fact)
    try:
        memory = UserMemory(user, facts)
    except ValueError as exc:
        raise ImportRejected(f"{p.name}: {exc}") from exc
    if memory.digest() != meta.get("memory_sha256"):
        raise ImportRejected(f"{p.name}: memory digest does not match its content (the file was altered)")
    if not all(math.isfinite(f.cost_ms) for f in facts):
        raise ImportRejected(f"{p.name}: bad cost values")
    return memory


def check_importable(store: MemoryStore, memory: UserMemory) -> None:
    """Refuse an import that would merge into an existing user or reuse a fact id already in the store."""
    if store.has_user(memory.user_id):
        raise ImportRejected(f"user {memory.user_id!r} already exists; erase it first or import under another id")
    taken = {f.fact_id for u in store.user_ids() for f in store.load(u).facts}
    clash = taken & {f.fact_id for f in memory.facts}
    if clash:
        raise ImportRejected(f"fact ids already in the store: {sorted(clash)[:5]}")


def import_memory(
    store: MemoryStore,
    path: str | Path,
    model: EngramModelBase,
    base_sha256: str,
    as_user: str | None = None,
    operator: str | None = None,
) -> LedgerEntry:
    """Validate a memory file and add it as a new user; the ledger entry names the file and its source ledger."""
    memory = read_memory_file(path, model, base_sha256)
    if as_user:
        try:
            memory = UserMemory(check_user_id(as_user), memory.facts)
        except ValueError as exc:
            raise ImportRejected(str(exc)) from exc
    check_importable(store, memory)
    meta, _ = read_all(Path(path))
    detail = {"file_sha256": file_sha256(path), "file_user": meta.get("user_id")}
    detail |= {k: v for k, v in meta.items() if k.startswith("source_")}
    return store.replace_user(memory, action="import", operator=operator, detail=detail)


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
