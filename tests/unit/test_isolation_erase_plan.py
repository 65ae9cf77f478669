"""Erasing a user's fact from a table shared with other users, on the shipped model: the plan and its proof.

Alice and Bob both write "My pet is" (the same rows, by content); Alice alone writes her locker code. Erasing
Alice's pet fact leaves its rows to Bob (named in the plan as the fact a restore would damage) and no read at its
positions finds Alice's value; erasing the locker code restores every row. A leaky table, where Carol holds a
byte-for-byte copy of Alice's value, must fail the proof and name Carol. Then the CLI applies an erase to a real
store: the ledger records it and the proof runs again on what the store serves.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from engram_probe.cli import main
from engram_probe.isolation.erase_plan import ErasePlanError, erase_plan
from engram_probe.memory.operations import open_store
from engram_probe.memory.user_memory import UserMemory
from engram_probe.memory.writing import FactSpec, FactWriter


def _write(lm: Any, user: str, facts: list[tuple[str, str]]) -> UserMemory:
    specs = [FactSpec((t,), a, answer_limit=1) for t, a in facts]
    return UserMemory(user, FactWriter(lm.model, lm.tokenizer).write(UserMemory(user), specs, "unembed").facts)


@pytest.fixture(scope="module")
def users(shipped: Any) -> tuple[UserMemory, UserMemory]:
    alice = _write(shipped, "alice", [("My pet is", "Rex"), ("My locker code is", "4471")])
    bob = _write(shipped, "bob", [("My pet is", "Max")])
    return alice, bob


def _fact(memory: UserMemory, trigger: str) -> str:
    return next(f.fact_id for f in memory.facts if f.triggers[0] == trigger)


def test_a_shared_row_stays_with_the_other_user_and_the_erased_value_is_gone(shipped: Any, users: Any) -> None:
    alice, bob = users
    pet = _fact(alice, "My pet is")
    plan = erase_plan(shipped, [alice, bob], "alice", [pet])
    n = len(alice.fact(pet).rows)
    assert plan["rows_held_by_other_users"] == n and plan["rows_restored"] == 0
    assert plan["facts_sharing_rows"] == [
        {
            "user": "bob",
            "fact_id": bob.facts[0].fact_id,
            "rows": n,
            "would_lose": plan["facts_sharing_rows"][0]["would_lose"],
        }
    ]
    (reads,) = plan["reads"]
    assert reads["read_erased_values"] == 0 and reads["read_other_values"] >= n and plan["erased_value_gone"]


def test_a_row_no_one_else_wrote_is_restored_and_read_as_the_base_row(shipped: Any, users: Any) -> None:
    alice, bob = users
    plan = erase_plan(shipped, [alice, bob], "alice", [_fact(alice, "My locker code is")])
    assert plan["rows_restored"] == len(plan["rows"]) > 0 and plan["facts_sharing_rows"] == []
    assert plan["reads"][0]["read_base"] == plan["reads"][0]["rows_read"] and plan["erased_value_gone"]


def test_a_table_that_still_holds_the_erased_value_fails_and_names_who_holds_it(shipped: Any, users: Any) -> None:
    alice, bob = users
    locker = alice.fact(_fact(alice, "My locker code is"))
    carol = UserMemory("carol", [replace(locker, fact_id="carol-copy")])  # a copy of Alice's value, byte for byte
    plan = erase_plan(shipped, [alice, bob, carol], "alice", [locker.fact_id])
    assert not plan["erased_value_gone"]
    found = plan["reads"][0]["findings"]
    assert found and {f["held_by"] for f in found} == {"carol"}
    assert plan["rows_held_by_other_users"] == len(locker.rows)


def test_unknown_users_and_facts_are_refused_by_name(shipped: Any, users: Any) -> None:
    alice, bob = users
    with pytest.raises(ErasePlanError, match="'dave' is not in the shared table"):
        erase_plan(shipped, [alice, bob], "dave", ["x"])
    with pytest.raises(ErasePlanError, match="has no fact 'nope'"):
        erase_plan(shipped, [alice, bob], "alice", ["nope"])


def test_the_cli_applies_the_erase_the_ledger_records_it_and_the_proof_runs_on_the_store(
    shipped: Any, users: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alice, bob = users
    db = tmp_path / "shared.db"
    with open_store(db, shipped) as store:
        for memory in (alice, bob):
            store.replace_user(memory, action="import")
    pet = _fact(alice, "My pet is")
    args = ["isolation", "erase-plan", "--store", str(db), "--user", "alice", "--fact", pet, "--users", "alice,bob"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("ERASED VALUE GONE") and "bob's fact" in out and "restoring them would damage it" in out
    with open_store(db, shipped, "read") as store:
        assert len(store.load("alice")) == 2  # a plan alone changes nothing
    assert main([*args, "--apply", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ledger_entry"]["action"] == "erase_facts" and doc["ledger_entry"]["fact_ids"] == [pet]
    assert all(r["clean"] for r in doc["reads_after_store"]) and doc["plan"]["erased_value_gone"]
    with open_store(db, shipped, "read") as store:
        assert [f.fact_id for f in store.load("alice").facts] == [_fact(alice, "My locker code is")]
        assert store.ledger("alice")[-1].action == "erase_facts"
