"""Held-out texts: the unrelated text on which the contrasts measure contamination, as an input of the audit.

The default set is defined once, in ``assets/heldout/default.json``: the 8 documents the training-data
generator gave for seed 12345 when reports first recorded held-out figures. It is pinned by its digest, so a
change to the generator never changes an audit's figures and an old report still verifies. An operator may
give their own set (a JSON list of texts, or a text file with one text per line); a report records the set's
digest, its count and where it came from (a path is only a hint: verify matches the texts by digest).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from engram_probe.contracts.base import canonical_bytes
from engram_probe.textio import locate_binary

DEFAULT_HELDOUT_FILE = Path(__file__).resolve().parents[1] / "assets" / "heldout" / "default.json"
DEFAULT_HELDOUT_SHA256 = "6de71bf790bc6751804c570704bc62f84b72ccf405ed0051bcab8479e37e1c77"
MAX_HELDOUT_BYTES = 4 * 2**20
MAX_HELDOUT_TEXTS = 2000
# Reports made before the set was an input name how it was generated (options.heldout_docs, heldout_seed);
# these two values are the default set.
LEGACY_DEFAULT = (8, 12345)


class HeldoutError(ValueError):
    """A held-out file that cannot be used: one line naming the file and the problem."""


def texts_digest(texts: Sequence[str]) -> str:
    """SHA-256 of the canonical JSON of the list of texts (the same for a JSON list and a text-lines file)."""
    return hashlib.sha256(canonical_bytes(list(texts))).hexdigest()


@dataclass(frozen=True)
class HeldoutSet:
    """The held-out texts of one audit, their digest, and where they came from (``kind`` "default" or "file")."""

    texts: tuple[str, ...]
    sha256: str
    kind: str = "default"
    path: str | None = None

    def record(self) -> dict[str, Any]:
        """What a report records: digest, count and source (the path is a hint for verify, never trusted)."""
        source: dict[str, Any] = {"kind": self.kind} if self.path is None else {"kind": self.kind, "path": self.path}
        return {"sha256": self.sha256, "count": len(self.texts), "source": source}


def _decode(data: bytes, path: Path) -> str:
    name = path.name
    if b"\0" not in data:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    where = locate_binary(path)
    raise HeldoutError(f"held-out file {name}: " + (where.reason if where else "not UTF-8 text"))


def _json_texts(text: str, name: str) -> list[str]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HeldoutError(f"held-out file {name}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    if not isinstance(items, list):
        raise HeldoutError(f"held-out file {name}: a .json held-out file is a list of texts, not a single value")
    for i, item in enumerate(items, 1):
        if not isinstance(item, str):
            raise HeldoutError(f"held-out file {name}: item {i} of the list is not text")
        if not item.strip():
            raise HeldoutError(f"held-out file {name}: item {i} of the list is empty")
    return items


def parse_heldout(path: str | Path) -> tuple[str, ...]:
    """The texts of a held-out file: a ``.json`` list of texts, otherwise one text per non-blank line.

    Refused with a one-line :class:`HeldoutError` when missing, too large, not UTF-8, empty or malformed.
    """
    p = Path(path)
    name = p.name
    if not p.is_file():
        raise HeldoutError(f"no held-out file at {p}")
    size = p.stat().st_size
    if size > MAX_HELDOUT_BYTES:
        raise HeldoutError(f"held-out file {name}: {size:,} bytes; a held-out file holds at most {MAX_HELDOUT_BYTES:,}")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise HeldoutError(f"held-out file {name}: cannot be read ({exc.strerror or exc})") from exc
    text = _decode(data, p)
    if p.suffix.lower() == ".json":
        texts = _json_texts(text, name)
    else:
        texts = [line.rstrip("\r") for line in text.split("\n") if line.strip()]
    if not texts:
        raise HeldoutError(f"held-out file {name}: no texts in it")
    if len(texts) > MAX_HELDOUT_TEXTS:
        raise HeldoutError(f"held-out file {name}: {len(texts):,} texts; at most {MAX_HELDOUT_TEXTS:,} are audited")
    return tuple(texts)


def read_heldout_file(path: str | Path) -> HeldoutSet:
    """An operator's held-out file as a set; the report records its resolved path as a hint."""
    texts = parse_heldout(path)
    return HeldoutSet(texts, texts_digest(texts), "file", str(Path(path).resolve()))


def load_default_heldout(path: str | Path = DEFAULT_HELDOUT_FILE) -> HeldoutSet:
    """The default set from ``path``, refused unless its texts hash to the pinned digest."""
    texts = parse_heldout(path)
    digest = texts_digest(texts)
    if digest != DEFAULT_HELDOUT_SHA256:
        raise HeldoutError(
            f"held-out file {Path(path).name}: its texts hash to {digest[:16]}…, not the pinned default "
            f"{DEFAULT_HELDOUT_SHA256[:16]}…: the default held-out set was changed after it was pinned"
        )
    return HeldoutSet(texts, digest)


@lru_cache(maxsize=1)
def default_heldout() -> HeldoutSet:
    """The default held-out set (read and checked once per process)."""
    return load_default_heldout()
