"""The workbench served on an engram-peft model (a Hugging Face base and its adapter folder), driven through
gradio_client as a user would: the model card names base and adapter with their digests, a fact is written, a report
is exported as JSON/HTML/PDF and verifies. Fixtures: tests/fixtures/engram_peft (PROVENANCE.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client, handle_file

from tests.conftest import free_port

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "engram_peft"

pytestmark = [pytest.mark.api, pytest.mark.integration]


@pytest.fixture(scope="module")
def peft_served(tmp_path_factory: pytest.TempPathFactory, gradio_temp: Path) -> Iterator[tuple[Client, Any]]:
    from workbench.app import serve

    demo, url, state = serve(
        host="127.0.0.1",
        port=free_port(),
        model_dir=str(FIX / "llama"),
        engram=str(FIX / "llama_engram"),
        workdir=str(tmp_path_factory.mktemp("workbench")),
        block=False,
        demo_users=False,
    )
    try:
        yield Client(url, verbose=False), state
    finally:
        demo.close()


def test_the_ui_names_base_and_adapter_writes_exports_a_pdf_and_verifies(peft_served: tuple[Client, Any]) -> None:
    client, state = peft_served
    parts = state.lm.model.part_digests()
    md, _, _ = client.predict("ada", "my dog is", " kind", "opt", "early", api_name="/write_fact")
    assert "Wrote fact" in md, md
    card, _, _, _ = client.predict("ada", api_name="/show_user")
    assert f"base `llama` digest `{parts['base'][:16]}…`" in card
    assert f"adapter `llama_engram` digest `{parts['adapter'][:16]}…`" in card
    files, status = client.predict("ada", "On Sunday my dog is happy.", False, api_name="/export_report")
    paths = [Path(f) for f in files]
    assert {p.suffix for p in paths} == {".json", ".html", ".pdf"}, status
    assert next(p for p in paths if p.suffix == ".pdf").read_bytes().startswith(b"%PDF")
    report = next(p for p in paths if p.suffix == ".json")
    verdict, _ = client.predict(handle_file(str(report)), api_name="/verify_report")
    assert verdict.startswith("**VERIFIED**"), verdict
