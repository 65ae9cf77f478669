"""Whole answers on the shipped model: an `opt` write of a several-token answer is generated in full, through the
library and through ``engram-probe write`` and ``engram-probe generate`` in subprocesses on a real store."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from engram_probe.memory import MemoryOverlay, UserMemory
from engram_probe.memory.answers import MAX_ANSWER_TOKENS, answer_tokens
from engram_probe.memory.generation import generate
from engram_probe.memory.writing import AnswerError, FactSpec, FactWriter
from tests.cli_run import run_cli

pytestmark = pytest.mark.integration

PROMPT, ANSWER = "My favorite tea is", "oolong"


def cli(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    out = run_cli(*args)
    if ok:
        assert out.returncode == 0, out.stderr
    return out


def test_an_opt_write_of_a_whole_answer_is_generated_in_full(shipped: Any) -> None:
    answer = answer_tokens(shipped.tokenizer, PROMPT, ANSWER)
    assert len(answer) >= 2  # "oolong" is several tokens of the shipped tokenizer
    bare = generate(shipped.model, shipped.tokenizer, PROMPT, None, len(answer))
    assert bare.new_ids != answer
    res = FactWriter(shipped.model, shipped.tokenizer).write(UserMemory("ada"), [FactSpec.of(PROMPT, ANSWER)], "opt")
    (fact,) = res.facts
    # the first-token fields keep their meaning: the answer's first token as it follows the trigger
    assert fact.gold_token_id == answer[0] and fact.gold_token == shipped.tokenizer.token_text(answer[0])
    assert fact.answer_token_ids == answer
    assert len(fact.rows) == len({r for r in fact.rows}) > shipped.cfg.n_engram_heads
    (before,), (after,) = res.recall_before, res.recall_after
    assert before["exact"] is False and after["exact"] is True and after["generated"] == " " + ANSWER
    assert after["rank"] == 1 and after["top1"] == answer[0]
    got = generate(shipped.model, shipped.tokenizer, PROMPT, MemoryOverlay([UserMemory("ada", res.facts)]), 8)
    assert got.new_ids[: len(answer)] == answer and got.text.startswith(" " + ANSWER)
    # every position from the trigger's last to the answer's last-but-one reads the fact's rows
    first = len(got.prompt_ids) - 1
    read_at = {r.position for r in got.reads if r.facts == (f"ada/{fact.fact_id}",)}
    assert set(range(first, first + len(answer))) <= read_at
    too_long = " ".join(["Monday, Tuesday, Wednesday"] * 8)
    assert len(shipped.tokenizer.encode(" " + too_long, bos=False)) > MAX_ANSWER_TOKENS
    with pytest.raises(AnswerError, match=f"at most {MAX_ANSWER_TOKENS} tokens"):
        FactWriter(shipped.model, shipped.tokenizer).write(UserMemory("ada"), [FactSpec.of(PROMPT, too_long)])


def test_generate_prints_both_continuations_and_names_the_rows_read(tmp_path: Path, shipped: Any) -> None:
    db = str(tmp_path / "m.db")
    w = json.loads(
        cli("write", "--store", db, "--user", "ada", "--prompt", PROMPT, "--answer", ANSWER, "--json").stdout
    )
    doc = json.loads(cli("generate", "--store", db, "--user", "ada", "--prompt", PROMPT, "--json").stdout)
    answer = answer_tokens(shipped.tokenizer, PROMPT, ANSWER)
    assert doc["with_memory"]["new_token_ids"][: len(answer)] == answer
    assert doc["with_memory"]["text"].startswith(" " + ANSWER)
    assert not doc["without_memory"]["text"].startswith(" " + ANSWER) and doc["same"] is False
    assert doc["without_memory"]["rows_read"] == []
    reads = doc["with_memory"]["rows_read"]
    owned = {r for _, r in (tuple(x) for x in w["rows"])}
    assert reads and all(set(r["rows"]) <= owned and r["facts"] == [f"ada/{w['fact_id']}"] for r in reads)
    assert reads[0]["generated"] is False and any(r["generated"] for r in reads)
    human = cli("generate", "--store", db, "--user", "ada", "--prompt", PROMPT, "--max-new-tokens", "4").stdout
    assert "without memory" in human and "with ada's memory" in human and repr(doc["with_memory"]["text"])[:8] in human
    assert f"facts ada/{w['fact_id']}" in human and "Engram layer" in human
    # refused at the door: an unknown user, an empty prompt, a store that is not there
    for args in (
        ["--user", "bob", "--prompt", PROMPT],
        ["--user", "ada", "--prompt", "  "],
    ):
        bad = cli("generate", "--store", db, *args, ok=False)
        assert bad.returncode == 2 and "Traceback" not in bad.stderr
    missing = cli("generate", "--store", str(tmp_path / "none.db"), "--user", "ada", "--prompt", PROMPT, ok=False)
    assert missing.returncode == 2 and "no memory store" in missing.stderr
