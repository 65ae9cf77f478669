"""API tier: the real workbench on a free port, driven through gradio_client."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client, handle_file

from tests.api.conftest import table

pytestmark = [pytest.mark.api, pytest.mark.integration]


def percent(shown: str) -> float:
    """A percentage the UI shows ("16.7%") as a fraction."""
    assert shown.endswith("%"), shown
    return float(shown[:-1].replace(",", "")) / 100


def exact_bytes(shown: str) -> int:
    """The exact byte count in a size the UI shows ("384 KiB (393,216 B)" or "512 B")."""
    m = re.search(r"([\d,]+) B\)?$", shown)
    assert m, shown
    return int(m.group(1).replace(",", ""))


def plot(value: Any) -> dict[str, Any]:
    assert value["type"] == "plotly"
    return json.loads(value["plot"])


def test_every_tab_has_an_endpoint(client: Client) -> None:
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {
        "/show_user",
        "/write_fact",
        "/switch_on",
        "/locality_proof",
        "/wrong_layer",
        "/lora_contamination",
        "/export_report",
        "/verify_report",
        "/contract_show",
        "/contract_census",
        "/contract_readmap",
        "/contract_export",
        "/layered_train",
        "/layered_evaluate",
        "/layered_question",
        "/layered_export",
        "/isolation_prove",
        "/isolation_export",
        "/isolation_probe",
        "/isolation_exposure",
        "/isolation_erase_plan",
    } <= names


def test_model_and_demo_users(client: Client, served: tuple[str, Any]) -> None:
    card, facts, status, _ = client.predict("d000", api_name="/show_user")
    assert "unchanged" in card and served[1].lm.weights_sha256[:16] in card
    rows = table(facts)
    assert len(rows) == 6 and all(r[5] == min(served[1].lm.cfg.engram_layers) for r in rows)
    memory = served[1].store.load("d000")
    distinct = {tuple(r) for f in memory.facts for r in f.row_ids.tolist()}  # every answer token's rows
    assert len(distinct) > 6 * served[1].lm.cfg.n_engram_heads  # whole answers own more than the trigger's rows
    assert "6 facts" in status and f"{len(distinct):,} distinct rows" in status
    card, facts, status, _ = client.predict("no-such-user", api_name="/show_user")
    assert status.startswith("⚠") and "unknown user" in status


def test_write_a_fact_reports_rows_and_recall(client: Client, served: tuple[str, Any]) -> None:
    md, rows, ledger = client.predict(
        "api-writer", "My favorite tea is", "oolong", "opt", "late", api_name="/write_fact"
    )
    assert "Wrote fact" in md and "48 rows" in md and "→ 1**" in md, md  # " oolong" is 3 tokens: 3 positions × 16 heads
    data = table(rows)
    assert len(data) == 3 * served[1].lm.cfg.n_engram_heads
    assert {r[3] for r in data} == {2, 3}  # both n-gram orders
    assert ledger.startswith("ledger entry")
    bad, _, _ = client.predict("api-writer", "My favorite tea is", "  ", "opt", "late", api_name="/write_fact")
    assert bad.startswith("⚠") and "answer is empty" in bad
    too_long, _, _ = client.predict("api-writer", "tea " * 5000, "x", "opt", "late", api_name="/write_fact")
    assert too_long.startswith("⚠") and "the limit is 4,000" in too_long


def test_where_it_switches_on(client: Client, served: tuple[str, Any]) -> None:
    probe = served[1].demo_probes["d000"]
    strip, gate, rows, status = client.predict("d000", probe, api_name="/switch_on")
    z = plot(strip)["data"][0]["z"][0]
    assert 2 in z and 0 in z  # write sites and untouched positions
    gate_traces = plot(gate)["data"]
    assert len(gate_traces) == 2 * len(served[1].lm.cfg.engram_layers)
    before, after = gate_traces[-2]["y"], gate_traces[-1]["y"]
    first = z.index(2)
    assert before[:first] == after[:first]
    assert before[first] != after[first]
    data = table(rows)
    assert data and data[0][6] >= data[0][7]  # gold rank improves (or holds) at the write site


def test_locality_proof_is_bit_exact_with_counts(client: Client, served: tuple[str, Any]) -> None:
    probe = served[1].demo_probes["d001"]
    heat, rows, verdict = client.predict("d001", probe, api_name="/locality_proof")
    assert "bit-exact: YES" in verdict and "values compared" in verdict
    classes = [r[2] for r in table(rows)]
    assert classes[0] == "untouched" and "write site" in classes
    traces = plot(heat)["data"]
    exact = traces[0]["z"]
    first = classes.index("write site")
    assert all(row[t] == 1 for row in exact for t in range(first))  # exact zeros before the first write site
    _, _, empty = client.predict("d001", "", api_name="/locality_proof")
    assert empty.startswith("⚠") and "empty" in empty


def test_wrong_layer_contrast(client: Client) -> None:
    # closed-form rows depend on the layer's W_V; which layer recalls more is measured, not assumed
    fig, rows, caption = client.predict("d002", 6, "unembed", api_name="/wrong_layer")
    by = {r[0]: [r[0], r[1], *map(percent, r[2:])] for r in table(rows)}
    assert by["right layer"][1] != by["wrong layer"][1]
    assert by["right layer"][4] > by["no edit"][4]  # mean probability of the answer
    assert by["wrong address"][2] <= by["no edit"][2] + 1e-9
    assert len(plot(fig)["data"]) == 2 and "top-1" in caption and "'unembed'" in caption
    # the user's own strategy (opt) is reported the same way, whatever it shows
    fig, rows, caption = client.predict("d002", 3, "user's own", api_name="/wrong_layer")
    data = [[r[0], r[1], *map(percent, r[2:])] for r in table(rows)]
    assert [r[0] for r in data] == ["no edit", "right layer", "wrong layer", "wrong address"]
    assert all(0.0 <= r[2] <= 1.0 and 0.0 <= r[4] <= 1.0 for r in data) and "'opt'" in caption


def test_lora_changes_untouched_values_engram_does_not(client: Client, served: tuple[str, Any]) -> None:
    probe = served[1].demo_probes["d000"]
    fig, rows, status = client.predict("d000", probe, api_name="/lora_contamination")
    engram, lora = table(rows)
    untouched = rows["headers"].index("untouched (hook, position) values changed")
    assert engram[untouched] == "0%" and percent(lora[untouched]) >= 0.99
    assert exact_bytes(lora[1]) > 10 * exact_bytes(engram[1])
    assert len(plot(fig)["data"]) == 4
    _, _, again = client.predict("d000", probe, api_name="/lora_contamination")
    assert "reused from cache" in again


def test_export_then_verify_and_reject_tampering(client: Client, served: tuple[str, Any], tmp_path: Path) -> None:
    probe = served[1].demo_probes["d001"]
    files, status = client.predict("d001", probe, False, api_name="/export_report")
    paths = [Path(f) for f in files]
    assert {p.suffix for p in paths} == {".json", ".html", ".pdf"}, status
    report = next(p for p in paths if p.suffix == ".json")
    verdict, checks = client.predict(handle_file(str(report)), api_name="/verify_report")
    assert verdict.startswith("**VERIFIED**"), verdict
    doc = json.loads(report.read_text())
    doc["summary"]["values_compared"] += 1
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(doc))
    verdict, checks = client.predict(handle_file(str(forged)), api_name="/verify_report")
    assert verdict.startswith("**NOT VERIFIED**") and "edited" in verdict
    junk = tmp_path / "junk.json"
    junk.write_text("{ this is not json")
    verdict, _ = client.predict(handle_file(str(junk)), api_name="/verify_report")
    assert verdict.startswith("⚠") and "not a JSON report" in verdict


def test_two_clients_as_different_users_see_only_their_own(served: tuple[str, Any]) -> None:
    url, state = served
    results: dict[str, Any] = {}
    errors: list[BaseException] = []
    plan = {"iris": "green", "otto": "blue"}

    def session(user: str, answer: str) -> None:
        try:
            c = Client(url, verbose=False)
            md, _, _ = c.predict(user, "My lucky stone is", answer, "opt", "late", api_name="/write_fact")
            outs = []
            for _ in range(3):
                _, _, rows, status = c.predict(user, "My lucky stone is", api_name="/switch_on")
                outs.append((table(rows), status))
            results[user] = (md, outs)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=session, args=item) for item in plan.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for user, answer in plan.items():
        md, outs = results[user]
        assert "→ 1**" in md
        for rows, status in outs:
            assert f"→ '{answer}'" in status  # the gold of this user's own fact
            assert rows[0][7] == 1  # rank 1 for this user's answer
            assert rows == outs[0][0]  # identical across repeats
    assert state.base_digest_now == state.lm.weights_sha256


FIX = Path(__file__).resolve().parents[1] / "fixtures" / "contracts"


def test_production_census_readmap_export_and_verify(client: Client) -> None:
    overlays = [
        handle_file(str(FIX / "qwen_ple" / n))
        for n in ("alice.pleo", "alice.pleo.facts.json", "bob.pleo", "bob.pleo.facts.json")
    ]
    card, cols, status = client.predict("qwen3.8-ple", None, None, api_name="/contract_show")
    assert "qwen3.8-ple" in card and len(table(cols)) == 16 and "loaded" in status
    facts, pairs, conflicts, status = client.predict("qwen3.8-ple", None, None, overlays, api_name="/contract_census")
    assert [r[:2] for r in table(facts)][:2] == [["alice", "pet"], ["alice", "city"]]
    assert table(pairs) == [["alice & bob", 8, 8]] and len(table(conflicts)) == 8 and "8 conflicting" in status
    strip, hits, status = client.predict(
        "qwen3.8-ple", None, None, overlays, "7 999 2000 3000 1", api_name="/contract_readmap"
    )
    assert {r[0] for r in table(hits)} == {3} and "positions 0..2" in status and "derived" in status
    files, status = client.predict(
        "readmap", "qwen3.8-ple", None, None, overlays, "7 999 2000 3000 1", api_name="/contract_export"
    )
    json_file = next(f for f in files if str(f).endswith(".json"))
    # the server never opens the paths the report names: alone it is not re-run; with its inputs uploaded it is
    verdict, _ = client.predict(handle_file(json_file), None, api_name="/verify_report")
    assert verdict.startswith("**NOT VERIFIED**") and "not re-run" in verdict
    verdict, _ = client.predict(handle_file(json_file), overlays, api_name="/verify_report")
    assert verdict.startswith("**VERIFIED**"), verdict


def test_production_bad_input_is_a_message(client: Client, tmp_path: Path) -> None:
    bad = tmp_path / "bad.pleo"
    bad.write_bytes(b"NOPE" + bytes(8))
    facts, _, _, status = client.predict(
        "qwen3.8-ple", None, None, [handle_file(str(bad))], api_name="/contract_census"
    )
    assert status.startswith("⚠") and "wrong magic" in status and table(facts) == []
    _, _, status = client.predict("deepseek-v4.1", None, None, [], "hello there", api_name="/contract_readmap")
    assert status.startswith("⚠") and "overlay" in status


def test_production_v41_row_overrides_with_uploaded_config_and_tokenizer(client: Client) -> None:
    v41 = FIX / "v41_tiny"
    config, tok = handle_file(str(v41 / "config.json")), handle_file(str(v41 / "tokenizer.json"))
    overlays = [handle_file(str(v41 / n)) for n in ("alice.safetensors", "bob.safetensors")]
    facts, pairs, _, status = client.predict("deepseek-v4.1", config, tok, overlays, api_name="/contract_census")
    assert {(r[0], r[1]) for r in table(facts)} == {("alice", "pet"), ("alice", "city"), ("bob", "car"), ("bob", "job")}
    assert table(pairs)[0][0] == "alice & bob" and "conflicting" in status
    _, hits, status = client.predict(
        "deepseek-v4.1", config, tok, overlays, "g h b c d e f", api_name="/contract_readmap"
    )
    assert {r[0] for r in table(hits)} == {3, 6} and "positions 0..2" in status
