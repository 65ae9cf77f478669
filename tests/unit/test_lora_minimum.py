"""The matched-recall LoRA: a target the base already meets still trains a stated minimum, and says so."""

from __future__ import annotations

import torch

from engram_probe.audit.lora import LoraSettings, train_user_lora
from tests.helpers import tiny_lm


def test_zero_recall_target_trains_the_stated_minimum_and_says_so() -> None:
    lm = tiny_lm(seed=4)
    prompts = [lm.tokenizer.encode("My name is")]
    golds = [lm.tokenizer.encode(" Ada", bos=False)[0]]
    res = train_user_lora(lm.model, prompts, golds, lm.tokenizer.bos_id, 0.0, LoraSettings(min_steps=7, check_every=5))
    assert res.steps == 7 and res.start_recall == 0.0
    described = res.describe()
    assert "stated minimum of 7 steps" in described["note"]  # the report says why an adapter was trained at all
    assert (described["steps"], described["min_steps"], described["start_recall"]) == (7, 7, 0.0)
    tokens = torch.tensor(prompts)
    with torch.no_grad():
        assert not torch.equal(res.model(tokens), lm.model(tokens))  # there is an adapter to compare
