"""The workbench on an engram-peft model names the base and the adapter, each with its digest (real state, real
model card function). Fixtures: tests/fixtures/engram_peft (PROVENANCE.md)."""

from __future__ import annotations

from pathlib import Path

from workbench.state import make_state
from workbench.users_tab import model_card

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "engram_peft"


def test_the_model_card_names_base_and_adapter_with_both_digests(tmp_path: Path) -> None:
    state = make_state(FIX / "llama", tmp_path, demo=False, engram=FIX / "llama_engram")
    parts = state.lm.model.part_digests()
    card = model_card(state)
    assert "engram-peft" in card
    assert f"base `{FIX / 'llama'}` digest `{parts['base'][:16]}…`" in card
    assert f"adapter `{FIX / 'llama_engram'}` digest `{parts['adapter'][:16]}…`" in card
