"""Reading large UTF-8 text files in chunks that never split a line (so never split a token)."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path

CHUNK_CHARS = 1 << 18  # ~64K tokens: working arrays stay small enough to be reused, not page-faulted
LOCATE_BYTES = 1 << 20


class NotTextError(ValueError):
    """A file read as text that is binary: a NUL byte or bytes that are not UTF-8, at ``offset`` on ``line``."""

    def __init__(self, path: str | Path, offset: int, line: int, reason: str):
        self.path, self.offset, self.line, self.reason = str(path), offset, line, reason
        super().__init__(f"{path} line {line}: {reason}")


def locate_binary(path: Path) -> NotTextError | None:
    """The first NUL byte or invalid UTF-8 byte of a file (byte offset and 1-based line), or None if it is text."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    start = 0  # byte offset of the current block
    newlines = 0  # newlines before the current block
    with path.open("rb") as fh:
        while True:
            block = fh.read(LOCATE_BYTES)
            pending = len(decoder.getstate()[0])  # bytes of a character begun in the previous block
            found: list[tuple[int, str]] = []
            nul = block.find(b"\0")
            if nul >= 0:
                found.append((start + nul, "a NUL byte"))
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:  # exc.start counts from the start of the pending bytes
                what = "an unfinished UTF-8 character" if not block else f"byte 0x{exc.object[exc.start]:02x}"
                found.append((start - pending + exc.start, what))
            if found:
                at, what = min(found)
                line = newlines + block[: max(0, at - start)].count(b"\n") + 1
                return NotTextError(path, at, line, f"binary, not UTF-8 text: {what} at byte offset {at}")
            if not block:
                return None
            newlines += block.count(b"\n")
            start += len(block)


def read_chunks(path: Path, chunk_chars: int = CHUNK_CHARS, strict: bool = False) -> Iterator[tuple[int, str]]:
    """(character offset, text) chunks, split at newlines so tokens never straddle chunks.

    ``strict`` refuses a binary file (a NUL byte or invalid UTF-8) with :class:`NotTextError`;
    otherwise undecodable bytes read as U+FFFD."""
    offset = 0
    carry = ""
    with path.open("r", encoding="utf-8", errors="strict" if strict else "replace") as fh:
        while True:
            try:
                block = fh.read(chunk_chars)
            except UnicodeDecodeError:
                block = "\0"  # located below, with its byte offset
            if strict and "\0" in block:
                raise locate_binary(path) or NotTextError(path, 0, 1, "binary, not UTF-8 text")
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
