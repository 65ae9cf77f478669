"""The audit engine on a tiny random model: classes, the proof (and that it can fail), reports."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import torch

from engram_probe.audit.engine import ProbeError, run_audit
from engram_probe.audit.paired import paired_run
from engram_probe.audit.proof import bit_exact_proof
from engram_probe.audit.readmap import classify_positions, conv_reach, read_map
from engram_probe.memory import MemoryOverlay, UserMemory
from engram_probe.memory.writing import FactSpec, FactWriter, WriteSettings
from engram_probe.report.document import finalize
from engram_probe.report.kernel import body_digest
from tests.helpers import LeakyOverlay, tiny_lm


@pytest.fixture(scope="module")
# the facts below are one-token answers: the 8 rows of " A" miss the probes of this tiny model, " A"+"da" would not
def lm() -> Any:
    return tiny_lm(seed=4)


@pytest.fixture(scope="module")
def memory(lm: Any) -> UserMemory:
    res = FactWriter(lm.model, lm.tokenizer, WriteSettings(opt_steps=10)).write(
        UserMemory("alice"),
        [replace(FactSpec.of("My name is", "Ada"), answer_limit=1)],
        "opt",
    )
    return UserMemory("alice", res.facts)


def test_classes_follow_the_rule(lm: Any, memory: UserMemory) -> None:
    ids = lm.tokenizer.encode("The cat sat on the mat. My name is Ada.")
    hits = read_map(lm.model.hasher, MemoryOverlay([memory]), ids)
    classes = classify_positions(len(ids), hits)
    sites = sorted({h.position for h in hits})
    assert sites, "the trigger is in the text"
    assert all(classes[t] == "write_site" for t in sites)
    assert all(c == "untouched" for c in classes[: sites[0]])
    assert all(classes[t] == "downstream" for t in range(sites[0] + 1, len(ids)) if t not in sites)
    reach = conv_reach(len(ids), hits, lm.cfg.conv_kernel, lm.cfg.conv_dilation)
    assert all((t - s) % 3 == 0 and 0 < t - s < 12 for t, srcs in reach.items() for s in srcs)


def test_the_proof_catches_a_leaky_overlay(lm: Any, memory: UserMemory) -> None:
    ids = lm.tokenizer.encode("The cat sat on the mat. My name is")
    overlay = MemoryOverlay([memory])
    classes = classify_positions(len(ids), read_map(lm.model.hasher, overlay, ids))
    assert classes[1] == "untouched"
    good = bit_exact_proof(paired_run(lm.model, torch.tensor([ids]), overlay), classes)
    assert good["identical"] and good["mismatch_count"] == 0
    bad = bit_exact_proof(paired_run(lm.model, torch.tensor([ids]), LeakyOverlay(overlay)), classes)
    assert not bad["identical"]
    assert {m["position"] for m in bad["mismatches"]} == {t for t in range(1, classes.index("write_site"))}
    assert any(m["hook"].endswith("engram.hook_rows") for m in bad["mismatches"])
    assert bad["pairs_compared"] == good["pairs_compared"] > 0


def test_report_counts_and_digest(lm: Any, memory: UserMemory) -> None:
    text = "Hello there. My name is Ada."
    body = run_audit(lm, memory, text)
    s = body["summary"]
    n = len(lm.tokenizer.encode(text))
    assert sum(s["positions"].values()) == n
    assert s["untouched_bit_exact"] is True
    assert s["pairs_compared"] == s["positions"]["untouched"] * len(lm.model.hook_dict)
    assert s["bytes_compared"] >= 4 * s["values_compared"] - 1  # float32 and int64 values
    for p in body["positions"]:
        assert {"token", "class", "rows_hit", "gate_before", "gate_after"} <= set(p)
        if p["class"] == "untouched":
            assert p["gate_before"] == p["gate_after"]
    site = next(p for p in body["positions"] if p["class"] == "write_site")
    assert site["gold_rank_after"] <= site["gold_rank_before"]
    doc = finalize(body)
    assert doc["digests"]["report"] == body_digest(doc)
    doc["summary"]["untouched_bit_exact"] = False
    assert doc["digests"]["report"] != body_digest(doc)


def test_probe_without_hits_is_untouched_everywhere(lm: Any, memory: UserMemory) -> None:
    # The tiny model's heads have ~100 rows, so most sentences read one of the memory's 8 rows by chance
    # ("The cat sat on the mat." does in the early layer); this one reads none (checked against the read map).
    body = run_audit(lm, memory, "A cat sat on a mat.")
    assert body["summary"]["positions"] == {"write_site": 0, "downstream": 0, "untouched": body["probe"]["n_tokens"]}
    assert body["summary"]["untouched_bit_exact"]
    assert all(all(row) for row in body["delta_matrix"]["exact"])


def test_bad_probes_are_rejected(lm: Any, memory: UserMemory) -> None:
    with pytest.raises(ProbeError, match="empty"):
        run_audit(lm, memory, "   ")
    with pytest.raises(ProbeError, match="context"):
        run_audit(lm, memory, "word " * 500)
    with pytest.raises(ProbeError, match="no facts"):
        run_audit(lm, UserMemory("nobody"), "My name is")


def test_a_rotary_model_audits_a_probe_longer_than_its_training_length() -> None:
    lm = tiny_lm(seed=6, positional_embedding_type="rotary")
    res = FactWriter(lm.model, lm.tokenizer, WriteSettings(opt_steps=5)).write(
        UserMemory("bob"),
        [replace(FactSpec.of("My name is", "Ada"), answer_limit=1)],
        "opt",
    )
    text = "mat. " * 70 + "My name is Ada."  # a filler whose n-grams miss this tiny model's edited rows
    report = run_audit(lm, UserMemory("bob", res.facts), text)
    assert report["probe"]["n_tokens"] > lm.cfg.n_ctx
    assert report["summary"]["untouched_bit_exact"] and report["summary"]["positions"]["untouched"] > lm.cfg.n_ctx
    with pytest.raises(ProbeError, match="context holds"):
        run_audit(lm, UserMemory("bob", res.facts), "cat " * (lm.model.max_tokens + 5))


def test_the_batched_proof_compares_raw_bytes_not_values() -> None:
    """-0.0 equals 0.0 as a float but not as bytes; a NaN equals nothing as a float but itself as bytes."""
    from engram_probe.audit.paired import PairedRun

    base = {"blocks.0.hook_resid_post": torch.zeros(1, 4, 3), "blocks.0.attn.hook_pattern": torch.ones(1, 2, 4, 4)}
    same = {k: v.clone() for k, v in base.items()}
    base["blocks.0.hook_resid_post"][0, 3, 0] = float("nan")
    same["blocks.0.hook_resid_post"][0, 3, 0] = float("nan")
    classes = ["untouched"] * 4
    axes = {"blocks.0.hook_resid_post": 1, "blocks.0.attn.hook_pattern": 2}  # as the shipped model declares them
    ok = bit_exact_proof(PairedRun(torch.zeros(1, 4), base, same, 1, "float32", axes), classes)
    assert ok["identical"] and ok["pairs_compared"] == 8 and ok["values_compared"] == 4 * 3 + 4 * 8
    signed = {k: v.clone() for k, v in same.items()}
    signed["blocks.0.attn.hook_pattern"][0, 1, 2, 0] = -1.0
    signed["blocks.0.hook_resid_post"][0, 1, 2] = -0.0
    bad = bit_exact_proof(PairedRun(torch.zeros(1, 4), base, signed, 1, "float32", axes), classes)
    assert {(m["hook"], m["position"]) for m in bad["mismatches"]} == {
        ("blocks.0.hook_resid_post", 1),
        ("blocks.0.attn.hook_pattern", 2),
    }
    assert next(m for m in bad["mismatches"] if m["position"] == 1)["max_abs_diff"] == 0.0
