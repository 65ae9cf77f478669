"""Sharded corpora for scans: find the shards, and read each as batches of records.

A shard is one file: JSONL (one record per line: a token-id list, ``{"ids": [...]}`` or
``{"text": "..."}``), Parquet (a ``text`` string column or an ``ids`` / ``token_ids`` list column),
or plain UTF-8 text (``.txt``, one running sequence). Every JSONL line and Parquet row is its own
sequence: the n-gram window starts fresh, as a server's does for each request.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engram_probe.extras import require
from engram_probe.scale.token_ids import INT64_LIMIT, out_of_range
from engram_probe.textio import NotTextError, read_chunks

JSONL_SUFFIXES = (".jsonl", ".ndjson")
PARQUET_SUFFIXES = (".parquet", ".pq")
TEXT_SUFFIXES = (".txt", ".text")
SUFFIXES = JSONL_SUFFIXES + PARQUET_SUFFIXES + TEXT_SUFFIXES
BATCH_RECORDS = 4096
TEXT_CHUNK_CHARS = 1 << 18
ID_COLUMNS = ("ids", "token_ids")
# After a newline between two non-space characters, byte-level pre-tokenizers split anyway (derived from
# their split patterns: a lone newline is its own piece), so a text cut there tokenises as the whole.
SAFE_CUT = re.compile(r"(?<=\S\n)(?=\S)")


class ShardError(ValueError):
    """A shard that cannot be read: the message names its path and, where known, the line, row or row group.

    ``line`` is the 1-based number in ``unit``: "line" (JSONL, text), "row" (Parquet) or "row group"."""

    def __init__(self, path: str | Path, line: int | None, reason: str, unit: str = "line"):
        self.path, self.line, self.reason, self.unit = str(path), line, reason, unit
        super().__init__(f"{path} {self.where}: {reason}" if self.where else f"{path}: {reason}")

    @property
    def where(self) -> str:
        """Where in the file, e.g. "line 3", "row 7" or "row group 2"; empty when it is the whole file."""
        return "" if self.line is None else f"{self.unit} {self.line}"


@dataclass(frozen=True)
class Shard:
    """One corpus file, identified by path, size and modification time (what resuming trusts)."""

    path: str
    size: int
    mtime_ns: int

    @property
    def kind(self) -> str:
        suffix = Path(self.path).suffix.lower()
        if suffix in JSONL_SUFFIXES:
            return "jsonl"
        return "parquet" if suffix in PARQUET_SUFFIXES else "text"

    @property
    def unit(self) -> str:
        """What numbers a record: a Parquet row, else a line."""
        return "row" if self.kind == "parquet" else "line"

    def key(self) -> str:
        """A short stable id of this file's identity (path, size, mtime)."""
        return hashlib.sha256(f"{self.path}\0{self.size}\0{self.mtime_ns}".encode()).hexdigest()[:16]

    def seed(self) -> int:
        """The shard's part of the sampling key: from its file name, so it is the same on every machine."""
        return int.from_bytes(hashlib.sha256(Path(self.path).name.encode()).digest()[:4], "little")


def find_shards(inputs: list[str | Path]) -> list[Shard]:
    """Shards from files and folders (a folder gives every corpus file under it), sorted by path."""
    if not inputs:
        raise ShardError("(no input)", None, "give at least one corpus file or folder")
    files: set[Path] = set()
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            files.update(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUFFIXES)
        elif p.is_file():
            if p.suffix.lower() not in SUFFIXES:
                raise ShardError(p, None, f"not a corpus shard (expected one of {', '.join(SUFFIXES)})")
            files.add(p)
        else:
            raise ShardError(p, None, "no such file or folder")
    if not files:
        raise ShardError(", ".join(map(str, inputs)), None, "no corpus shards found")
    out = []
    for f in sorted(files):
        st = f.stat()
        out.append(Shard(str(f.resolve()), st.st_size, st.st_mtime_ns))
    names = [Path(s.path).name for s in out]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ShardError(dup, None, "two shards share this file name; sampling keys use names, so rename one")
    return out


@dataclass
class Batch:
    """Records of one shard: token ids already known, or texts still to tokenise, with their line numbers."""

    lines: np.ndarray  # [n] 1-based line (JSONL, text) or row (Parquet) of each record
    texts: list[str] | None = None
    ids: list[np.ndarray] | None = None
    running: bool = False  # True: the records continue one sequence (a text file)
    done_bytes: int = 0  # how far into the file this batch ends (approximate for Parquet), for progress


def _int64_ids(seq: list[int], shard: Shard, lineno: int, limit: int) -> np.ndarray:
    try:
        return np.asarray(seq, dtype=np.int64)
    except OverflowError as exc:  # an id past 64 bits: name it rather than the conversion
        bad = next(t for t in seq if not -INT64_LIMIT <= t < INT64_LIMIT)
        raise ShardError(shard.path, lineno, out_of_range(bad, limit)) from exc


def _jsonl_batches(shard: Shard, limit: int) -> Iterator[Batch]:
    lines: list[int] = []
    texts: list[str] = []
    ids: list[np.ndarray] = []
    done = 0
    with open(shard.path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            done += len(raw)
            raw = raw.strip()
            if not raw:
                continue
            try:
                item = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ShardError(shard.path, lineno, f"not JSON ({exc})") from exc
            except ValueError as exc:  # Python's cap on the digits of an integer
                raise ShardError(shard.path, lineno, "holds a number too long to be a token id") from exc
            except RecursionError as exc:
                raise ShardError(shard.path, lineno, "not JSON (nested too deeply)") from exc
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                texts.append(item["text"])
            else:
                seq = item.get("ids", item.get("token_ids")) if isinstance(item, dict) else item
                if not isinstance(seq, list) or not all(isinstance(t, int) and not isinstance(t, bool) for t in seq):
                    raise ShardError(shard.path, lineno, "expected a token-id list, {'ids': [...]} or {'text': ...}")
                ids.append(_int64_ids(seq, shard, lineno, limit))
            if texts and ids:
                raise ShardError(shard.path, lineno, "mixes text records and token-id records; use one kind per shard")
            lines.append(lineno)
            if len(lines) >= BATCH_RECORDS:
                yield Batch(np.asarray(lines), texts or None, ids or None, done_bytes=done)
                lines, texts, ids = [], [], []
    if lines:
        yield Batch(np.asarray(lines), texts or None, ids or None, done_bytes=done)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())  # Arrow's messages can span lines


def _parquet_batches(shard: Shard, limit: int) -> Iterator[Batch]:
    require("pyarrow", "Reading Parquet shards")
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(shard.path)
    except (pa.ArrowException, OSError) as exc:
        raise ShardError(shard.path, None, f"not a readable Parquet file ({_one_line(exc)})") from exc
    names = pf.schema_arrow.names
    column = "text" if "text" in names else next((c for c in ID_COLUMNS if c in names), None)
    if column is None:
        raise ShardError(shard.path, None, f"no 'text', 'ids' or 'token_ids' column (columns: {names})")
    kind = pf.schema_arrow.field(column).type
    lists = pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)
    if column != "text" and not (lists and pa.types.is_integer(kind.value_type)):
        raise ShardError(shard.path, None, f"column {column} holds {kind}, not lists of integers")
    row = 0
    total_rows = max(1, pf.metadata.num_rows)
    groups = pf.metadata.num_row_groups
    for group in range(groups):
        batches = pf.iter_batches(batch_size=BATCH_RECORDS, row_groups=[group], columns=[column])
        while True:
            try:
                rb = next(batches)
            except StopIteration:
                break
            except (pa.ArrowException, OSError) as exc:  # a damaged page: its rows are not known
                reason = f"cannot be decoded (row groups numbered 1..{groups}): {_one_line(exc)}"
                raise ShardError(shard.path, group + 1, reason, unit="row group") from exc
            col = rb.column(0)
            lines = np.arange(row + 1, row + 1 + len(col))
            if col.null_count:
                bad = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
                raise ShardError(shard.path, row + 1 + bad, f"null {column}", unit=shard.unit)
            done = shard.size * (row + len(col)) // total_rows
            if column == "text":
                yield Batch(lines, texts=_texts(col.to_pylist(), shard, row), done_bytes=done)
            else:
                yield Batch(lines, ids=_id_lists(col, column, shard, row, limit), done_bytes=done)
            row += len(col)


def _texts(texts: list, shard: Shard, row: int) -> list[str]:
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise ShardError(shard.path, row + 1 + i, "the text column holds a non-text value", unit=shard.unit)
    return texts


def _id_lists(col: Any, column: str, shard: Shard, row: int, limit: int) -> list[np.ndarray]:
    """A Parquet list column's records as int64 arrays; a null id or one past 64 bits fails its row."""
    # col is a pyarrow list array (pyarrow ships no type hints)
    import pyarrow.compute as pc

    ends = np.cumsum(pc.list_value_length(col).to_numpy(zero_copy_only=False), dtype=np.int64)
    flat = col.flatten()

    def row_of(i: int) -> int:  # the 1-based row holding flat id i
        return row + 1 + int(np.searchsorted(ends, i, side="right"))

    if flat.null_count:
        i = int(np.flatnonzero(flat.is_null().to_numpy(zero_copy_only=False))[0])
        raise ShardError(shard.path, row_of(i), f"null token id in {column}", unit=shard.unit)
    values = flat.to_numpy()
    if values.dtype == np.uint64 and values.size and int(values.max()) >= INT64_LIMIT:
        i = int(np.argmax(values >= np.uint64(INT64_LIMIT)))
        raise ShardError(shard.path, row_of(i), out_of_range(int(values[i]), limit), unit=shard.unit)
    return np.split(values.astype(np.int64, copy=False), ends[:-1])


def _text_batches(shard: Shard) -> Iterator[Batch]:
    line = 1
    try:
        for offset, chunk in read_chunks(Path(shard.path), TEXT_CHUNK_CHARS, strict=True):
            pieces = [p for p in SAFE_CUT.split(chunk) if p]
            starts = np.cumsum([0] + [p.count("\n") for p in pieces[:-1]]) + line
            line += chunk.count("\n")
            done = min(shard.size, offset + len(chunk))  # characters: bytes for ASCII, an estimate otherwise
            yield Batch(starts.astype(np.int64), texts=pieces, running=True, done_bytes=done)
    except NotTextError as exc:
        raise ShardError(shard.path, exc.line, exc.reason) from exc


def read_batches(shard: Shard, id_limit: int = INT64_LIMIT) -> Iterator[Batch]:
    """The shard's records in batches; raises :class:`ShardError` (path and line) on the first bad one.

    ``id_limit`` only words the refusal of an id past 64 bits; the caller checks ids against it."""
    try:
        if shard.kind == "jsonl":
            yield from _jsonl_batches(shard, id_limit)
        elif shard.kind == "parquet":
            yield from _parquet_batches(shard, id_limit)
        else:
            yield from _text_batches(shard)
    except UnicodeDecodeError as exc:
        raise ShardError(shard.path, None, f"not UTF-8 ({exc})") from exc
    except OSError as exc:
        raise ShardError(shard.path, None, f"cannot be read ({exc})") from exc
