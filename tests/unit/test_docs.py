"""Docs stay true: every hook in docs/hooks.md exists on the model, and every hook is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engram_probe.config import EngramConfig
from engram_probe.model import EngramTransformer

DOCS = Path(__file__).resolve().parents[2] / "docs"


def documented_hooks(cfg: EngramConfig) -> set[str]:
    names = set()
    for template in re.findall(r"^\| `([^`]+)` \|", (DOCS / "hooks.md").read_text(), flags=re.M):
        if "{L}" in template:
            names |= {template.replace("{L}", str(layer)) for layer in cfg.engram_layers}
        elif "{i}" in template:
            names |= {template.replace("{i}", str(i)) for i in range(cfg.n_layers)}
        else:
            names.add(template)
    return names


def test_hooks_page_matches_the_default_architecture() -> None:
    cfg = EngramConfig()  # the shipped model's architecture (integration tests load the weights)
    model = EngramTransformer(cfg)
    assert documented_hooks(cfg) == set(model.hook_dict)


@pytest.mark.integration
def test_hooks_page_matches_the_shipped_model() -> None:
    from engram_probe.checkpoint import load_checkpoint

    lm = load_checkpoint()
    assert documented_hooks(lm.cfg) == set(lm.model.hook_dict)
