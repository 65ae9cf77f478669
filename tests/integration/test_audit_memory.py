"""The streamed audit on the shipped model: what two full caches give, a leak still caught, and a bounded peak."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import torch

from engram_probe.audit.engine import run_audit
from engram_probe.audit.paired import PairedRun, figure_hooks, paired_run
from engram_probe.audit.proof import ByteProof, bit_exact_proof, change_sizes, delta_matrix
from engram_probe.audit.readmap import UNTOUCHED, classify_positions, read_map
from engram_probe.audit.switch import gates, gold_ranks, value_path
from engram_probe.memory import MemoryOverlay, UserMemory
from engram_probe.memory.writing import FactSpec, FactWriter
from tests.helpers import LeakyOverlay, raw_bytes

pytestmark = pytest.mark.integration

TRIGGER = "My favorite tea is"
TEXT = f"We walked to the market in the morning and bought bread. {TRIGGER} oolong, and then we went home."
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def memory(shipped: Any) -> UserMemory:
    writer = FactWriter(shipped.model, shipped.tokenizer)
    res = writer.write(UserMemory("m"), [FactSpec.of(TRIGGER, "oolong")], "unembed")
    return UserMemory("m", res.facts)


def full_caches(shipped: Any, tokens: torch.Tensor, overlay: Any) -> PairedRun:
    """The straightforward reference: every hook of both runs, recorded by TransformerLens' run_with_cache."""
    _, base = shipped.model.run_with_cache(tokens)
    _, edited = shipped.model.run_with_cache(tokens, overlay=overlay)
    caches = dict(base.cache_dict), dict(edited.cache_dict)
    return PairedRun(tokens, *caches, torch.get_num_threads(), "torch.float32", dict(shipped.model.hook_axes))


def as_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True)


def test_the_streamed_report_equals_what_two_full_caches_give(shipped: Any, memory: UserMemory) -> None:
    ids = shipped.tokenizer.encode(TEXT)
    tokens = torch.tensor([ids])
    overlay = MemoryOverlay([memory])
    hits = read_map(shipped.model.hasher, overlay, ids)
    classes = classify_positions(len(ids), hits)
    assert {"untouched", "write_site", "downstream"} <= set(classes)
    ref = full_caches(shipped, tokens, overlay)
    untouched = [t for t, c in enumerate(classes) if c == UNTOUCHED]
    # the proof, worked out by hand from the full caches: raw bytes of every hook at every untouched position
    pairs = values = nbytes = 0
    for name, a in ref.base.items():
        axis = 2 if name.endswith(("hook_pattern", "hook_attn_scores")) else 1
        for t in untouched:
            sa, sb = a.select(axis, t), ref.edited[name].select(axis, t)
            assert raw_bytes(sa) == raw_bytes(sb), (name, t)
            pairs, values, nbytes = pairs + 1, values + sa.numel(), nbytes + sa.numel() * sa.element_size()
    report = run_audit(shipped, memory, TEXT)
    proof = report["proof"]
    assert proof["identical"] and proof["hooks"] == len(ref.base) == len(shipped.model.hook_dict)
    assert (proof["pairs_compared"], proof["values_compared"], proof["bytes_compared"]) == (pairs, values, nbytes)
    cfg = shipped.cfg
    assert as_json(report["delta_matrix"]) == as_json(delta_matrix(ref, cfg.n_layers))
    assert as_json(report["changes"]) == as_json(change_sizes(ref, classes, cfg.engram_layers, cfg.n_layers))
    assert as_json(report["value_path"]) == as_json(value_path(ref, shipped.model, shipped.tokenizer, hits))
    gate, ranks = gates(ref, cfg.engram_layers), gold_ranks(ref, memory.facts[0].gold_token_id)
    for t, row in enumerate(report["positions"]):
        assert row["gates"] == {str(L): {"before": g["before"][t], "after": g["after"][t]} for L, g in gate.items()}
        assert (row["gold_rank_before"], row["gold_rank_after"]) == (ranks["before"][t], ranks["after"][t])
    # and the streamed run kept no more than the figures read: no attention score or pattern of either run
    run = paired_run(shipped.model, tokens, overlay, [], figure_hooks(cfg.n_layers, cfg.engram_layers))
    assert set(run.base) == set(run.edited) == figure_hooks(cfg.n_layers, cfg.engram_layers)
    assert not any(name.endswith(("hook_pattern", "hook_attn_scores")) for name in run.base)


def test_the_streamed_proof_catches_a_leaky_overlay_exactly_as_the_kept_one(shipped: Any, memory: UserMemory) -> None:
    ids = shipped.tokenizer.encode(TEXT)
    tokens = torch.tensor([ids])
    leaky = LeakyOverlay(MemoryOverlay([memory]))
    classes = classify_positions(len(ids), read_map(shipped.model.hasher, MemoryOverlay([memory]), ids))
    streamed = ByteProof(classes)
    paired_run(shipped.model, tokens, leaky, [streamed], ())
    got = streamed.result()
    assert not got["identical"] and got["mismatch_count"] > 0
    # position 1 is nudged; attention carries the leak to every later untouched position, and nothing reaches 0
    assert {m["position"] for m in got["mismatches"]} == set(got["untouched_positions"]) - {0}
    assert any(m["hook"].endswith("engram.hook_rows") for m in got["mismatches"])
    assert as_json(got) == as_json(bit_exact_proof(paired_run(shipped.model, tokens, leaky), classes))


PEAK_CHILD = textwrap.dedent(
    """
    import sys, torch
    from engram_probe.audit.engine import heldout_texts, run_audit
    from engram_probe.arch.workbench_checkpoint import load_checkpoint
    from engram_probe.memory import UserMemory
    from engram_probe.memory.writing import FactSpec, FactWriter

    def peak():
        return int(next(s for s in open("/proc/self/status") if s.startswith("VmHWM")).split()[1]) * 1024

    lm = load_checkpoint()
    spec = FactSpec.of("My favorite tea is", "oolong")
    memory = UserMemory("m", FactWriter(lm.model, lm.tokenizer).write(UserMemory("m"), [spec], "unembed").facts)
    words = " ".join(heldout_texts(200, 99)).split(" ")
    n = int(sys.argv[1])
    while len(lm.tokenizer.encode(" ".join(words[:n]) + " My favorite tea is")) > int(sys.argv[1]):
        n -= 8
    text = " ".join(words[:n]) + " My favorite tea is"
    tokens = torch.tensor([lm.tokenizer.encode(text)])
    with torch.no_grad():
        lm.model(tokens)
    before = peak()
    report = run_audit(lm, memory, text)
    after = peak()
    one_run = sum(v.nbytes for v in lm.model.forward_recorded(tokens)[1].values())
    print(tokens.shape[1], after - before, one_run, report["summary"]["untouched_bit_exact"])
    """
)


def test_a_1024_token_audit_adds_about_one_recorded_run_to_the_forward_peak_not_two() -> None:
    """Keeping both runs whole added about 1.9 recorded runs to a plain forward's peak; streaming adds about 1.2."""
    if not Path("/proc/self/status").exists():
        pytest.skip("peak memory is read from /proc")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", PEAK_CHILD, "1024"], capture_output=True, text=True, env=env, cwd=REPO, timeout=600
    )
    assert out.returncode == 0, out.stderr[-2000:]
    n_tokens, added, one_run, exact = out.stdout.split()
    assert int(n_tokens) > 1000 and exact == "True"
    assert int(added) < 1.5 * int(one_run), f"the audit added {int(added) / int(one_run):.2f} recorded runs"
