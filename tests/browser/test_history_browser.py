"""Browser tier: write a fact, write a conflicting one and supersede it, see the history, erase it with its proof."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_workbench_browser import LONG, open_tab, page, shot, text_of

pytestmark = [pytest.mark.browser, pytest.mark.integration]
__all__ = ["page"]  # the module's browser page, shared with the main browser tests' fixture

FAIL_RGB, PASS_RGB = "rgb(185, 28, 28)", "rgb(21, 128, 61)"


def fill(page: Any, elem: str, value: str) -> None:
    page.locator(f"#{elem} textarea, #{elem} input").first.fill(value)


def wait_text(page: Any, elem: str, needle: str) -> None:
    page.wait_for_function(
        f"document.querySelector('#{elem}') && document.querySelector('#{elem}').innerText.includes({needle!r})",
        timeout=LONG,
    )


def test_conflict_supersede_history_and_erase(page: Any, artifacts: Path) -> None:
    open_tab(page, "Write a fact")
    fill(page, "write-user", "browser-hist")
    fill(page, "write-prompt", "My favorite stone is")
    fill(page, "write-answer", "jade")
    page.locator("#write-strategy label", has_text="unembed").click()
    page.locator("#write-go").click()
    wait_text(page, "write-result", "Wrote fact")
    verdict = page.locator("#write-result span[style]", has_text="recalled").first
    colour = verdict.evaluate("e => getComputedStyle(e).color")
    assert colour == (FAIL_RGB if "not recalled" in verdict.inner_text() else PASS_RGB), colour

    fill(page, "write-answer", "opal")
    page.locator("#write-go").click()
    wait_text(page, "write-result", "already has this trigger")
    assert "'jade'" in text_of(page, "#write-result") and "--" not in text_of(page, "#write-result")
    page.locator("#write-supersede input[type=checkbox]").check()
    page.locator("#write-go").click()
    wait_text(page, "write-result", "Replaced")
    shot(page, artifacts, "2b-write-superseded")

    open_tab(page, "History & erase")
    fill(page, "history-user", "browser-hist")
    page.keyboard.press("Enter")
    page.locator("#history-go").click()
    wait_text(page, "history-status", "1 fact now")
    assert "replacing" in text_of(page, "#history-entries") and "opal" in text_of(page, "#history-facts")
    page.locator("#history-erase").click()
    wait_text(page, "history-proof", "bit-exact")
    assert "✔ Erase is bit-exact" in text_of(page, "#history-proof")
    wait_text(page, "history-status", "0 facts now")
    shot(page, artifacts, "9-history-erase")
