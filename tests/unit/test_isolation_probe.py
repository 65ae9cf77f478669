"""The cross-user probe on the shipped model: real writes, real forwards, every class attributed with its evidence.

User A writes three one-token facts, user B two (one of them A's own fact again, the same trigger and answer).
Asked as B with the shared table: A's locker code is served by reading A's rows (gone without them); a paraphrase
that reads none of A's rows gets A's answer from the base model, bit for bit the same without A's rows; A's pet's
name is served from B's own copy of the fact (B's value wins on the rows both write).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from engram_probe.audit.proof import bits
from engram_probe.isolation.probe import (
    BASE,
    COINCIDENCE,
    OTHERS,
    OWN,
    READ,
    ServingViews,
    build_probes,
    cross_user_probe,
    examine,
    paraphrase_prompts,
    reads_of,
)
from engram_probe.isolation.probe_summary import render_markdown, wilson
from engram_probe.memory.user_memory import UserMemory
from engram_probe.memory.writing import FactSpec, FactWriter

SKY = "The sky is"  # the shipped model continues it with " white" on its own


def _write(lm: Any, user: str, facts: list[tuple[str, str]]) -> UserMemory:
    specs = [FactSpec((t,), a, answer_limit=1) for t, a in facts]
    return UserMemory(user, FactWriter(lm.model, lm.tokenizer).write(UserMemory(user), specs, "opt").facts)


@pytest.fixture(scope="module")
def users(shipped: Any) -> tuple[UserMemory, UserMemory]:
    a = _write(shipped, "alice", [("Zora's umbrella is", "white"), ("My locker code is", "4471"), ("My pet is", "Rex")])
    b = _write(shipped, "bob", [("Bob's bike is", "red"), ("My pet is", "Rex")])
    return a, b


@pytest.fixture(scope="module")
def result(shipped: Any, users: tuple[UserMemory, UserMemory]) -> dict[str, Any]:
    a, _ = users
    para = {("alice", "Zora's umbrella is"): [SKY]}
    return cross_user_probe(shipped.model, shipped.tokenizer, list(users), para)


def _leak(result: dict[str, Any], user: str, prompt: str) -> dict[str, Any]:
    found = [r for r in result["leaks"] if r["user"] == user and r["prompt"] == prompt]
    assert len(found) == 1, f"{prompt!r} asked as {user}: {len(found)} leaks"
    return found[0]


def test_read_of_the_owners_rows_is_attributed_and_removal_takes_the_answer(shipped: Any, result: dict) -> None:
    r = _leak(result, "bob", "My locker code is")
    assert r["first_token"]["class"] == READ and r["first_token"]["reads_owner"]
    assert not r["first_token"]["bit_identical_without_owner"]
    assert r["owner_first_position"] == len(shipped.tokenizer.encode("My locker code is")) - 1  # the trigger's end
    assert r["exact"] and r["whole_answer"]["class"] == READ


def test_base_model_coincidence_is_proved_bit_identical(shipped: Any, users: tuple, result: dict) -> None:
    r = _leak(result, "bob", SKY)
    assert r["kind"] == "paraphrase"
    assert r["first_token"] == {
        "class": COINCIDENCE,
        "source": BASE,
        "reads_owner": False,
        "bit_identical_without_owner": True,
    }
    # the proof, redone here: the logits of B's request with and without A's memory, same tensor, same bytes
    table = ServingViews(list(users))
    x = torch.tensor([shipped.tokenizer.encode(SKY)])
    with torch.no_grad():
        shared = shipped.model(x, overlay=table.as_user("bob"))
        without = shipped.model(x, overlay=table.as_user("bob", without="alice"))
    assert torch.equal(bits(shared), bits(without))
    assert "alice" not in reads_of(shipped.model, x[0].tolist(), table.as_user("bob")).rows


def test_own_rows_coincidence_on_rows_both_users_write(shipped: Any, users: tuple, result: dict) -> None:
    r = _leak(result, "bob", "My pet is")
    assert r["first_token"]["class"] == COINCIDENCE and r["first_token"]["source"] == OWN
    assert r["first_token"]["bit_identical_without_owner"]
    assert r["owner_rows_owned_not_served"] > 0  # A owns rows it reads, but B's value is the one served
    a, b = users
    assert set(a.facts[2].rows) == set(b.facts[1].rows)  # content sharing: the same trigger, the same rows


def test_rates_counts_and_intervals(result: dict) -> None:
    # alice's 3 facts + 1 paraphrase asked of bob, bob's 2 of alice; read: the umbrella, the locker, the bike
    assert result["probes"] == 6 and result["probes_by_kind"] == {"trigger": 5, "paraphrase": 1}
    k = result["first_token"]["count"]
    assert k == len(result["leaks"]) == 6  # every prompt here is answered with its owner's answer, one way or another
    assert _leak(result, "alice", "Bob's bike is")["first_token"]["class"] == READ
    d = result["decomposition"]["first_token"]
    assert d["read"] + d["coincidence"] + d["other users"] + d["read, no effect"] == k
    assert d["read"] == 3 and d["coincidence_by_source"] == {BASE: 1, OWN: 2}
    assert d["proved_bit_identical"] == d["reads_no_owner_row"] == 3
    low, high = result["first_token"]["ci95"]
    assert 0.5 < low < 1.0 == high
    text = "\n".join(render_markdown(result, "shipped"))
    assert "(a) read" in text and "95% interval" in text


def test_wilson_matches_scipy() -> None:
    from scipy.stats import binomtest

    for k, n in ((5, 127), (0, 40), (40, 40), (131, 28_710)):
        ci = binomtest(k, n).proportion_ci(0.95, method="wilson")
        assert wilson(k, n) == pytest.approx((ci.low, ci.high), abs=1e-9)
    assert wilson(0, 0) == (0.0, 1.0)


def test_paraphrases_cut_before_the_answer_and_probes_spell_the_answer(shipped: Any, users: tuple) -> None:
    fact = {"answer": "Austin", "paraphrases": ["I live in Austin.", "Home city: Austin", "Austin is home."]}
    assert paraphrase_prompts(fact) == ["I live in", "Home city:"]
    probes = build_probes(shipped.tokenizer, [users[0]], {("alice", "Zora's umbrella is"): [SKY]})
    sky = next(p for p in probes if p.prompt == SKY)
    assert shipped.tokenizer.decode(list(sky.answer_ids)).strip() == "white"


def test_cli_probe_writes_once_into_the_store_and_refuses_bad_input(tmp_path: Path, capsys: Any) -> None:
    from engram_probe.cli import main

    users = tmp_path / "users"
    users.mkdir()
    for uid, key, answer in (("u1", "city", "Paris"), ("u2", "city", "Oslo")):
        record = {"uid": uid, "facts": [{"key": key, "answer": answer, "paraphrases": [f"I live in {answer}."]}]}
        (users / f"{uid}.json").write_text(json.dumps(record))
    args = ["isolation", "probe", "--users-dir", str(users), "--store", str(tmp_path / "m.db"), "--strategy"]
    assert main([*args, "unembed", "--json", "--report", str(tmp_path / "r.json")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["facts_written_now"] == 2 and out["probes"] == 2
    assert "leaks" in json.loads((tmp_path / "r.json").read_text())
    assert main([*args, "unembed", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["facts_written_now"] == 0  # the store's facts are reused
    assert main(["isolation", "probe", "--users-dir", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err
    long = tmp_path / "long"
    long.mkdir()
    for uid in ("u1", "u2"):  # answers of 40 words: no answer fits in 32 tokens, so no fact can be written
        answer = " ".join(["word"] * 40)
        record = {"uid": uid, "facts": [{"key": "motto", "answer": answer, "paraphrases": [f"My motto is {answer}."]}]}
        (long / f"{uid}.json").write_text(json.dumps(record))
    assert main(["isolation", "probe", "--users-dir", str(long), "--strategy", "unembed"]) == 2
    assert "can hold none of these users' facts" in capsys.readouterr().err


def test_third_users_rows_when_a_later_listed_user_writes_the_same_fact(shipped: Any, users: tuple) -> None:
    a, b = users
    carol = _write(shipped, "carol", [("My locker code is", "4471")])
    table = ServingViews([a, carol, b])  # asked as bob, carol is listed after alice: carol's value is served
    locker = next(p for p in build_probes(shipped.tokenizer, [a]) if p.prompt == "My locker code is")
    (r,) = examine(shipped.model, table, "bob", [locker], shipped.tokenizer.bos_id)
    assert r["first_token"]["class"] == OTHERS and r["first_token"]["other_users"] == ["carol"]
    assert r["first_token"]["bit_identical_without_owner"] and not r["first_token"]["reads_owner"]
    assert r["owner_rows_owned_not_served"] > 0
