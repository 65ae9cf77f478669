"""Docs stay true: every hook in docs/hooks.md exists on the model, and every hook is documented."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from engram_probe.arch.workbench import EngramTransformer
from engram_probe.contracts.workbench_config import EngramConfig

DOCS = Path(__file__).resolve().parents[2] / "docs"


# the architecture sections of docs/hooks.md after the shipped model's table, by their headings
HOOK_SECTIONS = ("## nanochat-engram", "## engram-peft (HF)")


def documented_hooks(cfg: Any, section: int = 0) -> set[str]:
    """Hook names of one table of docs/hooks.md (0: the shipped architecture, then HOOK_SECTIONS in order), each
    read from its heading to the next heading."""
    page = (DOCS / "hooks.md").read_text()
    start = page if section == 0 else page.split(HOOK_SECTIONS[section - 1], 1)[1]
    text = start.split("\n## ")[0]
    names = set()
    for template in re.findall(r"^\| `([^`]+)` \|", text, flags=re.M):
        if "{L}" in template:
            names |= {template.replace("{L}", str(layer)) for layer in cfg.engram_layers}
        elif "{V}" in template:
            names |= {template.replace("{V}", str(layer)) for layer in cfg.ve_layers}
        elif "{i}" in template:
            names |= {template.replace("{i}", str(i)) for i in range(cfg.n_layers)}
        elif template == "hook_pos_embed" and getattr(cfg, "positional_embedding_type", "") != "standard":
            continue  # documented as "only with positional_embedding_type='standard'"
        else:
            names.add(template)
    return names


def test_hooks_page_matches_the_default_architecture() -> None:
    cfg = EngramConfig()  # the shipped model's architecture (integration tests load the weights)
    model = EngramTransformer(cfg)
    assert documented_hooks(cfg) == set(model.hook_dict)


@pytest.mark.integration
def test_hooks_page_matches_the_shipped_model() -> None:
    from engram_probe.arch.workbench_checkpoint import load_checkpoint

    lm = load_checkpoint()
    assert documented_hooks(lm.cfg) == set(lm.model.hook_dict)


def test_hooks_page_matches_the_nanochat_architecture() -> None:
    from engram_probe.arch.nanochat_import import load_nanochat

    lm = load_nanochat(Path(__file__).resolve().parents[1] / "fixtures" / "nanochat_tiny")
    assert documented_hooks(lm.cfg, section=1) == set(lm.model.hook_dict)
