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


def test_the_lora_is_taught_every_token_of_a_whole_answer_and_one_token_answers_train_as_before() -> None:
    from engram_probe.memory.writing import recall

    lm = tiny_lm(seed=4)
    prompt = lm.tokenizer.encode("the dog ran to")
    answer = lm.tokenizer.encode(" the park", bos=False)
    assert len(answer) > 1  # the test needs a whole answer of several tokens on this tokenizer
    settings = LoraSettings(min_steps=60, max_steps=60, lr=1e-2)
    whole = train_user_lora(lm.model, [prompt], [answer], lm.tokenizer.bos_id, 1.0, settings)
    first = train_user_lora(lm.model, [prompt], [answer[0]], lm.tokenizer.bos_id, 1.0, settings)
    (after,) = recall(whole.model, [prompt], [answer], None, lm.tokenizer)
    (before,) = recall(lm.model, [prompt], [answer], None, lm.tokenizer)
    assert not before["exact"] and after["exact"]  # greedy generation now gives the whole answer
    # a one-token answer as a list and as an int is the same training, to the byte
    again = train_user_lora(lm.model, [prompt], [[answer[0]]], lm.tokenizer.bos_id, 1.0, settings)
    tokens = torch.tensor([prompt])
    with torch.no_grad():
        assert again.model(tokens).numpy().tobytes() == first.model(tokens).numpy().tobytes()
        assert whole.model(tokens).numpy().tobytes() != first.model(tokens).numpy().tobytes()
