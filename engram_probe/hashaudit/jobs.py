"""Hash-only audit jobs from recorded inputs: what the CLI and UI run, and what ``verify`` re-runs.

A job names its inputs by path and SHA-256 (contract files, overlays, facts, corpus) and by value
(text or token ids), so a report can be re-derived from exactly what it says it used.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engram_probe.contracts import AddressContract, ContractError, load_contract
from engram_probe.contracts.registry import read_gguf_metadata
from engram_probe.hashaudit.census import row_census
from engram_probe.hashaudit.readmap import contract_read_map, rows_of_sequence
from engram_probe.hashaudit.storage import lora_shape, storage_report
from engram_probe.overlays import OverlayRows, read_overlay
from engram_probe.overlays.edited_rows import EditedRows
from engram_probe.overlays.load import overlays_from_store
from engram_probe.scale.engine import Placement, Progress
from engram_probe.scale.scan import scan_shards
from engram_probe.scale.shards import find_shards
from engram_probe.scale.token_ids import check_sequences

KINDS = ("rows", "readmap", "census", "scan")


def file_sha256(path: str | Path | None) -> str | None:
    """SHA-256 of a file's bytes; for a folder (a model or adapter folder given as --config), the SHA-256 of the
    canonical JSON of {file name: its SHA-256} over the files directly in it."""
    if path is None:
        return None
    p = Path(path)
    if p.is_dir():
        listing = {f.name: file_sha256(f) for f in sorted(p.iterdir()) if f.is_file()}
        return hashlib.sha256(json.dumps(listing, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    h = hashlib.sha256()
    with p.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class OverlayInput:
    path: str
    user: str | None = None
    facts: str | None = None


@dataclass
class JobInputs:
    """Everything a hash-only job reads."""

    contract: str
    config: str | None = None
    tokenizer: str | None = None
    overlays: list[OverlayInput] = field(default_factory=list)
    text: str | None = None
    token_ids: list[list[int]] | None = None
    corpus: list[str] | None = None  # files or folders of shards
    examples: int = 5
    lora_rank: int = 16
    store: str | None = None  # a workbench memory store: its users' memories are overlays too
    store_users: list[str] | None = None  # None: every user in the store

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> JobInputs:
        d = dict(d)
        d["overlays"] = [OverlayInput(**o) for o in d.get("overlays", [])]
        if isinstance(d.get("corpus"), str):  # reports written before sharded corpora
            d["corpus"] = [d["corpus"]]
        return cls(**d)

    def files(self) -> list[str]:
        """Every path this job would open (config, tokenizer, overlays and sidecars, corpus, store)."""
        paths = [self.config, self.tokenizer, self.store, *(self.corpus or [])]
        paths += [p for o in self.overlays for p in (o.path, o.facts)]
        return [str(p) for p in paths if p]

    def digests(self) -> dict[str, Any]:
        """SHA-256 of every input file, keyed by role."""
        return {
            "config": file_sha256(self.config),
            "tokenizer": file_sha256(self.tokenizer),
            "overlays": [
                {"path": o.path, "sha256": file_sha256(o.path), "facts_sha256": file_sha256(o.facts)}
                for o in self.overlays
            ],
            "store": None if self.store is None else store_digests(self.store, self.store_users),
            "corpus": None
            if self.corpus is None
            else [{"path": s.path, "sha256": file_sha256(s.path)} for s in find_shards(list(self.corpus))],
        }


def open_contract(inputs: JobInputs) -> AddressContract:
    return load_contract(inputs.contract, inputs.config, inputs.tokenizer)


def store_digests(path: str, users: list[str] | None) -> dict[str, Any]:
    """The store's path and the content digest of each audited user's memory (not the SQLite bytes)."""
    from engram_probe.memory.store import MemoryStore, memory_digest

    if not Path(path).is_file():
        return {"path": path, "users": None}
    with MemoryStore(path, mode="read") as store:
        return {"path": path, "users": {u: memory_digest(store.load(u)) for u in (users or store.user_ids())}}


def open_overlays(contract: AddressContract, inputs: JobInputs) -> list[OverlayRows]:
    files = [read_overlay(o.path, contract, o.user, o.facts) for o in inputs.overlays]
    stored = overlays_from_store(contract, inputs.store, inputs.store_users) if inputs.store else []
    return files + stored


def sequences(contract: AddressContract, inputs: JobInputs) -> list[list[int]]:
    """The token-id sequences a rows/readmap job addresses: the given ids, or the text through the tokenizer."""
    if inputs.token_ids is not None:
        if not inputs.token_ids or not all(isinstance(s, list) and s for s in inputs.token_ids):
            raise ValueError("token ids must be a non-empty list of non-empty token-id lists")
        check_sequences(contract, inputs.token_ids)
        return inputs.token_ids
    if not inputs.text or not inputs.text.strip():
        raise ValueError("give a text (with the model's tokenizer) or token ids")
    ids = contract.encode(inputs.text)
    if not ids:
        raise ValueError("the text has no tokens")
    return [ids]


def run_job(
    kind: str,
    inputs: JobInputs,
    progress: Progress | None = None,
    contract: AddressContract | None = None,
    place: Placement = Placement(),
    resume: str | Path | None = None,
) -> dict[str, Any]:
    """Run one hash-only job and return its result (JSON-ready); ``contract`` saves re-building it.

    ``place`` and ``resume`` say where a scan runs and where finished shards are kept; neither
    changes the result."""
    if kind not in KINDS:
        raise ValueError(f"unknown job {kind!r}; one of {', '.join(KINDS)}")
    contract = contract or open_contract(inputs)
    if kind == "rows":
        out = []
        for ids in sequences(contract, inputs):
            reads = rows_of_sequence(contract, ids)
            fact_rows = {str(L): [r["row"] for r in reads[-1] if r["layer"] == L] for L in contract.layers}
            out.append({"token_ids": ids, "reads": reads, "rows_of_fact": fact_rows})
        return {
            "sequences": out,
            "rows_of_fact_rule": "a fact whose trigger is this sequence owns the rows read at its last position",
        }
    if not inputs.overlays and not inputs.store:
        raise ValueError(f"{kind} needs at least one overlay (--overlay FILE or --store DB)")
    if kind == "scan":
        if not inputs.corpus:
            raise ValueError("scan needs a corpus")
        shards = find_shards(list(inputs.corpus))
        if getattr(contract, "tokenizer", None) is None and any(s.kind == "text" for s in shards):
            text = next(s for s in shards if s.kind == "text")
            raise ContractError(f"{Path(text.path).name} is text: give --tokenizer, or token-id shards")
    overlays = open_overlays(contract, inputs)
    if kind == "census":
        config = None
        if inputs.config and Path(inputs.config).suffix == ".json":
            config = json.loads(Path(inputs.config).read_text(encoding="utf-8"))
        elif inputs.config and Path(inputs.config).suffix == ".gguf":
            config = read_gguf_metadata(inputs.config)
        shape = lora_shape(contract, config)
        return {
            **row_census(contract, overlays),
            "storage": storage_report(contract, overlays, shape, inputs.lora_rank),
        }
    if kind == "readmap":
        index = EditedRows(contract, overlays)
        maps = [contract_read_map(contract, index, ids) for ids in sequences(contract, inputs)]
        return {"overlays": [o.summary() for o in overlays], "read_maps": maps}
    return scan_shards(contract, overlays, list(inputs.corpus or []), place, resume, progress, inputs.examples)
