"""Issue 20, bounds on work: concurrent long audits wait in a token budget, in arrival order, told their place."""

from __future__ import annotations

import threading
import time

from workbench.limits import TokenBudget


def test_audits_that_do_not_fit_wait_in_arrival_order_and_are_told_how_many_are_ahead() -> None:
    budget = TokenBudget(100)
    order: list[str] = []
    peak = [0]
    waits: dict[str, list[int]] = {"b": [], "c": []}
    lock = threading.Lock()
    started = threading.Event()

    def audit(name: str, tokens: int, hold_s: float) -> None:
        with budget.hold(tokens, waits[name].append if name in waits else None):
            with lock:
                order.append(name)
                peak[0] = max(peak[0], budget.in_use)
            started.set()
            time.sleep(hold_s)

    a = threading.Thread(target=audit, args=("a", 60, 0.6))
    a.start()
    started.wait(5)
    b = threading.Thread(target=audit, args=("b", 60, 0.3))
    b.start()
    time.sleep(0.2)
    c = threading.Thread(target=audit, args=("c", 30, 0.1))  # would fit beside a, but b came first
    c.start()
    for t in (a, b, c):
        t.join(10)
    assert order == ["a", "b", "c"]
    assert peak[0] <= 100 and budget.in_use == 0
    assert waits["b"] and waits["b"][0] == 1  # one audit (a) ahead
    assert waits["c"] and waits["c"][0] == 2  # a running, b waiting


def test_a_probe_longer_than_the_whole_budget_runs_alone() -> None:
    budget = TokenBudget(100)
    with budget.hold(5000):
        assert budget.in_use == 100
    assert budget.in_use == 0
