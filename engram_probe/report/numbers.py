"""Numbers and names for people: the one formatter of the UI, the HTML and the PDF reports.

Every figure a person reads goes through here: 3-4 significant digits, fractions as percentages,
thousands separators, units (bytes, time, tokens), plurals that agree with their count, and plain
words for the report's field names. The JSON reports keep the raw values; only what is shown changes.
"""

from __future__ import annotations

import math
import re

DIGITS = 4  # significant digits shown by default

# report fields and settings in the words a legend, a column or a caption uses
LEGENDS: dict[str, str] = {
    "recall_top1": "recall (top-1)",
    "recall_top5": "recall (top-5)",
    "gold_prob_mean": "mean probability of the answer",
    "untouched_changed_fraction": "untouched values changed",
    "heldout_changed_fraction": "held-out values changed",
    "write_site": "write site",
    "downstream": "downstream",
    "untouched": "untouched",
}


def sig(x: float | int | None, digits: int = DIGITS) -> str:
    """``x`` to ``digits`` significant digits, with thousands separators; an exact 0 stays "0"."""
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    v = float(x)
    if math.isnan(v):
        return "not a number"
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    if v == 0:
        return "0"
    if isinstance(x, int) or (v.is_integer() and abs(v) >= 10 ** (digits - 1)):
        return f"{round(v):,}"
    if abs(v) < 10 ** -(digits - 1) or abs(v) >= 1e15:
        mantissa, exp = f"{v:.{digits - 1}e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exp)}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(v))))
    out = f"{v:,.{decimals}f}"
    return out.rstrip("0").rstrip(".") if "." in out else out


def signed(x: float | None, digits: int = DIGITS) -> str:
    """``x`` with its sign always shown ("+0.01856", "−0.002"), for changes."""
    if x is None:
        return "—"
    if x == 0:
        return "0"
    body = sig(abs(x), digits)
    return ("+" if x > 0 else "−") + body


def pct(fraction: float | None, digits: int = 3) -> str:
    """A fraction as a percentage to ``digits`` significant digits ("16.7%"); exact 0 and 1 are "0%" and "100%"."""
    if fraction is None:
        return "—"
    if fraction == 0:
        return "0%"
    if fraction == 1:
        return "100%"
    return sig(100.0 * fraction, digits) + "%"


def pct_pair(a: float, b: float) -> tuple[str, str]:
    """Two fractions as percentages with enough digits that unequal values never read the same."""
    for digits in range(3, 8):
        pa, pb = pct(a, digits), pct(b, digits)
        if a == b or pa != pb:
            return pa, pb
    return pa, pb


def count(n: int | float) -> str:
    """A whole number with thousands separators ("393,216")."""
    return f"{round(n):,}"


def plural(n: int | float, word: str, many: str | None = None) -> str:
    """``n`` and ``word`` in agreement: "1 write site", "2 write sites", "1 entry" / "3 entries" (``many``)."""
    form = word if n == 1 else (many or _plural(word))
    return f"{count(n) if float(n).is_integer() else sig(n)} {form}"


def _plural(word: str) -> str:
    head, _, last = word.rpartition(" ")
    if last.endswith(("s", "x", "ch", "sh")):
        last += "es"
    elif last.endswith("y") and last[-2:-1] not in "aeiou":
        last = last[:-1] + "ies"
    else:
        last += "s"
    return f"{head} {last}" if head else last


def size(n_bytes: int | float) -> str:
    """A byte count in binary units: "512 B", "384 KiB", "1.5 MiB" (3-4 significant digits)."""
    v = float(n_bytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(v) < 1024 or unit == "GiB":
            return f"{count(v)} B" if unit == "B" else f"{sig(v)} {unit}"
        v /= 1024
    return f"{sig(v)} GiB"  # pragma: no cover - the loop returns


def size_exact(n_bytes: int) -> str:
    """A byte count in binary units with the exact count beside it: "384 KiB (393,216 B)"."""
    return size(n_bytes) if n_bytes < 1024 else f"{size(n_bytes)} ({count(n_bytes)} B)"


def duration(seconds: float) -> str:
    """A duration: "850 ms", "3.2 s", "2 min 5 s", "1 h 4 min"."""
    s = float(seconds)
    if s < 1:
        return f"{sig(s * 1000, 3)} ms"
    if s < 60:
        return f"{sig(s, 3)} s"
    m, sec = divmod(round(s), 60)
    if m < 60:
        return f"{m} min {sec} s" if sec else f"{m} min"
    h, m = divmod(m, 60)
    return f"{h} h {m} min" if m else f"{h} h"


def tokens(n: int) -> str:
    """A token count: "1 token", "4,096 tokens"."""
    return plural(n, "token")


def legend(name: str) -> str:
    """A report field's name in plain words (unknown names lose their underscores)."""
    return LEGENDS.get(name, name.replace("_", " "))


def targets_in_words(pattern: str | list[str] | tuple[str, ...]) -> str:
    """Which weights a LoRA pattern (or list of module names) adapts, in words rather than a regular expression."""
    if not isinstance(pattern, str):
        return ", ".join(str(p) for p in pattern)
    letters = re.fullmatch(r"blocks\\\.\\d\+\\\.attn\\\.W_\[([QKVO]+)\]", pattern)
    if letters:
        names = {"Q": "query", "K": "key", "V": "value", "O": "output"}
        words = [names[c] for c in letters.group(1)]
        listed = ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else words[0]
        return f"the attention {listed} weights of every block"
    return "the weights whose names match " + pattern.replace("\\", "")
