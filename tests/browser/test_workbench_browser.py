"""Browser tier: headless Debian chromium (Playwright) clicks through the real workbench."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engram_probe.report.printing import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.integration]

LONG = 180_000  # ms: contrast training and PDF export on 2 CPU cores


@pytest.fixture(scope="module")
def page(served: tuple[str, Any]) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"browser tests need Debian chromium at {CHROMIUM}; run scripts/setup.sh --dev")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        pg.goto(served[0])
        pg.wait_for_selector("#model-card", timeout=60_000)
        yield pg
        browser.close()


def open_tab(page: Any, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()


def shot(page: Any, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"tab-{name}.png"), full_page=True)


def text_of(page: Any, selector: str) -> str:
    return page.locator(selector).inner_text()


def test_model_tab_shows_demo_user(page: Any, artifacts: Path) -> None:
    page.wait_for_function(
        "document.querySelector('#user-status') && document.querySelector('#user-status').innerText.includes('facts')",
        timeout=60_000,
    )
    assert "unchanged" in text_of(page, "#model-card")
    assert "6 facts" in text_of(page, "#user-status")
    shot(page, artifacts, "1-model-users")


def test_tables_say_what_fills_them_before_the_first_run(page: Any) -> None:
    open_tab(page, "Wrong layer")
    page.wait_for_selector("#layer-table", timeout=30_000)
    text = text_of(page, "#layer-table")
    assert "Press Compare layers" in text and not re.search(r"^\s*1\s+2\s+3\s*$", text, flags=re.M)
    open_tab(page, "Model & users")


def test_write_a_fact(page: Any, artifacts: Path) -> None:
    open_tab(page, "Write a fact")
    page.locator("#write-user textarea, #write-user input").first.fill("browser-user")
    page.locator("#write-prompt textarea, #write-prompt input").first.fill("My favorite tea is")
    page.locator("#write-answer textarea, #write-answer input").first.fill("oolong")
    page.locator("#write-go").click()
    page.wait_for_function("document.querySelector('#write-result').innerText.includes('Wrote fact')", timeout=LONG)
    result = text_of(page, "#write-result")
    assert "48 rows" in result and re.search(r"rank \d+ → 1", result), result
    shot(page, artifacts, "2-write")


def test_switch_on_tab_renders_plots(page: Any, artifacts: Path) -> None:
    open_tab(page, "Where it switches on")
    page.locator("#switch-go").click()
    page.wait_for_selector("#switch-strip .js-plotly-plot", timeout=LONG)
    page.wait_for_selector("#switch-gate .js-plotly-plot", timeout=LONG)
    assert "write sites" in text_of(page, "#switch-status")
    shot(page, artifacts, "3-switch-on")


def test_locality_proof_says_bit_exact_with_counts(page: Any, artifacts: Path) -> None:
    open_tab(page, "Locality proof")
    page.locator("#proof-go").click()
    page.wait_for_function("document.querySelector('#proof-verdict').innerText.includes('bit-exact')", timeout=LONG)
    verdict = text_of(page, "#proof-verdict")
    assert "Untouched positions are bit-exact: YES" in verdict
    m = re.search(r"([\d,]+) values compared", verdict)
    assert m and int(m.group(1).replace(",", "")) > 1000
    page.wait_for_selector("#proof-heatmap .js-plotly-plot", timeout=LONG)
    shot(page, artifacts, "4-locality-proof")


def test_bad_input_gets_a_clear_message(page: Any) -> None:
    open_tab(page, "Locality proof")
    page.locator("#proof-text textarea").fill("")
    page.locator("#proof-go").click()
    page.wait_for_function("document.querySelector('#proof-verdict').innerText.includes('⚠')", timeout=LONG)
    assert "the probe text is empty" in text_of(page, "#proof-verdict")
    assert "Traceback" not in page.content()


def test_wrong_layer_tab(page: Any, artifacts: Path) -> None:
    open_tab(page, "Wrong layer")
    page.locator("#layer-go").click()
    page.wait_for_selector("#layer-fig .js-plotly-plot", timeout=LONG)
    assert "top-1" in text_of(page, "#layer-status")
    shot(page, artifacts, "5-wrong-layer")


def test_lora_map_changes_where_engram_does_not(page: Any, artifacts: Path) -> None:
    open_tab(page, "LoRA contamination")
    page.locator("#lora-go").click()
    page.wait_for_function("document.querySelector('#lora-status').innerText.includes('LoRA changes')", timeout=LONG)
    status = text_of(page, "#lora-status")
    m = re.search(r"the LoRA changes ([\d.]+)% .* Engram changes ([\d.]+)%", status)
    assert m, status
    assert float(m.group(1)) >= 99.0 and float(m.group(2)) == 0.0
    page.wait_for_selector("#lora-fig .js-plotly-plot", timeout=LONG)
    # the side-by-side figure: the Engram panel has exact-zero cells where the LoRA panel has none
    fig = page.evaluate("() => document.querySelector('#lora-fig .js-plotly-plot').data.map(t => t.z)")
    engram_exact, lora_exact = fig[0], fig[2]
    # rows 1.. are block outputs and logits (row 0 is the embedding input, untouched by both)
    n_engram = sum(1 for row in engram_exact[1:] for v in row if v == 1)
    n_lora = sum(1 for row in lora_exact[1:] for v in row if v == 1)
    assert n_engram > 0 and n_lora == 0
    shot(page, artifacts, "6-lora")


def test_export_and_verify(page: Any, artifacts: Path, tmp_path: Path) -> None:
    open_tab(page, "Export")
    page.locator("#export-go").click()
    page.wait_for_function("document.querySelector('#export-status').innerText.includes('written')", timeout=LONG)
    status = text_of(page, "#export-status")
    assert "PDF" in status, status
    links = page.locator("#export-files a")
    assert links.count() >= 3
    with page.expect_download() as dl:
        page.locator("#export-files a[href*='.json']").first.click()
    report = tmp_path / "report.json"
    dl.value.save_as(str(report))
    assert json.loads(report.read_text())["summary"]["untouched_bit_exact"] is True
    page.locator("#verify-upload input[type=file]").set_input_files(str(report))
    page.wait_for_timeout(1500)
    page.locator("#verify-go").click()
    page.wait_for_function("document.querySelector('#verify-verdict').innerText.includes('VERIFIED')", timeout=LONG)
    assert text_of(page, "#verify-verdict").startswith("VERIFIED")
    shot(page, artifacts, "7-export")


def test_production_models_tab(page: Any, artifacts: Path) -> None:
    fix = Path(__file__).resolve().parents[1] / "fixtures" / "contracts" / "qwen_ple"
    open_tab(page, "Production models")
    page.locator("#prod-overlays input[type=file]").set_input_files(
        [str(fix / n) for n in ("alice.pleo", "alice.pleo.facts.json", "bob.pleo", "bob.pleo.facts.json")]
    )
    page.wait_for_function(
        "document.querySelectorAll('#prod-overlays .file-name, #prod-overlays a').length >= 4", timeout=60_000
    )
    page.locator("#prod-census").click()
    page.wait_for_function("document.querySelector('#prod-status').innerText.includes('conflicting')", timeout=60_000)
    assert "8 conflicting" in text_of(page, "#prod-status")
    assert "alice & bob" in text_of(page, "#prod-pairs") and "pet" in text_of(page, "#prod-facts")
    page.locator("#prod-readmap").click()
    page.wait_for_selector("#prod-strip .hit", timeout=60_000)
    assert page.locator("#prod-strip .tok").count() == 5 and page.locator("#prod-strip .hit").count() == 1
    assert "positions 0..2" in text_of(page, "#prod-status")
    shot(page, artifacts, "8-production-models")
    page.locator("#prod-overlays input[type=file]").set_input_files([str(fix / "corpus.jsonl")])
    page.locator("#prod-census").click()
    page.wait_for_function("document.querySelector('#prod-status').innerText.includes('⚠')", timeout=60_000)
    assert "Traceback" not in text_of(page, "#prod-status")


def test_a_400_token_probe_proves_in_the_browser(page: Any, served: tuple[str, Any], artifacts: Path) -> None:
    from engram_probe.audit.engine import heldout_texts

    state = served[1]
    user = page.locator("#proof-user input").first.input_value()
    words = " ".join(heldout_texts(60, 4242)).split(" ")
    text = " ".join([*words[:240], state.demo_probes[user], *words[240:330]])
    n = len(state.lm.tokenizer.encode(text))
    assert n >= 400
    open_tab(page, "Locality proof")
    page.locator("#proof-text textarea").fill(text)
    page.locator("#proof-go").click()
    page.wait_for_function(
        f"document.querySelector('#proof-verdict').innerText.includes('of {n} tokens')", timeout=LONG
    )
    assert "Untouched positions are bit-exact: YES" in text_of(page, "#proof-verdict")
    shot(page, artifacts, "4b-locality-proof-400-tokens")
