"""Whole answers: every token of an answer is taught at its teacher-forced position, on every architecture;
answers have a stated maximum length; an answer the tokenizer cannot encode is refused; facts stored before
whole answers load as one-token answers with their digests unchanged."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers

from engram_probe.arch.loading import open_model
from engram_probe.memory import MemoryOverlay, UserMemory
from engram_probe.memory.answers import MAX_ANSWER_TOKENS, AnswerError, answer_tokens
from engram_probe.memory.generation import generate
from engram_probe.memory.store import MemoryStore
from engram_probe.memory.transfer import read_memory_file
from engram_probe.memory.user_memory import Fact
from engram_probe.memory.writing import STRATEGIES, FactSpec, FactWriter, WriteSettings
from engram_probe.tokenizer import BOS, EngramTokenizer
from tests.helpers import TINY_ARCHITECTURES, random_fact, tiny_lm

TRIGGER, ANSWER = "the dog ran to", "the park"
SETTINGS = WriteSettings(opt_steps=3, opt_max_steps=0, joint_steps=3, joint_max_steps=0)
# a fact's fields before whole answers, less its timing (which the digest leaves out)
OLD_FIELDS = ("fact_id", "triggers", "answer", "gold_token_id", "gold_token", "strategy", "layer", "written_at")
OLD_FIELDS += ("settings", "group")
OLD_MEMORY = Path(__file__).resolve().parent.parent / "fixtures" / "audit_report_v1"


@pytest.fixture(scope="module", params=sorted(TINY_ARCHITECTURES))
def arch(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    name = request.param
    root = tmp_path_factory.mktemp(name.replace("-", "_")) / "model"
    TINY_ARCHITECTURES[name].write(root)
    return open_model(root, **TINY_ARCHITECTURES[name].options(root))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_each_writer_owns_every_row_its_teacher_forced_positions_read(arch: Any, strategy: str) -> None:
    lm = arch
    answer = answer_tokens(lm.tokenizer, TRIGGER, ANSWER)
    assert len(answer) > 1  # the test needs a whole answer of several tokens on this tokenizer
    res = FactWriter(lm.model, lm.tokenizer, SETTINGS).write(UserMemory("bo"), [FactSpec.of(TRIGGER, ANSWER)], strategy)
    (fact,) = res.facts
    assert fact.answer_token_ids == answer and fact.gold_token_id == answer[0]
    assert fact.gold_token == lm.tokenizer.token_text(answer[0])
    # the rows read at the trigger's last position and after each answer token but the last, from the model's
    # own addressing of the teacher-forced sequence
    prompt = lm.tokenizer.encode(TRIGGER)
    seq = torch.tensor([[*prompt, *answer[:-1]]])
    addr = lm.model.engram_addresses(seq)[fact.layer][0, len(prompt) - 1 :]
    assert addr.shape[0] == len(answer)
    assert sorted(r for _, r in fact.rows) == sorted(set(addr.flatten().tolist()))
    (before,), (after,) = res.recall_before, res.recall_after
    for r in (before, after):
        assert set(r) >= {"rank", "prob", "top1", "exact", "generated"}
    # exact is greedy generation of the whole answer, under the written memory
    gen = generate(lm.model, lm.tokenizer, TRIGGER, MemoryOverlay([UserMemory("bo", res.facts)]), len(answer))
    assert after["exact"] == (gen.new_ids == answer) and after["generated"] == gen.text
    assert after["top1"] == gen.new_ids[0]
    assert lm.model.weights_digest() == lm.weights_sha256


def test_an_answer_over_the_limit_is_refused_and_one_at_it_is_written() -> None:
    lm = tiny_lm(seed=11)
    words = "cat dog sun mat park day"
    long = " ".join([words] * 8)
    ids = lm.tokenizer.encode(" " + long, bos=False)
    assert len(ids) > MAX_ANSWER_TOKENS
    with pytest.raises(AnswerError, match=f"at most {MAX_ANSWER_TOKENS} tokens"):
        FactWriter(lm.model, lm.tokenizer, SETTINGS).write(UserMemory("u"), [FactSpec.of("My name is", long)])
    # the longest prefix of words that fits is written, whole
    fitting = ""
    for w in long.split():
        trial = f"{fitting} {w}".strip()
        try:
            answer_tokens(lm.tokenizer, "My name is", trial)
        except AnswerError:
            break
        fitting = trial
    assert len(answer_tokens(lm.tokenizer, "My name is", fitting)) > MAX_ANSWER_TOKENS - 4
    res = FactWriter(lm.model, lm.tokenizer, SETTINGS).write(UserMemory("u"), [FactSpec.of("My name is", fitting)])
    assert len(res.facts[0].answer_token_ids) <= MAX_ANSWER_TOKENS


def test_an_answer_the_tokenizer_cannot_encode_is_an_error_never_another_token() -> None:
    vocab = {BOS: 0, "[UNK]": 1, "My": 2, "tea": 3, "is": 4, "green": 5}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    words = EngramTokenizer(tok)
    assert answer_tokens(words, "My tea is", "green") == [5]
    with pytest.raises(AnswerError, match="cannot encode the answer 'oolong'"):
        answer_tokens(words, "My tea is", "oolong")
    with pytest.raises(AnswerError, match="empty"):
        answer_tokens(words, "My tea is", "  ")


def test_a_fact_without_answer_tokens_reads_as_a_one_token_answer_with_its_old_digest() -> None:
    fact = random_fact("f1", 0, [3, 5], 8, seed=1)
    assert fact.answer_token_ids == [fact.gold_token_id] and "answer_token_ids" not in fact.meta()
    old_meta = {k: v for k, v in fact.meta().items() if k != "rows"}
    # the digest as it was computed before whole answers: the old fields (no timing), then the tensors' bytes
    fields = {k: getattr(fact, k) for k in OLD_FIELDS} | {"rows": [list(r) for r in fact.rows]}
    h = hashlib.sha256(json.dumps(fields, sort_keys=True).encode())
    h.update(fact.row_ids.numpy().tobytes())
    h.update(fact.values.numpy().tobytes())
    assert fact.digest() == h.hexdigest()
    longer = Fact(**{**old_meta, "answer_token_ids": [1, 7, 9]}, row_ids=fact.row_ids, values=fact.values)
    assert longer.meta()["answer_token_ids"] == [1, 7, 9] and longer.digest() != fact.digest()
    with pytest.raises(ValueError, match="first token"):
        Fact(**{**old_meta, "answer_token_ids": [2, 7]}, row_ids=fact.row_ids, values=fact.values)


def test_a_memory_file_and_a_store_written_before_whole_answers_still_load(tmp_path: Path) -> None:
    lm = open_model(OLD_MEMORY / "model")
    # the fixture was exported before answers had tokens: its pinned memory digest must still match
    memory = read_memory_file(OLD_MEMORY / "alice.safetensors", lm.model, lm.weights_sha256)
    assert all(f.answer_token_ids == [f.gold_token_id] for f in memory.facts)
    with MemoryStore(tmp_path / "m.db", lm.weights_sha256) as store:
        store.replace_user(memory, action="import")
    # an old store row: the fact's meta without the field, exactly as stores before this change hold it
    conn = sqlite3.connect(tmp_path / "m.db")
    metas = [json.loads(m) for (m,) in conn.execute("SELECT meta FROM facts")]
    conn.close()
    assert metas and all("answer_token_ids" not in m for m in metas)
    with MemoryStore(tmp_path / "m.db", lm.weights_sha256, mode="read") as store:
        again = store.load("alice")
    assert again.digest() == memory.digest()
    assert [f.answer_token_ids for f in again.facts] == [[f.gold_token_id] for f in memory.facts]


def test_a_whole_answer_survives_the_store(tmp_path: Path) -> None:
    lm = tiny_lm(seed=11)
    res = FactWriter(lm.model, lm.tokenizer, SETTINGS).write(
        UserMemory("u"), [FactSpec.of("My favorite color is", "teal and green")], "unembed"
    )
    (fact,) = res.facts
    assert len(fact.answer_token_ids) > 1
    with MemoryStore(tmp_path / "m.db", lm.weights_sha256) as store:
        store.add_facts("u", res.facts)
        loaded = store.load("u")
    assert loaded.facts[0].answer_token_ids == fact.answer_token_ids
    assert loaded.digest() == UserMemory("u", res.facts).digest()
