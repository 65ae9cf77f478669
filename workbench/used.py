"""What a view used, in one set of words: the held-out set, the layer, the strategy, the thread settings.

Every view that computes with them says so with these words, and the export tab says the same of a report from
the report's own record (``options.heldout``, ``environment``, ``memory.layers``), so a figure on screen and in a
report can be matched by what produced it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from engram_probe.report.kernel import environment as machine
from engram_probe.report.numbers import plural

SOURCES = {"default": "the default set", "file": "an uploaded file", "generated": "generated texts"}


def heldout_words(record: dict[str, Any]) -> str:
    """A held-out set as a report records it (``sha256``, ``count``, ``source``): "held-out set: 8 texts (the
    default set), digest 6de71bf790bc…"."""
    kind = (record.get("source") or {}).get("kind", "default")
    return (
        f"held-out set: {plural(int(record['count']), 'text')} ({SOURCES.get(kind, kind)}), "
        f"digest `{str(record['sha256'])[:12]}…`"
    )


def threads_words(env: dict[str, Any] | None = None) -> str:
    """The thread settings figures depend on: "2 CPU threads, deterministic algorithms off"."""
    env = env if env is not None else machine("threads", "deterministic_algorithms")
    det = "on" if env.get("deterministic_algorithms") else "off"
    return f"{plural(int(env['threads']), 'CPU thread')}, deterministic algorithms {det}"


def settings_words(strategy: str, settings: dict[str, Any] | None) -> str:
    """A write strategy with the settings it ran with: "opt (20 steps, up to 60 until the answer is top-1)"."""
    s = settings or {}
    if strategy == "unembed":
        return "unembed (closed form" + (f", scale {s['scale']:g}" if "scale" in s else "") + ")"
    if "steps" not in s:
        return strategy
    more = f", up to {s['max_steps']} until the answer is top-1" if s.get("max_steps") else ""
    return f"{strategy} ({plural(int(s['steps']), 'step')}{more})"


def used_line(
    *,
    strategy: str | None = None,
    layers: Iterable[int] | None = None,
    heldout: dict[str, Any] | None = None,
    env: dict[str, Any] | None = None,
) -> str:
    """One line of Markdown: "**Used:** strategy … · Engram layer 1 · held-out set: … · 2 CPU threads, …"."""
    parts = []
    if strategy:
        parts.append(f"strategy {strategy}")
    shown = sorted(set(layers)) if layers is not None else []
    if shown:
        parts.append(("Engram layer " if len(shown) == 1 else "Engram layers ") + ", ".join(map(str, shown)))
    if heldout:
        parts.append(heldout_words(heldout))
    parts.append(threads_words(env))
    return "**Used:** " + " · ".join(parts)
