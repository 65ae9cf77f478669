"""Browser tier: the Isolation tab proves a demo user against the others and draws its per-position strip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_workbench_browser import LONG, open_tab, page, shot, text_of

pytestmark = [pytest.mark.browser, pytest.mark.integration]
__all__ = ["page"]  # the module's browser page, shared with the main browser tests' fixture

AMBER_RGB = "rgb(180, 83, 9)"  # a scoped verdict


def open_isolation(page: Any) -> None:
    """The tab is in the tab bar, or (with eleven tabs on a narrow window) in its "More tabs" menu."""
    tab = page.get_by_role("tab", name="Isolation", exact=True)
    if tab.count() and tab.is_visible():
        open_tab(page, "Isolation")
        return
    page.get_by_role("button", name="More tabs").click()
    page.locator(".overflow-dropdown button", has_text="Isolation").click()


def test_isolation_proof_of_a_demo_user(page: Any, artifacts: Path) -> None:
    open_isolation(page)
    page.locator("#isolation-user input").first.fill("d000")
    page.keyboard.press("Enter")
    page.locator("#isolation-others textarea, #isolation-others input").first.fill("d000,d001,d002")
    page.locator("#isolation-go").click()
    page.wait_for_function(
        "document.querySelector('#isolation-verdict') && "
        "document.querySelector('#isolation-verdict').innerText.includes('Scoped')",
        timeout=LONG,
    )
    verdict = page.locator("#isolation-verdict span[style]").first
    assert verdict.evaluate("e => getComputedStyle(e).color") == AMBER_RGB
    assert "provably independent" in text_of(page, "#isolation-verdict")
    page.wait_for_selector("#isolation-strip .js-plotly-plot", timeout=LONG)
    assert "d002" in text_of(page, "#isolation-reads") and "shared content" in text_of(page, "#isolation-reads")
    fact = page.locator("#isolation-fact input").first
    page.wait_for_function("document.querySelector('#isolation-fact input').value.includes('→')", timeout=LONG)
    assert fact.input_value().startswith("My name is → ")  # d000's first fact, filled when the tab opened
    shot(page, artifacts, "12-isolation")
