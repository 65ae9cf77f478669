"""API tier: the Isolation tab on the served workbench's demo users (d000-d002), through gradio_client.

The demo users write the same templates ("My name is", "I was born in", ...), so they share rows by content:
under last write wins the user listed last keeps them, its proof holds, and the others' proofs are scoped to the
first position that reads one of its rows."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch
from gradio_client import Client, handle_file

from engram_probe.memory.overlay import MemoryOverlay
from engram_probe.report.kinds import verify_file
from tests.api.conftest import table

pytestmark = [pytest.mark.api, pytest.mark.integration]

DEMO = "d000,d001,d002"
LWW = "last write wins"


def plot(value: Any) -> dict[str, Any]:
    assert value["type"] == "plotly"
    return json.loads(value["plot"])


def first_foreign(state: Any, user: str, token_ids: list[int]) -> int | None:
    """Independently of the proof: the first position whose addresses hit a row another user's value wins."""
    overlay = MemoryOverlay([state.store.load(u) for u in DEMO.split(",")])
    addresses = state.lm.model.engram_addresses(torch.tensor([token_ids]))
    found = []
    for layer, addr in addresses.items():
        for t, row in enumerate(addr[0].tolist()):
            owners = [overlay.owners_of((layer, int(r))) for r in row]
            if any(o and o[-1][0] != user for o in owners):
                found.append(t)
    return min(found, default=None)


def test_proof_of_demo_users(client: Client, served: tuple[str, Any]) -> None:
    state = served[1]
    verdict, reads, strip, probes, status = client.predict(d := "d000", DEMO, LWW, "", api_name="/isolation_prove")
    assert verdict.startswith('<span style="color:#b45309') and "Scoped:" in verdict, verdict
    assert "3 users in serving order (d000, d001, d002; last write wins: d002" in status
    rows = table(reads)
    assert (
        rows
        and {r[5] for r in rows} <= {"d001", "d002"}
        and all(r[7] in ("shared content", "hash collision") for r in rows)
    )
    assert all(r[8].endswith("%") and r[10] in ("yes", "no") for r in rows)
    facts = {f"{f.triggers[0]} → {f.answer}" for f in state.store.load("d002").facts}
    assert {r[6] for r in rows if r[5] == "d002"} <= facts  # the owner's fact by name, not by id
    # every text: its first read is where the addresses first hit another user's row, and the strip agrees
    figure = plot(strip)["data"][0]
    fed = [p["probe"]["token_ids"] for p in client_doc(client, d)["probes"]]
    for i, ids in enumerate(fed):
        k = first_foreign(state, d, ids)
        assert k is not None and min(r[1] for r in rows if r[0] == i + 1) == k
        assert f"text {i + 1}: " in verdict and f"positions 0..{k - 1} are provably independent" in verdict
        assert figure["z"][i][:k] == [0] * k and figure["z"][i][k] == 2
        assert table(probes)[i][3] == f"0..{k - 1}"

    verdict, reads, strip, _, _ = client.predict("d002", DEMO, LWW, "", api_name="/isolation_prove")
    assert "color:#15803d" in verdict and "Holds:" in verdict and "at every position of all" in verdict
    assert table(reads)[0][0] == "no text reads another user's row"
    assert all(c == 0 for row in plot(strip)["data"][0]["z"] for c in row if c is not None)

    refused, *_ = client.predict(d, DEMO, "refuse", "", api_name="/isolation_prove")
    assert (
        refused.startswith("⚠ the merge is refused") and "written by more than one user (d000, d001, d002)" in refused
    )
    unknown, *_ = client.predict("nobody", DEMO, LWW, "", api_name="/isolation_prove")
    assert unknown.startswith("⚠ unknown user 'nobody'")
    own, *_ = client.predict(d, "d001", LWW, "Hello there, my friend.", api_name="/isolation_prove")
    assert "Holds:" in own  # d000 is added last to a table of d001: it keeps every row it shares


def client_doc(client: Client, user: str, pdf: bool = False) -> dict[str, Any]:
    files, status = client.predict(user, DEMO, LWW, "", pdf, api_name="/isolation_export")
    assert status.startswith("Isolation report"), status
    return json.loads(Path(next(f for f in files if f.endswith(".json"))).read_text())


def test_exported_proof_verifies(client: Client, served: tuple[str, Any]) -> None:
    files, status = client.predict("d001", DEMO, LWW, "", False, api_name="/isolation_export")
    names = sorted(Path(f).suffix for f in files)
    assert names == [".csv", ".html", ".json"] and "scoped" in status, (names, status)
    path = next(f for f in files if f.endswith(".json"))
    result = verify_file(path, lm=served[1].lm, store=served[1].store, open_files=False)
    assert result["ok"], result["checks"]
    doc = json.loads(Path(path).read_text())
    assert doc["user"] == "d001" and doc["summary"]["status"] == "scoped"
    # the Export tab's verify takes it too, on the server's own model and store
    verdict, _ = client.predict(handle_file(path), api_name="/verify_report")
    assert verdict.startswith("**VERIFIED**"), verdict
    with open(next(f for f in files if f.endswith(".csv")), encoding="utf-8") as fh:
        assert len(list(csv.reader(fh))) - 1 == doc["summary"]["foreign_reads"]
    assert "Isolation of d001" in Path(next(f for f in files if f.endswith(".html"))).read_text()


def test_cross_user_probe(client: Client, served: tuple[str, Any]) -> None:
    rates, classes, words = client.predict(DEMO, api_name="/isolation_probe")
    facts = {u: len(served[1].store.load(u).facts) for u in DEMO.split(",")}
    asked = sum(n * (len(facts) - 1) for n in facts.values())  # each user is asked every other user's facts
    rows = table(rates)
    assert rows[0][1].endswith(f"of {asked:,}") and rows[-1][1:3] == ["5 of 127", "3.94%"]
    leaks = int(rows[0][1].split(" of ")[0])
    low, high = (float(x.rstrip("%")) for x in rows[0][3].split(" to "))
    assert low <= 100 * leaks / asked <= high and f"({asked:,} questions)" in words
    counted = table(classes)
    assert len(counted) == 6 and sum(int(counted[i][1]) for i in (0, 1, 2, 4, 5)) == leaks
    files, status = client.predict(DEMO, api_name="/isolation_probe_export")
    assert json.loads(Path(files[0]).read_text())["probes"] == asked and status.startswith("Cross-user probe")
    one, _, bad = client.predict("d000", api_name="/isolation_probe")
    assert bad.startswith("⚠ the cross-user probe needs at least two users")


def test_exposure_curve(client: Client, served: tuple[str, Any]) -> None:
    fig, rows, words = client.predict(["100", "1,000"], 10, api_name="/isolation_exposure")
    data = plot(fig)
    assert data["layout"]["xaxis"]["type"] == "log" and len(data["data"]) == 4
    cells = table(rows)
    assert [r[0] for r in cells] == ["100", "1,000"]
    measured, derived = (float(cells[0][i].rstrip("%")) / 100 for i in (1, 3))
    assert abs(measured - derived) < 4 * math.sqrt(derived * (1 - derived) / 1000)  # the uniform-hash model
    assert cells[0][5] == "0%" and "hash only" in words  # salting leaves no sharing by content
    files, status = client.predict(["100"], 10, api_name="/isolation_exposure_export")
    reports = [f for f in files if f.endswith(".json")]
    assert len(reports) == 2 and status.startswith("Exposure reports written")
    assert all(verify_file(f, lm=served[1].lm, store=served[1].store, open_files=False)["ok"] for f in reports)
    _, _, bad = client.predict([], 10, api_name="/isolation_exposure")
    assert bad == "⚠ tick at least one population size"


def test_erase_plan(client: Client, served: tuple[str, Any]) -> None:
    memory = served[1].store.load("d000")
    mine, before = memory.facts, memory.digest()
    picked = client.predict("d000", api_name="/isolation_facts")  # the fact list follows the chosen user
    assert picked["choices"] == [[f"{f.triggers[0]} → {f.answer}", f.fact_id] for f in mine]
    name = next(f for f in mine if f.triggers[0] == "My name is")
    words, rows, sharing = client.predict("d000", DEMO, name.fact_id, api_name="/isolation_erase_plan")
    assert "✔ The erased value is gone" in words and "nothing was erased" in words
    assert len(table(rows)) == len(set(name.rows))
    shared = {(r[0], r[1]) for r in table(sharing)}
    others = {(u, f"{f.triggers[0]} → {f.answer}") for u in ("d001", "d002") for f in served[1].store.load(u).facts}
    assert shared and shared <= others and {u for u, _ in shared} == {"d001", "d002"}
    assert served[1].store.load("d000").digest() == before  # a plan erases nothing
    files, status = client.predict("d000", DEMO, name.fact_id, api_name="/isolation_erase_plan_export")
    assert json.loads(Path(files[0]).read_text())["erased"] == [name.fact_id] and status.startswith("Erasure plan")
    bad, _, _ = client.predict("d000", DEMO, "", api_name="/isolation_erase_plan")
    assert bad == "⚠ choose one of the user's facts to plan its erasure"
