"""Reading large UTF-8 text files in chunks that never split a line (so never split a token)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

CHUNK_CHARS = 1 << 18  # ~64K tokens: working arrays stay small enough to be reused, not page-faulted


def read_chunks(path: Path, chunk_chars: int = CHUNK_CHARS) -> Iterator[tuple[int, str]]:
    """(character offset, text) chunks, split at newlines so tokens never straddle chunks."""
    offset = 0
    carry = ""
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        while True:
            block = fh.read(chunk_chars)
            if not block:
                break
            text = carry + block
            cut = text.rfind("\n")
            if cut < 0:
                carry = text
                continue
            yield offset, text[: cut + 1]
            offset += cut + 1
            carry = text[cut + 1 :]
    if carry:
        yield offset, carry
