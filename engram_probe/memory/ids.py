"""What a user id, a fact id and a prompt may contain, checked where they enter the store.

User ids end up in file names, terminal output, HTML and ledger entries, so they are kept to a
small, stated character set. Prompts and answers are free text, but control characters (NUL,
terminal escapes) are refused: they cannot be typed, only injected, and they corrupt every view.
"""

from __future__ import annotations

import re
import unicodedata

USER_ID_RULE = "1 to 64 characters: letters a-z or A-Z, digits, '.', '_', '-' or '@', starting with a letter or digit"
FACT_ID_RULE = "1 to 64 characters: letters, digits, '.', '_' or '-'"
_USER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_FACT_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
MAX_TEXT_CHARS = 4000  # one prompt or answer; a probe text has its own, token-based limit
ALLOWED_CONTROLS = {"\n", "\t"}


def check_user_id(user_id: object) -> str:
    """The user id, or ``ValueError`` saying what the rule is."""
    if not isinstance(user_id, str) or not _USER_ID.fullmatch(user_id):
        shown = printable(str(user_id))[:80]
        raise ValueError(f"user id {shown!r} is not allowed: use {USER_ID_RULE}")
    return user_id


def check_fact_id(fact_id: object) -> str:
    if not isinstance(fact_id, str) or not _FACT_ID.fullmatch(fact_id):
        raise ValueError(f"fact id {printable(str(fact_id))[:80]!r} is not allowed: use {FACT_ID_RULE}")
    return fact_id


def check_text(text: object, what: str, max_chars: int = MAX_TEXT_CHARS) -> str:
    """Free text (a prompt, an answer): a non-empty string without control characters."""
    if not isinstance(text, str):
        raise ValueError(f"{what} must be text")
    if not text.strip():
        raise ValueError(f"{what} is empty")
    if len(text) > max_chars:
        raise ValueError(f"{what} is {len(text):,} characters long; the limit is {max_chars:,}")
    bad = next((c for c in text if _is_control(c)), None)
    if bad is not None:
        raise ValueError(f"{what} contains a control character (U+{ord(bad):04X}); remove it")
    return text


BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}  # reorder what is shown


def _is_control(c: str) -> bool:
    return c not in ALLOWED_CONTROLS and (unicodedata.category(c) in ("Cc", "Cs", "Co") or c in BIDI_CONTROLS)


def printable(text: str) -> str:
    """``text`` with control characters shown as ``\\uXXXX``, for terminals and logs."""
    return "".join(f"\\u{ord(c):04x}" if _is_control(c) or c in ALLOWED_CONTROLS else c for c in text)
