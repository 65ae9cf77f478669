"""A memory budget for audits served at once: long probes wait their turn instead of exhausting memory.

An audit's peak memory grows with its probe's length (see docs/benchmarks.md), so the budget is
counted in probe tokens. Requests are served in arrival order; one that does not fit waits, and is
told how many audits are ahead of it. A probe longer than the whole budget still runs, alone.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

BUDGET_ENV = "ENGRAM_WORKBENCH_AUDIT_TOKENS"
DEFAULT_TOKENS = 8192  # two 4,096-token audits at once


class TokenBudget:
    """At most ``capacity`` probe tokens in audits at once; the rest wait, first come first served."""

    def __init__(self, capacity: int | None = None):
        cap = capacity if capacity is not None else int(os.environ.get(BUDGET_ENV, DEFAULT_TOKENS))
        if cap < 1:
            raise ValueError(f"the audit budget must be at least 1 token, got {cap}")
        self.capacity = cap
        self.in_use = 0
        self._queue: list[int] = []
        self._tickets = itertools.count()
        self._cond = threading.Condition()

    @contextmanager
    def hold(self, tokens: int, on_wait: Callable[[int], None] | None = None) -> Iterator[None]:
        """Run the body once ``tokens`` fit; ``on_wait(audits ahead)`` is called while waiting."""
        need = min(max(1, tokens), self.capacity)
        with self._cond:
            ticket = next(self._tickets)
            self._queue.append(ticket)
            try:
                while self._queue[0] != ticket or self.in_use + need > self.capacity:
                    if on_wait is not None:
                        on_wait(self._queue.index(ticket) + (1 if self.in_use else 0))
                    self._cond.wait(timeout=1.0)
            except BaseException:
                self._queue.remove(ticket)
                self._cond.notify_all()
                raise
            self._queue.pop(0)
            self.in_use += need
            self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self.in_use -= need
                self._cond.notify_all()
