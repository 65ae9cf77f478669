"""API tier: a conflicting write refused, then superseded; rows shared with another user named; erase with its
proof; the history in words. The real workbench on a free port, through gradio_client."""

from __future__ import annotations

import re
from typing import Any

import pytest
import torch
from gradio_client import Client

from tests.api.conftest import table
from tests.plain_words import messages, problems

pytestmark = [pytest.mark.api, pytest.mark.integration]


def write(client: Client, user: str, prompt: str, answer: str, supersede: bool = False) -> tuple[str, Any, str]:
    return client.predict(user, prompt, answer, "unembed", "early", supersede, api_name="/write_fact")


def test_conflict_supersede_erase_and_history(client: Client, served: tuple[str, Any]) -> None:
    state = served[1]
    md, _, _ = write(client, "api-hist", "My favorite stone is", "jade")
    first = re.search(r"Wrote fact `(\w+)`", md)
    assert first, md
    # the recall verdict agrees with the rank reached (and, where measured, the whole answer)
    rank = int(re.search(r"rank \*\*\d+ → (\d+)\*\*", md).group(1))  # type: ignore[union-attr]
    fact = state.store.load("api-hist").facts[0]
    assert ("✘ not recalled" in md) == (rank != 1 or "not the whole answer" in md) and fact.answer == "jade"
    assert "**Used:** strategy unembed" in md and "CPU thread" in md

    refused, rows, status = write(client, "api-hist", "My favorite stone is", "opal")
    assert refused.startswith("⚠") and first.group(1) in refused and "'jade'" in refused, refused
    assert "--" not in refused and table(rows) == [] and status == ""
    assert [f.answer for f in state.store.load("api-hist").facts] == ["jade"]

    md, _, _ = write(client, "api-hist", "My favorite stone is", "opal", supersede=True)
    second = re.search(r"Wrote fact `(\w+)`", md)
    assert second and f"Replaced `{first.group(1)}`" in md, md
    assert [f.answer for f in state.store.load("api-hist").facts] == ["opal"]

    facts, entries, hstatus, pick = client.predict("api-hist", api_name="/history")
    assert [r[0] for r in table(facts)] == [second.group(1)] and "1 fact now" in hstatus
    what = [r[2] for r in table(entries)]
    assert what[-2].endswith(f"erased 1 fact: {first.group(1)}")
    assert what[-1].endswith(f"wrote 1 fact: {second.group(1)}, replacing {first.group(1)}")

    proof, rows, facts, entries, hstatus, _ = client.predict("api-hist", second.group(1), False, api_name="/erase")
    assert "✔ Erase is bit-exact" in proof and "identical to the model with only the remaining facts" in proof, proof
    assert table(rows) and all(r[2] == "shared table" and r[3] == "yes" for r in table(rows))
    assert table(facts) == [] and table(entries)[-1][2].endswith(f"erased 1 fact: {second.group(1)}")
    assert state.store.load("api-hist").facts == [] and state.store.verify_ledger() == []

    bad, *_ = client.predict("api-hist", "no-such-fact", False, api_name="/erase")
    assert bad.startswith("⚠") and "no facts" in bad
    shown = messages([md, refused, proof, rows, facts, entries, hstatus, bad])
    assert [p for m in shown for p in problems(m)] == []


def test_a_write_on_another_user_s_rows_names_that_user(client: Client) -> None:
    write(client, "api-share-a", "My lucky stone is", "jade")
    md, rows, _ = write(client, "api-share-b", "My lucky stone is", "jade")
    assert "**Shares rows with other users**" in md and "**api-share-a**" in md and "by content" in md, md
    also = [r[5] for r in table(rows)]
    assert also and all("api-share-a (content)" in a for a in also)


def test_ask_the_model_with_and_without_the_memory(client: Client, served: tuple[str, Any]) -> None:
    state = served[1]
    memory = state.store.load("d000")
    fact = memory.facts[0]
    plain, mine, reads, status = client.predict("d000", fact.triggers[0], 6, api_name="/ask_model")
    assert not status.startswith("⚠"), status
    read = table(reads)
    assert read, "the trigger of one of the user's facts reads the user's rows"
    owned = {r for f in memory.facts for r in f.rows}
    assert all((int(r[3]), int(x)) in owned for r in read for x in str(r[4]).split(", "))
    assert any(f"d000/{fact.fact_id}" in str(r[5]) for r in read)
    expected = state.lm.tokenizer.decode(
        state.lm.model.generate(torch.tensor([state.lm.tokenizer.encode(fact.triggers[0])]), 6)[0].tolist()[
            len(state.lm.tokenizer.encode(fact.triggers[0])) :
        ]
    )
    assert plain == expected  # the plain model's own greedy decoding
    assert ("different text" in status) == (plain != mine)
    bad = client.predict("d000", "  ", 6, api_name="/ask_model")[3]
    assert bad.startswith("⚠") and "prompt is empty" in bad
