"""Small text and time helpers: articles, answer rendering, lists, HH:MM arithmetic."""

from __future__ import annotations

from typing import Any

_A_NOT_AN_PREFIXES = ("uni", "use", "usu", "ux", "uk", "eu", "one")


def with_article(phrase: str) -> str:
    """Prefix ``phrase`` with "a" or "an" (simple English heuristics)."""
    low = phrase.lower()
    if low.startswith(_A_NOT_AN_PREFIXES):
        return f"a {phrase}"
    if low[:1] in "aeiou" or low.startswith(("8", "11", "18")):
        return f"an {phrase}"
    return f"a {phrase}"


def answer_text(answer: Any) -> str:
    """Render a fact answer as text: ``", ".join`` for lists, ``str`` otherwise."""
    if isinstance(answer, list | tuple):
        return ", ".join(str(a) for a in answer)
    return str(answer)


def _join_and(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return f"{items[0]} and {items[1]}"
    return ", ".join(items[:-1]) + f", and {items[-1]}"


def _hhmm_to_min(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _min_to_hhmm(total: int) -> str:
    total %= 24 * 60
    return f"{total // 60:02d}:{total % 60:02d}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]
