"""The workbench served on an imported nanochat-engram checkpoint (``app.py --model DIR``), via gradio_client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client, handle_file

from tests.conftest import free_port

pytestmark = [pytest.mark.api, pytest.mark.integration]
CKPT = Path(__file__).resolve().parents[1] / "fixtures" / "nanochat_tiny"


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory, gradio_temp: Path) -> Iterator[tuple[Client, Any]]:
    from workbench.app import serve

    demo, url, state = serve(
        host="127.0.0.1",
        port=free_port(),
        model_dir=str(CKPT),
        workdir=str(tmp_path_factory.mktemp("wb")),
        block=False,
    )
    try:
        yield Client(url, verbose=False), state
    finally:
        demo.close()


def test_the_ui_names_the_imported_model(imported: tuple[Client, Any]) -> None:
    client, state = imported
    card, _, _, _ = client.predict("d000", api_name="/show_user")
    assert (
        "nanochat-engram" in card
        and f"`{CKPT.name}`" in card
        and str(CKPT) not in card
        and state.lm.weights_sha256[:16] in card
    )


def test_write_export_and_verify_on_the_imported_model(imported: tuple[Client, Any]) -> None:
    client, _ = imported
    md, rows, _ = client.predict("ann", "the dog ran to", "park", "opt", "late", api_name="/write_fact")
    assert "Wrote fact" in md and "→ 1**" in md, md
    files, status = client.predict("ann", "hello the dog ran to the park", False, api_name="/export_report")
    assert "bit-exact: yes" in status, status
    report = next(f for f in files if str(f).endswith(".json"))
    verdict, _ = client.predict(handle_file(report), api_name="/verify_report")
    assert verdict.startswith("**VERIFIED**"), verdict
