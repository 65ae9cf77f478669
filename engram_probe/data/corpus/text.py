"""Small text helpers shared by every generator family (capitalising, lists, counts, clock times, money, dates)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from engram_probe.data import synthetic_users as su
from engram_probe.data.corpus.vocab import MONTH_DAYS, MONTHS, NAMES, NUM_WORDS, PRONOUNS, SEASONS

art = su.with_article


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def join_and(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return f"{items[0]} and {items[1]}"
    return ", ".join(items[:-1]) + f", and {items[-1]}"


def count(r: random.Random, lo: int, hi: int) -> tuple[int, str]:
    """A small count as (value, text); text is a word or digits."""
    n = r.randint(lo, hi)
    return n, (NUM_WORDS[n] if n <= 20 and r.random() < 0.6 else str(n))


def clock(r: random.Random, lo: int = 6, hi: int = 21) -> str:
    hour = r.randint(lo, hi)
    minute = r.choice((0, 0, 0, 15, 30, 30, 45, 10, 20, 40, 50, 5))
    if r.random() < 0.5:
        return f"{hour:02d}:{minute:02d}"
    suffix = "a.m." if hour < 12 else "p.m."
    h12 = hour % 12 or 12
    return f"{h12}:{minute:02d} {suffix}" if minute else f"{h12} {suffix}"


def fmt_minutes(total: int) -> str:
    total %= 24 * 60
    return f"{total // 60:02d}:{total % 60:02d}"


def money(cents: int) -> str:
    return f"${cents // 100}" if cents % 100 == 0 else f"${cents // 100}.{cents % 100:02d}"


def price_cents(r: random.Random, lo: int, hi: int) -> int:
    return r.randint(lo, hi) * 100 + r.choice((0, 0, 25, 50, 75, 99, 49, 95, 10))


def date(r: random.Random, with_year: bool | None = None) -> str:
    m = r.randrange(12)
    d = r.randint(1, MONTH_DAYS[m])
    style = r.random()
    if with_year is None:
        with_year = r.random() < 0.35
    year = r.randint(2018, 2026)
    if style < 0.5:
        return f"{MONTHS[m]} {d}, {year}" if with_year else f"{MONTHS[m]} {d}"
    if style < 0.8:
        return f"{d} {MONTHS[m]} {year}" if with_year else f"{d} {MONTHS[m]}"
    return f"{year}-{m + 1:02d}-{d:02d}"


def quote(text: str, verb: str, who: str) -> str:
    """Direct speech: '"Text," said Name.' (a final period inside the quote becomes a comma)."""
    if text.endswith("."):
        text = text[:-1] + ","
    return f'"{text}" {verb} {who}.'


def poss(name: str) -> str:
    """Possessive form: "Arden Labs'" / "Kelso Group's"."""
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def city(r: random.Random) -> str:
    return r.choice(su.CITIES)[0]


def person(r: random.Random) -> tuple[str, tuple[str, str, str, str]]:
    return r.choice(NAMES), r.choice(PRONOUNS)


def time_phrase(r: random.Random) -> str:
    return r.choice(
        (
            "early in the morning",
            "after lunch",
            "before dinner",
            "late at night",
            "at noon",
            f"on {r.choice(su.WEEKDAYS)}",
            f"at {clock(r)}",
            f"in {r.choice(MONTHS)}",
            f"last {r.choice(su.WEEKDAYS)}",
            "the next morning",
            f"around {clock(r)}",
            "just after sunrise",
            "in the middle of the afternoon",
            f"one {r.choice(SEASONS)} evening",
            "on a rainy afternoon",
            f"on {date(r, False)}",
        )
    )
