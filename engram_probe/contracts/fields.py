"""Field rules for the configs the contracts and architectures read: one declaration per field, one-line refusals.

Every refusal reads ``<file>: field <name> must be <rule>, got <value>``. Values are shown as JSON, so a
string shows its quotes and a list its brackets: ``"12"`` is visibly not ``[1, 2]``. A bool is not an
integer, a float is not an integer even when whole, and a string is never iterated as a list.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

from engram_probe.contracts.base import ContractError

# n-gram orders: every reader bounds max_ngram to this range (the work per position grows with it).
MIN_NGRAM, MAX_NGRAM = 2, 8
INT64_MAX = 2**63 - 1
_MISSING = object()


def shown(value: Any, limit: int = 60) -> str:
    """A value as the user wrote it (JSON), cut to ``limit`` characters."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_int(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _range(lo: int | None, hi: int | None) -> str:
    if lo is not None and hi is not None:
        return f" from {lo} to {hi}"
    if lo is not None:
        return f" of at least {lo}"
    return f" of at most {hi}" if hi is not None else ""


def refuse(where: str, name: str, rule: str, value: Any, error: type[Exception] = ContractError) -> Exception:
    """The project's one-line refusal of one field (returned, for ``raise refuse(...)``)."""
    head = f"{where}: " if where else ""
    return error(f"{head}field {name} must be {rule}, got {shown(value)}")


@dataclass(frozen=True)
class Int:
    """An integer in ``lo..hi`` (either bound optional)."""

    lo: int | None = None
    hi: int | None = None
    note: str = ""  # why the bound is what it is, e.g. "(num_hidden_layers is 3)"

    def rule(self) -> str:
        return f"an integer{_range(self.lo, self.hi)}{' ' + self.note if self.note else ''}"

    def check(self, name: str, value: Any, where: str, error: type[Exception]) -> int:
        ok = is_int(value) and (self.lo is None or value >= self.lo) and (self.hi is None or value <= self.hi)
        if not ok:
            raise refuse(where, name, self.rule(), value, error)
        return int(value)


@dataclass(frozen=True)
class IntList:
    """A list of integers in ``lo..hi`` (non-empty unless ``empty``); ``distinct`` refuses repeats, ``scalar``
    accepts one bare integer."""

    lo: int | None = None
    hi: int | None = None
    distinct: bool = False
    scalar: bool = False
    note: str = ""
    empty: bool = False

    def rule(self) -> str:
        kind = "distinct integers" if self.distinct else "integers"
        size = "a list" if self.empty else "a non-empty list"
        return f"{size} of {kind}{_range(self.lo, self.hi)}{' ' + self.note if self.note else ''}"

    def check(self, name: str, value: Any, where: str, error: type[Exception]) -> list[int]:
        items = [value] if self.scalar and is_int(value) else value
        inner = Int(self.lo, self.hi)
        ok = isinstance(items, list | tuple) and (self.empty or len(items) > 0) and all(_fits(inner, x) for x in items)
        if not ok or (self.distinct and len(set(items)) != len(items)):
            raise refuse(where, name, self.rule(), value, error)
        return [int(x) for x in items]


def _fits(rule: Int, x: Any) -> bool:
    return is_int(x) and (rule.lo is None or x >= rule.lo) and (rule.hi is None or x <= rule.hi)


@dataclass(frozen=True)
class Number:
    """A finite real number above ``gt`` (an integer is a number; a bool is not)."""

    gt: float | None = None

    def rule(self) -> str:
        return "a finite number" + (f" above {self.gt}" if self.gt is not None else "")

    def check(self, name: str, value: Any, where: str, error: type[Exception]) -> float:
        ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(float(value))
        if not ok or (self.gt is not None and float(value) <= self.gt):
            raise refuse(where, name, self.rule(), value, error)
        return value


@dataclass(frozen=True)
class Text:
    """A string, optionally one of ``choices``."""

    choices: tuple[str, ...] = ()

    def rule(self) -> str:
        return "one of " + ", ".join(self.choices) if self.choices else "text"

    def check(self, name: str, value: Any, where: str, error: type[Exception]) -> str:
        if not isinstance(value, str) or (self.choices and value not in self.choices):
            raise refuse(where, name, self.rule(), value, error)
        return value


@dataclass(frozen=True)
class Flag:
    """true or false."""

    def rule(self) -> str:
        return "true or false"

    def check(self, name: str, value: Any, where: str, error: type[Exception]) -> bool:
        if not isinstance(value, bool):
            raise refuse(where, name, self.rule(), value, error)
        return value


Rule = Int | IntList | Number | Text | Flag


def read_field(
    cfg: Mapping[str, Any],
    name: str,
    rule: Rule,
    where: str,
    *,
    aliases: tuple[str, ...] = (),
    default: Any = _MISSING,
    error: type[Exception] = ContractError,
) -> Any:
    """The field ``name`` (or its first present alias) checked against ``rule``; its default when absent."""
    for key in (name, *aliases):
        if key in cfg:
            return rule.check(key, cfg[key], where, error)
    if default is _MISSING:
        head = f"{where}: " if where else ""
        raise error(f"{head}lacks the field {name}")
    return default


def check_fields(values: Mapping[str, Any], rules: Mapping[str, Rule], where: str, error: type[Exception]) -> None:
    """Check present values against their rules (for dataclass configs that already hold every field)."""
    for name, rule in rules.items():
        if name in values:
            rule.check(name, values[name], where, error)


NGRAM = Int(MIN_NGRAM, MAX_NGRAM)
POSITIVE = Int(1)
