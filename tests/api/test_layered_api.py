"""API tier: the Layered memory tab end to end on the shipped model (adapter, A-F, a question, export)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client

from tests.api.conftest import table

pytestmark = [pytest.mark.api, pytest.mark.integration]


def test_layered_tab_trains_evaluates_and_exports(client: Client, served: tuple[str, Any]) -> None:
    from dataclasses import replace

    from engram_probe.layered.conditions import PER_USER_LORA
    from engram_probe.layered.evaluate import LayeredSettings
    from engram_probe.memory.writing import WriteSettings
    from workbench.layered import layered

    state = served[1]
    # the full path on a smaller budget (the CLI test does the same with --facts): fewer questions, shorter LoRAs
    layered(state).settings = LayeredSettings(
        indirect_per_user=6, write=WriteSettings(joint_steps=60), lora=replace(PER_USER_LORA, max_steps=40)
    )
    uid = "l000"
    _, _, early = client.predict(uid, api_name="/layered_evaluate")
    assert early.startswith("⚠") and "adapter" in early
    status = client.predict(60, api_name="/layered_train")
    assert status.startswith("**Shared adapter**") and "60 steps" in status
    result, questions, verdict = client.predict(uid, api_name="/layered_evaluate")
    conds = [r[0] for r in table(result)]
    assert conds == ["A", "B", "C", "D", "E", "F", "F-swap", "F-zero"]
    assert "never read" in verdict and "invariants: base_weights_unchanged yes" in verdict and "NO" not in verdict
    doc = state.layered.docs[uid]
    assert doc["users"][0]["conditions"]["F-swap"]["rows_from"] == "l001"
    question = doc["users"][0]["conditions"]["A"]["answers"][0]["question"]
    strip, answers, note = client.predict(uid, question, api_name="/layered_question")
    assert [r[0] for r in table(answers)] == conds and "Gold:" in note and "position" in strip
    files, msg = client.predict(uid, False, api_name="/layered_export")
    paths = [Path(f) for f in files]
    report = next(p for p in paths if p.suffix == ".json")
    data = json.loads(report.read_text())
    assert data["digests"]["report"].startswith(msg.split("`")[1].rstrip("…"))
    assert any(p.suffix == ".html" for p in paths)
