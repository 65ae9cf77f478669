"""Browser tier: a probe as long as the model's context (4,096 tokens) is audited and painted in chromium.

The time from the answer's arrival to painted plots is measured and reported (printed and written to
test-artifacts/long-probe-timing.json), not asserted: it depends on the machine.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_workbench_browser import open_tab, page, shot, text_of  # noqa: F401 (the page fixture)

pytestmark = [pytest.mark.browser, pytest.mark.integration]

AUDIT = 900_000  # ms: a 4,096-token audit on 2 shared CPU cores


def longest_probe(state: Any, user: str) -> str:
    """Held-out prose around the user's demo probe, as many words as the model's context holds."""
    from engram_probe.audit.engine import heldout_texts

    words = " ".join(heldout_texts(400, 4242)).split(" ")

    def text(k: int) -> str:
        return " ".join([*words[:300], state.demo_probes[user], *words[300 : 300 + k]])

    lo, hi = 0, len(words) - 300
    while lo < hi:  # the most words whose tokens fit the context
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if len(state.lm.tokenizer.encode(text(mid))) <= state.lm.model.max_tokens else (lo, mid - 1)
    return text(lo)


def painted_after(pg: Any, status: str, needle: str, plots: list[str]) -> tuple[float, float]:
    """Seconds until ``status`` shows ``needle`` (the audit's answer), then until every plot has painted."""
    t0 = time.perf_counter()
    pg.wait_for_function(f"document.querySelector('{status}').innerText.includes({json.dumps(needle)})", timeout=AUDIT)
    t1 = time.perf_counter()
    for sel in plots:
        pg.wait_for_selector(f"{sel} .js-plotly-plot .main-svg", timeout=120_000)
    return t1 - t0, time.perf_counter() - t1


@pytest.mark.timeout(2400)  # two 4,096-token audits, and the served workbench's start if this runs first
def test_a_4096_token_probe_is_audited_and_painted(page: Any, served: tuple[str, Any], artifacts: Path) -> None:  # noqa: F811
    state = served[1]
    assert state.lm.model.max_tokens == 4096  # the shipped model audits texts up to its rotary context
    open_tab(page, "Locality proof")
    user = page.locator("#proof-user input").first.input_value()
    text = longest_probe(state, user)
    n = len(state.lm.tokenizer.encode(text))
    assert n == state.lm.model.max_tokens
    timings: dict[str, Any] = {"tokens": n}

    page.locator("#proof-text textarea").fill(text)
    page.locator("#proof-go").click()
    audit_s, paint_s = painted_after(page, "#proof-verdict", f"of {n:,} tokens", ["#proof-heatmap"])
    timings["locality proof"] = {"answer_s": round(audit_s, 1), "paint_s": round(paint_s, 2)}
    verdict = text_of(page, "#proof-verdict")
    assert "Untouched positions are bit-exact: YES" in verdict and "the exported report lists them all" in verdict
    ticks = page.locator("#proof-heatmap .xtick").count()
    assert 0 < ticks <= 45, ticks  # every k-th position labelled, never thousands of labels over each other
    shot(page, artifacts, "4c-locality-proof-4096-tokens")

    open_tab(page, "Where it switches on")
    page.locator("#switch-text textarea").fill(text)
    page.locator("#switch-go").click()
    audit_s, paint_s = painted_after(page, "#switch-status", "Gold token", ["#switch-strip", "#switch-gate"])
    timings["where it switches on"] = {"answer_s": round(audit_s, 1), "paint_s": round(paint_s, 2)}
    assert page.locator("#switch-gate .rangeslider-container").count() == 1  # the rest is one drag away
    shot(page, artifacts, "3b-switch-on-4096-tokens")

    (artifacts / "long-probe-timing.json").write_text(json.dumps(timings, indent=1) + "\n", encoding="utf-8")
    print(f"\n4,096-token probe in chromium: {timings}")
