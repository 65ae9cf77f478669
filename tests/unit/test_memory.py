"""User memory on a tiny random model: overlays, composition, collisions, erase, threads."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import torch

from engram_probe.arch.workbench_checkpoint import weights_digest
from engram_probe.memory import MemoryOverlay, UserMemory
from engram_probe.memory.writing import AnswerError, FactSpec, FactWriter, WriteSettings, gold_token
from tests.helpers import raw_bytes, tiny_lm

FAST = WriteSettings(opt_steps=8, joint_steps=20)


@pytest.fixture(scope="module")
def lm() -> Any:
    return tiny_lm(seed=11)


def logits(lm: Any, text: str, memories: list[UserMemory]) -> torch.Tensor:
    ids = torch.tensor([lm.tokenizer.encode(text)])
    with torch.no_grad():
        return lm.model(ids, overlay=MemoryOverlay(memories) if memories else None)


def write(lm: Any, user: UserMemory, specs: list[FactSpec], strategy: str = "opt", layer: Any = None) -> UserMemory:
    result = FactWriter(lm.model, lm.tokenizer, FAST).write(user, specs, strategy=strategy, layer=layer)
    return UserMemory(user.user_id, [*user.facts, *result.facts])


def test_each_strategy_writes_rows_at_the_trigger_and_raises_recall(lm: Any) -> None:
    writer = FactWriter(lm.model, lm.tokenizer, WriteSettings(opt_steps=30, joint_steps=60))
    spec = FactSpec.of("My name is", "Ada")
    for strategy in ("unembed", "opt", "joint"):
        res = writer.write(UserMemory("u"), [spec], strategy=strategy)
        (fact,) = res.facts
        assert fact.layer == min(lm.cfg.engram_layers)
        # the whole answer (" A", "da" here): the rows read at the trigger's last position and after " A"
        prompt = lm.tokenizer.encode("My name is")
        forced = torch.tensor([[*prompt, *fact.answer_token_ids[:-1]]])
        read = lm.model.engram_addresses(forced)[fact.layer][0, len(prompt) - 1 :]
        assert len(fact.answer_token_ids) == 2 and len(fact.rows) == len(set(read.flatten().tolist()))
        assert res.bytes == len(fact.rows) * lm.cfg.dim_per_head * 4
        assert res.cost_ms > 0
        assert res.recall_after[0]["rank"] <= res.recall_before[0]["rank"]
        if strategy != "unembed":
            assert res.recall_after[0]["rank"] == 1


def test_layer_choice_and_bad_layers(lm: Any) -> None:
    writer = FactWriter(lm.model, lm.tokenizer, FAST)
    res = writer.write(UserMemory("u"), [FactSpec.of("I live in", "Lisbon")], strategy="unembed", layer="late")
    assert {r[0] for r in res.rows} == {max(lm.cfg.engram_layers)}
    with pytest.raises(ValueError, match="not an Engram layer"):
        writer.write(UserMemory("u"), [FactSpec.of("I live in", "Lisbon")], layer=1)
    with pytest.raises(ValueError, match="unknown strategy"):
        writer.write(UserMemory("u"), [FactSpec.of("I live in", "Lisbon")], strategy="magic")


def test_answers_and_prompts_that_cannot_be_written(lm: Any) -> None:
    with pytest.raises(AnswerError, match="empty"):
        gold_token(lm.tokenizer, "My name is", "   ")
    writer = FactWriter(lm.model, lm.tokenizer, FAST)
    with pytest.raises(ValueError, match="prompt is empty"):
        writer.write(UserMemory("u"), [FactSpec.of("", "Ada")])
    with pytest.raises(ValueError, match="context holds"):
        writer.write(UserMemory("u"), [FactSpec.of("cat " * 200, "Ada")])


def test_overlay_never_mutates_shared_weights(lm: Any) -> None:
    before = weights_digest(lm.model)
    user = write(lm, UserMemory("u"), [FactSpec.of("My name is", "Ada")], strategy="opt")
    seen: list[str] = []

    def spy(t: torch.Tensor, hook: Any) -> None:
        seen.append(weights_digest(lm.model))

    ids = torch.tensor([lm.tokenizer.encode("My name is")])
    with torch.no_grad():
        lm.model.run_with_hooks(ids, overlay=MemoryOverlay([user]), fwd_hooks=[("blocks.2.engram.hook_rows", spy)])
    assert seen == [before]
    assert weights_digest(lm.model) == before
    for p in lm.model.parameters():
        assert p.grad is None


def test_disjoint_users_stack_losslessly(lm: Any) -> None:
    # The tiny model's tables are small: "I work at" reads some of "My name is"'s early-layer rows by chance.
    # These two triggers read none of each other's rows at any position, so each must be byte-identical.
    a = write(lm, UserMemory("alice"), [FactSpec.of("My name is", "Ada")])
    # (whole answers read rows after each answer token too: these two read none of each other's at any of them)
    b = write(lm, UserMemory("bob"), [FactSpec.of("I live in", "Lisbon")])
    both = MemoryOverlay([a, b])
    assert both.collisions == []
    for text, owner in (("My name is", a), ("I live in", b)):
        alone = logits(lm, text, [owner])
        assert raw_bytes(logits(lm, text, [a, b])) == raw_bytes(alone)
        assert raw_bytes(logits(lm, text, [b, a])) == raw_bytes(alone)
    assert len(both.rows()) == a.n_rows + b.n_rows


def test_collisions_are_reported_with_facts_rows_and_winner(lm: Any) -> None:
    a = write(lm, UserMemory("org"), [FactSpec.of("My name is", "Ada")], strategy="unembed")
    b = write(lm, UserMemory("user"), [FactSpec.of("My name is", "Lisbon")], strategy="unembed")
    overlay = MemoryOverlay([a, b])
    assert len(overlay.collisions) == lm.cfg.n_engram_heads
    c = overlay.collisions[0]
    assert [u for u, _ in c.owners] == ["org", "user"] and c.winner == "user"
    assert c.owners[0][1] == (a.facts[0].fact_id,)
    # the later memory wins: identical output to the user's memory alone
    assert raw_bytes(logits(lm, "My name is", [a, b])) == raw_bytes(logits(lm, "My name is", [b]))
    report = overlay.collision_report()
    assert "later" in report["rule"] and len(report["collisions"]) == len(overlay.collisions)
    with pytest.raises(ValueError, match="twice"):
        MemoryOverlay([a, a])


def test_erase_restores_bytes_exactly_including_shared_rows(lm: Any) -> None:
    texts = ["My name is Ada.", "My dog is Rex. My name is", "The cat sat on the mat."]
    base = {t: raw_bytes(logits(lm, t, [])) for t in texts}
    # two facts whose triggers share the 2-gram " name is" -> shared rows in the 2-gram heads
    user = write(lm, UserMemory("u"), [FactSpec.of("My name is", "Ada")], strategy="unembed")
    only_second = write(lm, UserMemory("u"), [FactSpec.of("Your name is", "Ada")], strategy="unembed")
    user = UserMemory("u", [*user.facts, *only_second.facts])
    first, second = user.facts
    shared = set(first.rows) & set(second.rows)
    assert shared, "the two triggers should share their 2-gram rows"
    erased = user.without({second.fact_id})
    # shared rows keep the first fact's own value, not the erased one's
    rm = erased.row_map()
    for key in shared:
        i = first.rows.index(key)
        assert raw_bytes(rm[key]) == raw_bytes(first.values[i])
    solo = UserMemory("u", [first])
    for t in texts:
        assert raw_bytes(logits(lm, t, [erased])) == raw_bytes(logits(lm, t, [solo]))
    assert erased.digest() == solo.digest()
    empty = user.without({first.fact_id, second.fact_id})
    for t in texts:
        assert raw_bytes(logits(lm, t, [empty])) == base[t]


def test_threads_serving_different_users_match_sequential_runs(lm: Any) -> None:
    users = [
        write(lm, UserMemory(f"u{i}"), [FactSpec.of(p, a)], strategy="unembed")
        for i, (p, a) in enumerate([("My name is", "Ada"), ("I live in", "Lisbon"), ("My dog is", "Rex")])
    ]
    texts = ["My name is", "I live in Lisbon and my dog is", "My dog is"]
    expected = {(u.user_id, t): raw_bytes(logits(lm, t, [u])) for u in users for t in texts}
    got: dict[tuple[str, str], list[bytes]] = {k: [] for k in expected}
    errors: list[BaseException] = []

    def serve(user: UserMemory) -> None:
        try:
            for _ in range(15):
                for t in texts:
                    got[(user.user_id, t)].append(raw_bytes(logits(lm, t, [user])))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=serve, args=(u,)) for u in users]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    for key, outs in got.items():
        assert len(outs) == 15 and all(o == expected[key] for o in outs), key
    # and the users really differ from each other where their triggers are
    assert expected[("u0", "My name is")] != expected[("u1", "My name is")]


def test_writes_continue_past_the_budget_only_until_the_gold_token_is_top1(lm: Any) -> None:
    spec = FactSpec.of("My name is", "Ada")
    slow = {"scale": 0.5, "opt_lr": 0.02, "joint_lr": 0.02, "opt_steps": 1, "joint_steps": 1}  # a weak start
    short = FactWriter(lm.model, lm.tokenizer, WriteSettings(**slow, opt_max_steps=0)).write(UserMemory("u"), [spec])
    assert short.recall_after[0]["rank"] > 1  # one step is not enough from this start
    for strategy in ("opt", "joint"):
        seen: list[int] = []
        settings = WriteSettings(**slow, opt_max_steps=400, joint_max_steps=400)
        res = FactWriter(lm.model, lm.tokenizer, settings).write(
            UserMemory("u"), [spec], strategy=strategy, progress=lambda d, t, m="", s=seen: s.append(d)
        )
        assert res.recall_after[0]["rank"] == 1 and res.recall_after[0]["exact"], strategy
        assert 1 < max(seen) < 400, strategy  # went past the budget, and stopped once the whole answer is generated
    fixed = FactWriter(lm.model, lm.tokenizer, WriteSettings(opt_steps=8, opt_max_steps=0)).write(
        UserMemory("u"), [spec]
    )
    again = FactWriter(lm.model, lm.tokenizer, FAST).write(UserMemory("u"), [spec])
    assert torch.equal(fixed.facts[0].values, again.facts[0].values)  # no cap: exactly the fixed budget
