"""Blast-radius scan of a corpus on any contract: which positions read an edited row (hash only).

A corpus is JSONL with one token-id list per line (each line its own sequence: the n-gram
window starts fresh), or UTF-8 text read with the contract's tokenizer (one running sequence;
the look-back carries across chunk boundaries, as a server's look-back does across chunks).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from engram_probe.contracts.base import AddressContract, ContractError
from engram_probe.hashaudit.index import EditedRows
from engram_probe.textio import read_chunks

Progress = Callable[[int, int], None]
TEXT_CHUNK_CHARS = 1 << 18


class CorpusError(ValueError):
    """A corpus that cannot be read; the message names the file and line."""


def jsonl_sequences(path: Path) -> Iterator[tuple[int | None, list[int], int]]:
    """(line number, token ids, bytes read so far) for each non-empty line."""
    done = 0
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            done += len(raw)
            line = raw.strip()
            if not line:
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CorpusError(f"{path.name} line {lineno}: not JSON ({exc.msg})") from exc
            ids = item.get("ids") if isinstance(item, dict) else item
            if not isinstance(ids, list) or not all(isinstance(t, int) and not isinstance(t, bool) for t in ids):
                raise CorpusError(f"{path.name} line {lineno}: expected a list of token ids (or {{'ids': [...]}})")
            yield lineno, ids, done


def text_sequences(path: Path, contract: AddressContract) -> Iterator[tuple[int | None, list[int], int]]:
    """Token ids of a text file, chunk by chunk at newlines; ids of one chunk continue the last."""
    done = 0  # bytes, for the progress bar (read_chunks counts characters)
    for _offset, text in read_chunks(path, TEXT_CHUNK_CHARS):
        done += len(text.encode("utf-8", "replace"))
        yield None, contract.encode(text), done


def scan_contract_corpus(
    contract: AddressContract,
    index: EditedRows,
    path: str | Path,
    progress: Progress | None = None,
    max_examples: int = 5,
) -> dict[str, Any]:
    """Hits per fact and per row, and the share of positions that read any edited row."""
    p = Path(path)
    if not p.is_file():
        raise CorpusError(f"no corpus file at {p}")
    is_jsonl = p.suffix in (".jsonl", ".ndjson")
    if not is_jsonl and getattr(contract, "tokenizer", None) is None:
        raise ContractError(f"{p.name} is text: give --tokenizer, or a .jsonl corpus of token-id lists")
    total = p.stat().st_size
    per_row: Counter[tuple[int, int]] = Counter()
    per_fact: Counter[str] = Counter()
    examples: dict[str, list[dict[str, int]]] = {}
    tokens = positions_hit = sequences = 0
    lookback: list[int] = []
    offset = 0  # text: token index of the chunk's first token in the whole file (JSONL: 0 for each line)
    back = max(c.order for L in contract.layers for c in contract.columns(L)) - 1
    source = jsonl_sequences(p) if is_jsonl else text_sequences(p, contract)
    for lineno, ids, done in source:
        ctx = [] if is_jsonl else lookback
        arr = np.asarray(ctx + ids, dtype=np.int64)
        start = len(ctx)
        any_hit = np.zeros(len(ids), dtype=bool)
        for layer in contract.layers:
            addr = contract.addresses(arr, layer)[start:]
            hit = index.hit_mask(layer, addr)
            any_hit |= hit.any(axis=1)
            for t, c in zip(*np.nonzero(hit), strict=True):
                key = (layer, int(addr[t, c]))
                per_row[key] += 1
                for fact in set(index.owners(key)[1]):
                    per_fact[fact] += 1
                    ex = examples.setdefault(fact, [])
                    if len(ex) < max_examples:
                        ex.append({"line": lineno, "position": offset + int(t), "layer": layer, "row": key[1]})
        positions_hit += int(any_hit.sum())
        offset = 0 if is_jsonl else offset + len(ids)
        tokens += len(ids)
        sequences += 1
        if not is_jsonl:
            lookback = (lookback + ids)[-back:] if back else []
        if progress:
            progress(done, total)
    claimed = {f"{u}/{f}" for (u, f) in index.reads}
    return {
        "contract": contract.reference(),
        "corpus": {"path": str(p), "bytes": total, "kind": "jsonl" if is_jsonl else "text", "sequences": sequences},
        "tokens": tokens,
        "positions_hit": positions_hit,
        "fraction_hit": positions_hit / tokens if tokens else 0.0,
        "facts": [
            {"fact": f, "hits": per_fact.get(f, 0), "examples": examples.get(f, [])}
            for f in sorted(claimed, key=lambda f: (-per_fact.get(f, 0), f))
        ],
        "rows": [{"layer": L, "row": r, "hits": n} for (L, r), n in per_row.most_common(1000)],
        "rows_hit": len(per_row),
        "rule": "a hit is one (position, table, column) read of a row some overlay writes; a position is hit when any "
        "of its reads is; computed from "
        "the address contract alone, with no forward pass",
    }
