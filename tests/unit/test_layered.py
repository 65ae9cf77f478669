"""Layered memory on a tiny rotary model: the adapter file, the conditions' invariants, the metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from engram_probe.arch.workbench_checkpoint import weights_digest
from engram_probe.audit.lora import LoraSettings
from engram_probe.data.synthetic_users import generate_users
from engram_probe.layered.adapter import AdapterError, AdapterSettings, load_adapter, train_shared_adapter
from engram_probe.layered.conditions import build_conditions, row_keys
from engram_probe.layered.evaluate import LayeredSettings, bootstrap_ci, evaluate_layered
from engram_probe.layered.samples import IndirectProbe, adapter_corpus, direct_specs, reasoning_sample
from engram_probe.layered.scoring import score_answer
from engram_probe.memory.writing import WriteSettings
from tests.helpers import raw_bytes, tiny_lm

FAST = LayeredSettings(
    indirect_per_user=3,
    heldout_docs=2,
    bootstrap=200,
    write=WriteSettings(joint_steps=15),
    lora=LoraSettings(max_steps=12, min_steps=4),
)


def small_users(n: int, seed: int, prefix: str) -> list[dict[str, Any]]:
    return [dict(u, facts=u["facts"][:5]) for u in generate_users(n, seed=seed, prefix=prefix)]


@pytest.fixture(scope="module")
def lm() -> Any:
    return tiny_lm(seed=3, n_ctx=64, positional_embedding_type="rotary")


@pytest.fixture(scope="module")
def adapter(lm: Any) -> Any:
    users = generate_users(2, seed=20, prefix="a")
    return train_shared_adapter(lm, adapter_corpus(users), [u["uid"] for u in users], AdapterSettings(steps=25))


def test_samples_follow_the_papers_two_formats() -> None:
    user = generate_users(1, seed=20, prefix="a")[0]
    corpus = adapter_corpus([user])
    assert corpus[0] == direct_specs(user)[0].triggers[0] + " " + direct_specs(user)[0].answer
    item = next(it for it in user["indirect_qa"] if it["required_fact_keys"])
    sample = reasoning_sample(user, item)
    assert sample is not None and sample.startswith("Facts: ") and f"\nQ: {item['question']}\nA: " in sample
    assert sample.endswith(item["answer"]) and sample.count(". ") >= len(item["required_fact_keys"]) - 1
    assert sum(s.startswith("Facts: ") for s in corpus) <= 20


def test_adapter_file_round_trip_and_refusals(lm: Any, adapter: Any, tmp_path: Path) -> None:
    before = weights_digest(lm.model)
    path = adapter.save(tmp_path / "shared.safetensors")
    again = load_adapter(path, lm)
    assert again.digest == adapter.digest and again.provenance["training_users"] == ["a000", "a001"]
    assert again.provenance["base_model_sha256"] == lm.weights_sha256 and again.settings.steps == 25
    ids = torch.tensor([lm.tokenizer.encode("Q: Where do I live?\nA:")])
    with torch.no_grad():
        assert raw_bytes(adapter.attach(lm.model)(ids)) == raw_bytes(again.attach(lm.model)(ids))
        assert raw_bytes(adapter.attach(lm.model)(ids)) != raw_bytes(lm.model(ids))
    assert weights_digest(lm.model) == before  # attaching never touches the shared weights
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(bytes(data))
    with pytest.raises(AdapterError, match="does not match its recorded digest|truncated or corrupt"):
        load_adapter(bad, lm)
    other = tiny_lm(seed=4, n_ctx=64, positional_embedding_type="rotary")
    with pytest.raises(AdapterError, match="was trained on model"):
        load_adapter(path, other)
    with pytest.raises(AdapterError, match="no adapter file"):
        load_adapter(tmp_path / "missing.safetensors", lm)


def test_condition_invariants(lm: Any, adapter: Any) -> None:
    user = small_users(1, 30, "l")[0]
    base = weights_digest(lm.model)
    probe = torch.tensor([lm.tokenizer.encode("Q: How old am I?\nA:")])
    with torch.no_grad():
        a_before = raw_bytes(lm.model(probe))
    ad_model = adapter.attach(lm.model)
    conds, extra = build_conditions(lm, ad_model, user["uid"], direct_specs(user), FAST.write, FAST.lora)
    assert set(conds) == {"A", "B", "C", "D", "E", "F", "F-zero"}
    assert conds["E"].model is conds["F"].model is conds["F-zero"].model  # one adapter, shared bytes
    assert row_keys(conds["C"].memory) == row_keys(conds["F"].memory) == row_keys(conds["D"].memory)
    assert any(float(f.values.abs().max()) > 0 for f in conds["F"].memory.facts)
    assert all(float(f.values.abs().max()) == 0 for f in conds["F-zero"].memory.facts)
    assert row_keys(conds["F-zero"].memory) == row_keys(conds["F"].memory)
    assert conds["A"].model is lm.model and conds["A"].overlay is None
    assert conds["B"].model is conds["D"].model and extra["per_user_lora"]["steps"] >= 4
    with torch.no_grad():
        assert raw_bytes(lm.model(probe)) == a_before  # A never changes
    assert weights_digest(lm.model) == base


def test_evaluate_reports_every_condition_with_evidence(lm: Any, adapter: Any) -> None:
    users = small_users(2, 31, "l")
    doc = evaluate_layered(lm, adapter, users, FAST)
    assert all(doc["invariants"].values()), doc["invariants"]
    u0 = doc["users"][0]
    assert set(u0["conditions"]) == {"A", "B", "C", "D", "E", "F", "F-swap", "F-zero"}
    assert u0["conditions"]["F-swap"]["rows_from"] == users[1]["uid"]
    assert u0["conditions"]["E"]["adapter_sha256"] == u0["conditions"]["F"]["adapter_sha256"] == adapter.digest
    assert u0["conditions"]["C"]["rows"] == u0["conditions"]["F"]["rows"] > 0
    assert u0["conditions"]["A"]["heldout_loss"] == doc["users"][1]["conditions"]["A"]["heldout_loss"]
    # rows written against the model they are read with: C and F recall their facts, E (no rows) does not have to
    table = doc["aggregate"]["table"]
    assert table["C"]["direct_top1"] >= 0.6 and table["F"]["direct_top1"] >= 0.6
    assert len(u0["evidence"]) == 3 and all("probe_positions" in e for e in u0["evidence"])
    share = doc["aggregate"]["share_of_indirect_probes_never_reading_rows"]
    assert share == sum(not e["read_in_probe"] for u in doc["users"] for e in u["evidence"]) / 6
    fe = doc["aggregate"]["F - E indirect_any"]
    assert fe["ci95"][0] <= fe["mean"] <= fe["ci95"][1] and fe["users"] == 2
    assert len(doc["digests"]["report"]) == 64


def test_metrics_paper_and_strict(lm: Any) -> None:
    tok = lm.tokenizer

    def score(q: str, gold: str, answer: str) -> Any:
        ids = tok.encode(f"Q: {q}\nA:")
        return score_answer(lm, IndirectProbe(q, gold, "", ()), ids, tok.encode(answer, bos=False))

    a = score("How old am I?", "33", " 335 years")
    assert a.any and not a.first_word_exact and not a.exact  # substring counts for the paper, not strictly
    b = score("How old am I?", "33", " 33\nQ: next")
    assert b.any and b.first_word_exact and b.exact and b.strict_eligible
    c = score("Is it safe?", "No", " I do not know")
    assert c.any and not c.strict_eligible  # yes/no golds are left out of the strict indirect_any
    d = score("Who is older, me or my spouse?", "me", " me.")
    assert d.exact and not d.strict_eligible  # gold appears in the question


def test_bootstrap_interval_brackets_the_mean() -> None:
    lo, hi = bootstrap_ci([0.1, 0.0, 0.2, 0.05], 500)
    assert lo < 0.0875 < hi and bootstrap_ci([0.3], 10) == (0.3, 0.3)


def test_batched_greedy_matches_one_prompt_at_a_time(lm: Any) -> None:
    from engram_probe.layered.scoring import greedy_batch

    prompts = [
        lm.tokenizer.encode(q) for q in ("Q: Where do I live?\nA:", "Q: Who?\nA:", "Q: How old is my dog now?\nA:")
    ]
    batched = greedy_batch(lm.model, prompts, 6, lm.tokenizer.bos_id)
    for ids, got in zip(prompts, batched, strict=True):
        alone = lm.model.generate(torch.tensor([ids]), 6)[0, len(ids) :].tolist()
        assert got == alone


def test_the_markdown_quotes_the_evaluate_command_as_a_shell_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import shlex

    from engram_probe.cli.layered import _quoted_command

    argv = ["engram-probe", "layered", "evaluate", "--users", "my users", "--adapter-command", "engram-probe x y"]
    monkeypatch.setattr("sys.argv", argv)
    line = _quoted_command()
    # the train-adapter command is quoted on its own in the page; the rest round-trips through a shell
    assert "--adapter-command" not in line
    assert shlex.split(line) == ["engram-probe", "layered", "evaluate", "--users", "my users"]
