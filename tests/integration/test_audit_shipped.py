"""The audit on the shipped model: scoped locality claims, contrasts, reports and verify."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from engram_probe.audit.contrasts import layer_contrast
from engram_probe.audit.engine import AuditOptions, run_audit
from engram_probe.audit.readmap import read_map
from engram_probe.contracts.workbench_config import DEFAULT_MODEL_DIR
from engram_probe.memory import MemoryOverlay, UserMemory
from engram_probe.memory.transfer import export_memory
from engram_probe.memory.writing import FactSpec, FactWriter, WriteSettings
from engram_probe.report.document import finalize
from engram_probe.report.printing import CHROMIUM, CHROMIUM_ARGS, html_to_pdf
from engram_probe.report.printing import save_json_report as save_report
from engram_probe.report.render import write_html
from engram_probe.report.verify import verify_report
from tests.cli_run import run_cli

pytestmark = pytest.mark.integration

TRIGGER = "My favorite tea is"
SPECS = [
    FactSpec.of(TRIGGER, "oolong"),
    FactSpec.of("I live in", "Lisbon"),
    FactSpec.of("My dentist is", "Dr. Moss"),
    FactSpec.of("My dog is called", "Rex"),
]


@pytest.fixture(scope="module")
def memory(shipped: Any) -> UserMemory:
    res = FactWriter(shipped.model, shipped.tokenizer).write(UserMemory("alice"), SPECS, "opt")
    return UserMemory("alice", res.facts)


PROBES = {
    "end": f"We walked to the market in the morning. {TRIGGER}",
    "middle": f"We walked to the market in the morning. {TRIGGER} oolong, and then we went home.",
    "repeated": f"{TRIGGER} oolong. Later she said it again: {TRIGGER}",
}
# Unrelated sentences; hash collisions can make one of them read an edited row, so the test uses the
# first with an empty read map (the collision rate itself is what `engram-probe scan` measures).
ABSENT = [
    "We walked to the market in the morning and bought bread.",
    "The river was calm, and the boats stayed in the harbour all day.",
    "Rain fell on the old roof while the children played cards.",
    "A quiet street, two bakeries and a small library near the station.",
]


def absent_probe(shipped: Any, memory: UserMemory) -> str:
    overlay = MemoryOverlay([memory])
    for text in ABSENT:
        if not read_map(shipped.model.hasher, overlay, shipped.tokenizer.encode(text)):
            return text
    pytest.fail("every candidate sentence collides with an edited row")


@pytest.mark.parametrize("where", [*sorted(PROBES), "absent"])
def test_scoped_locality_claim(shipped: Any, memory: UserMemory, where: str) -> None:
    rep = run_audit(shipped, memory, PROBES[where] if where != "absent" else absent_probe(shipped, memory))
    s = rep["summary"]
    classes = [p["class"] for p in rep["positions"]]
    sites = [p["index"] for p in rep["positions"] if p["rows_hit"]]
    assert s["untouched_bit_exact"] is True and s["pairs_compared"] == s["positions"]["untouched"] * len(
        shipped.model.hook_dict
    )
    if where == "absent":
        assert sites == [] and classes == ["untouched"] * len(classes)
        assert all(all(row) for row in rep["delta_matrix"]["exact"])  # byte-identical at every position
        return
    first = sites[0]
    assert classes[:first] == ["untouched"] * first
    assert all(classes[t] == ("write_site" if t in sites else "downstream") for t in range(first, len(classes)))
    ids = rep["probe"]["token_ids"]
    trigger_len = len(shipped.tokenizer.encode(TRIGGER, bos=False))
    trigger_ends = [
        i + trigger_len - 1
        for i in range(len(ids))
        if ids[i : i + trigger_len] == shipped.tokenizer.encode(" " + TRIGGER, bos=False)
        or ids[i : i + trigger_len] == shipped.tokenizer.encode(TRIGGER, bos=False)
    ]
    assert set(trigger_ends) <= set(sites)
    if where == "repeated":
        assert len(trigger_ends) == 2
    at_end = rep["positions"][trigger_ends[-1]]
    assert at_end["gold_rank_after"] == 1 and at_end["gate_after"] != at_end["gate_before"]
    # downstream positions after a write site do change (the claim is scoped, not global)
    if where == "middle":
        changed = [c for c in rep["changes"] if c["class"] == "downstream" and c["layer"] == "final"]
        assert changed and max(c["logits"] for c in changed) > 0


@pytest.fixture(scope="module")
def contrast_doc(shipped: Any, memory: UserMemory, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("report")
    mem_file = d / "alice.safetensors"
    export_memory(memory, mem_file, shipped.weights_sha256, shipped.model.hasher)
    body = run_audit(
        shipped,
        memory,
        PROBES["middle"],
        {"kind": "file", "path": str(mem_file)},
        AuditOptions(contrast=True, contrast_facts=4),
    )
    return save_report(finalize(body), d / "report.json"), mem_file


def test_contrasts(contrast_doc: tuple[Path, Path]) -> None:
    c = json.loads(contrast_doc[0].read_text())["contrasts"]
    assert c["strategy"] == "opt" and c["right_layer"]["layer"] == 1 and c["wrong_layer"]["layer"] == 4
    assert c["right_layer"]["recall_top1"] >= c["wrong_layer"]["recall_top1"]
    assert c["wrong_address"]["recall_top1"] <= c["no_edit"]["recall_top1"]
    assert c["lora"]["untouched_changed_fraction"] >= 0.99
    assert c["engram"]["untouched_changed_fraction"] == 0.0
    assert c["lora"]["recall_top1"] >= c["engram"]["recall_top1"]
    assert c["lora"]["bytes"] > c["engram"]["bytes"] > 0
    held = c["heldout_loss"]
    assert held["engram_attribution"]["max_abs_token_delta_elsewhere"] == 0.0
    assert abs(held["lora_delta"]) > abs(held["engram_delta"])


def test_wrong_layer_contrast_writes_the_same_facts_in_the_other_layer(shipped: Any) -> None:
    # Measured, not the paper's claim: closed-form rows for these 4 facts recall 0.75 top-1 in the early
    # (default, right) layer and 0.50 in the late one, no edit 0.50; the direction depends on the model and
    # the facts (the notebook reports it on 10 facts), so the test checks what the contrast does.
    r = layer_contrast(shipped, SPECS, "unembed", WriteSettings())
    assert r["right_layer"]["layer"] == min(shipped.cfg.engram_layers)  # the default write layer is the early one
    assert r["wrong_layer"]["layer"] == max(shipped.cfg.engram_layers)
    assert r["right_layer"]["gold_prob_mean"] > r["no_edit"]["gold_prob_mean"]
    assert all(0.0 <= r[k]["gold_prob_mean"] <= 1.0 for k in ("no_edit", "right_layer", "wrong_layer"))


def test_verify_passes_then_fails_on_any_one_byte_change(
    shipped: Any, contrast_doc: tuple[Path, Path], tmp_path: Path
) -> None:
    report, mem_file = contrast_doc
    assert verify_report(report)["ok"]
    # 1. a hand edit to the report
    text = report.read_text()
    edited = tmp_path / "edited.json"
    i = text.index('"values_compared": ') + len('"values_compared": ')
    edited.write_text(text[:i] + str(int(text[i]) ^ 1) + text[i + 1 :])
    res = verify_report(edited)
    assert not res["ok"] and any(c["check"] == "report digest" and not c["ok"] for c in res["checks"])
    # 2. one byte of the memory file
    data = bytearray(mem_file.read_bytes())
    backup = bytes(data)
    data[-3] ^= 0x01
    mem_file.write_bytes(bytes(data))
    try:
        assert not verify_report(report)["ok"]
    finally:
        mem_file.write_bytes(backup)
    # 3. one byte of the weights (a copy of the model directory)
    model_copy = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, model_copy)
    w = model_copy / "model.safetensors"
    data = bytearray(w.read_bytes())
    data[-5] ^= 0x01
    w.write_bytes(bytes(data))
    res = verify_report(report, model_copy)
    assert not res["ok"] and any("modified or corrupted" in c["detail"] for c in res["checks"])
    out = run_cli("verify", str(edited))
    assert out.returncode == 1 and "NOT VERIFIED" in out.stdout


def test_html_renders_in_chromium_and_pdf_has_pages(
    contrast_doc: tuple[Path, Path], tmp_path: Path, artifacts: Path
) -> None:
    doc = json.loads(contrast_doc[0].read_text())
    html = write_html(doc, tmp_path / "r.html")
    assert html.read_text().count("<script type='text/javascript'>") == 1  # plotly inlined once
    assert "cdn" not in html.read_text()[:2000].lower()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(html.resolve().as_uri())
        page.wait_for_selector(".js-plotly-plot")
        n_plots = page.evaluate("document.querySelectorAll('.js-plotly-plot .main-svg').length")
        page.screenshot(path=str(artifacts / "report-html.png"), full_page=True)
        browser.close()
    assert n_plots >= 5
    pdf = html_to_pdf(html, tmp_path / "r.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page[^s]", data)) >= 2


def test_cli_audit_and_scan(shipped: Any, memory: UserMemory, tmp_path: Path) -> None:
    mem_file = tmp_path / "m.safetensors"
    export_memory(memory, mem_file, shipped.weights_sha256, shipped.model.hasher)
    out = tmp_path / "a.json"
    run = run_cli("audit", "--memory", str(mem_file), "--text", PROBES["middle"], "--json", str(out),
                  "--html", str(tmp_path / "a.html"))  # fmt: skip
    assert run.returncode == 0, run.stderr
    rep = json.loads(out.read_text())
    assert rep["summary"]["untouched_bit_exact"] is True
    assert {"write_site", "downstream", "untouched"} == set(rep["summary"]["positions"])
    assert len(rep["digests"]["report"]) == 64 and rep["environment"]["threads"] >= 1
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(ABSENT * 13 + [PROBES["repeated"]] * 3) + "\n")
    scan = run_cli("scan", "--memory", str(mem_file), "--corpus", str(corpus), "--json")
    assert scan.returncode == 0, scan.stderr
    res = json.loads(scan.stdout)["result"]  # the contract scan's report (scan is its alias)
    tea_id = next(f.fact_id for f in memory.facts if f.triggers[0] == TRIGGER)
    tea = next(f for f in res["facts"] if f["fact"] == f"alice/{tea_id}")
    assert tea["hits"] >= 6 and len(tea["examples"]) == 5
    assert res["tokens"] > 50 * 10 and 0 < res["fraction_hit"] < 0.5


def long_probe(shipped: Any, n_tokens: int) -> str:
    """Generated held-out prose of at least ``n_tokens`` tokens with the trigger at about two thirds."""
    from engram_probe.audit.engine import heldout_texts

    words = " ".join(heldout_texts(60, 4242)).split(" ")
    for n_words in range(n_tokens // 2, len(words)):
        cut = (2 * n_words) // 3
        text = " ".join([*words[:cut], TRIGGER, "oolong.", *words[cut:n_words]])
        if len(shipped.tokenizer.encode(text)) >= n_tokens:
            return text
    pytest.fail("not enough held-out text")


def test_a_400_token_probe_audits_end_to_end_in_the_cli(shipped: Any, memory: UserMemory, tmp_path: Path) -> None:
    mem_file = tmp_path / "m.safetensors"
    export_memory(memory, mem_file, shipped.weights_sha256, shipped.model.hasher)
    text = long_probe(shipped, 400)
    out = tmp_path / "long.json"
    cmd = ["audit", "--memory", str(mem_file), "--text", text]
    run = run_cli(*cmd, "--json", str(out))
    assert run.returncode == 0, run.stderr[-2000:]
    rep = json.loads(out.read_text())
    n = rep["probe"]["n_tokens"]
    assert 400 <= n <= 420 and len(rep["positions"]) == n
    assert rep["summary"]["untouched_bit_exact"] is True
    # the trigger (at about two thirds) is a write site; every position before the first read is untouched
    at = len(shipped.tokenizer.encode(text[: text.index(TRIGGER) + len(TRIGGER)])) - 1
    assert at > 200 and rep["positions"][at]["class"] == "write_site"
    first = rep["summary"]["first_write_site"]
    assert all(p["class"] == "untouched" for p in rep["positions"][:first])
    assert rep["summary"]["positions"]["untouched"] >= first > 0
    check = run_cli("verify", str(out))
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]
    # past the model's audit limit the error is plain and nothing is half-written
    too_long = " ".join([text] * (shipped.model.max_tokens // 300 + 2))
    bad = run_cli(*cmd[:-1], too_long, "--json", str(tmp_path / "x.json"))
    assert bad.returncode == 2 and f"the model's context holds {shipped.model.max_tokens}" in bad.stderr
    assert not (tmp_path / "x.json").exists() and "%|" not in bad.stderr
