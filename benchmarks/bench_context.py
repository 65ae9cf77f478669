"""Collisions and context on the shipped model.

1. Read-map hit rate of a 10-fact and a 100-fact memory on held-out text: the share of tokens at which
   some head reads an edited row. Measured hash-only on the same token ids for this model's contract and
   for the previous default model's contract (same tokenizer, tables from 4,001 rows per head), side by side.
2. The longest text audited end to end (full audit, bit-exact proof holding), and audit time per token at
   128, 256 and 512 tokens.
3. Peak memory of an audit of the longest text over a plain forward's peak on the same tokens, each read as the
   peak resident set (VmHWM) of its own fresh process, both measured in this run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import emit
from benchmarks.fixtures import fact_specs
from engram_probe.arch.loaded import LoadedModel
from engram_probe.audit.engine import heldout_texts, run_audit
from engram_probe.contracts.workbench import NgramHasher
from engram_probe.data.synthetic_users import generate_users
from engram_probe.memory.operations import specs_from_user_record
from engram_probe.memory.user_memory import UserMemory
from engram_probe.memory.writing import FactWriter

PREVIOUS_TABLE_SIZE = 4001  # the previous default model (commit b105b98), context 128
# Figures quoted in issue 12 for the previous model (measured then): 35 hit positions in 610 held-out tokens
# with the notebook's 10-fact memory; 18% of tokens with 100 facts.
PREVIOUS_QUOTED = {"10 facts": "35 in 610 tokens", "100 facts": "18% of tokens"}
LENGTHS = (128, 256, 512)
REPO = Path(__file__).resolve().parents[1]
# One fresh process per measurement, so that its peak is that of the one call: "forward" or "audit".
PEAK_CHILD = """
import json, sys, time, torch
from benchmarks.bench_context import _memories, probe_text
from engram_probe.audit.engine import run_audit
from engram_probe.arch.workbench_checkpoint import load_checkpoint

def peak():
    return int(next(s for s in open("/proc/self/status") if s.startswith("VmHWM")).split()[1]) * 1024

lm = load_checkpoint(sys.argv[2])
memory = _memories(lm)["10 facts"]
text = probe_text(lm, memory.facts[0].triggers[0], lm.model.max_tokens)
tokens = torch.tensor([lm.tokenizer.encode(text)])
loaded = peak()
t0 = time.perf_counter()
if sys.argv[1] == "forward":
    with torch.no_grad():
        lm.model(tokens)
else:
    assert run_audit(lm, memory, text)["summary"]["untouched_bit_exact"]
seconds = time.perf_counter() - t0
print(json.dumps({"tokens": tokens.shape[1], "loaded": loaded, "peak": peak(), "seconds": seconds}))
"""


def _memories(lm: LoadedModel) -> dict[str, UserMemory]:
    """The notebook's 10 facts (user g, seed 21) and 100 benchmark facts; rows are the same for every strategy."""
    writer = FactWriter(lm.model, lm.tokenizer)
    ten = specs_from_user_record(generate_users(1, seed=21, prefix="g")[0])[:10]
    out = {}
    for name, specs in (("10 facts", ten), ("100 facts", fact_specs(100))):
        out[name] = UserMemory(name, writer.write(UserMemory(name), specs, "unembed").facts)
    return out


def _fact_rows(lm: LoadedModel, hasher: NgramHasher, memory: UserMemory) -> dict[int, set[int]]:
    """Rows each fact's trigger reads at its last position in the fact's layer, under ``hasher``."""
    rows: dict[int, set[int]] = {}
    for fact in memory.facts:
        for trigger in fact.triggers:
            ids = np.asarray(lm.tokenizer.encode(trigger), dtype=np.int64)
            rows.setdefault(fact.layer, set()).update(int(r) for r in hasher.addresses(ids, fact.layer)[-1])
    return rows


def _hit_positions(hasher: NgramHasher, rows: dict[int, set[int]], ids: list[int]) -> int:
    arr = np.asarray(ids, dtype=np.int64)
    hit = np.zeros(len(ids), dtype=bool)
    for layer, wanted in rows.items():
        addr = hasher.addresses(arr, layer)
        hit |= np.isin(addr, np.fromiter(wanted, dtype=np.int64)).any(axis=1)
    return int(hit.sum())


def hit_rates(lm: LoadedModel, memories: dict[str, UserMemory], texts: list[str]) -> list[dict[str, Any]]:
    previous = NgramHasher(lm.cfg.replace(table_size_per_head=PREVIOUS_TABLE_SIZE), lm.model.hasher.canonical_map)
    seqs = [lm.tokenizer.encode(t) for t in texts]
    tokens = sum(len(s) for s in seqs)
    out = []
    for name, memory in memories.items():
        row = {"memory": name, "tokens": tokens, "texts": len(texts)}
        for label, hasher in (("now", lm.model.hasher), ("previous", previous)):
            rows = _fact_rows(lm, hasher, memory)
            hits = sum(_hit_positions(hasher, rows, s) for s in seqs)
            row[f"{label}_hit_positions"] = hits
            row[f"{label}_rate"] = hits / tokens
        out.append(row)
    return out


def probe_text(lm: LoadedModel, trigger: str, length: int) -> str:
    """Held-out prose of about ``length`` tokens with ``trigger`` at two thirds of the way."""
    words = " ".join(heldout_texts(200, 99)).split(" ")
    n_words = length
    while True:
        cut = (2 * n_words) // 3
        text = " ".join([*words[:cut], trigger, *words[cut:n_words]])
        n = len(lm.tokenizer.encode(text))
        if n <= length or n_words < 8:
            return text
        n_words -= max(1, (n - length) // 2)


def audit_timings(lm: LoadedModel, memory: UserMemory) -> list[dict[str, Any]]:
    trigger = memory.facts[0].triggers[0]
    rows = []
    for length in (*LENGTHS, lm.model.max_tokens):
        text = probe_text(lm, trigger, length)
        times = []
        for _ in range(3 if length <= 512 else 1):
            t0 = time.perf_counter()
            report = run_audit(lm, memory, text)
            times.append(time.perf_counter() - t0)
        n = report["probe"]["n_tokens"]
        rows.append(
            {
                "target_tokens": length,
                "tokens": n,
                "audit_s": float(np.median(times)),
                "ms_per_token": float(np.median(times)) * 1e3 / n,
                "proof_holds": bool(report["summary"]["untouched_bit_exact"]),
                "untouched_positions": report["summary"]["positions"]["untouched"],
                "first_write_site": report["summary"]["first_write_site"],
            }
        )
    return rows


def peak_memory(lm: LoadedModel) -> dict[str, Any] | None:
    """Peak RSS of a plain forward and of a full audit of the longest text, each in a fresh process."""
    if not Path("/proc/self/status").exists():
        return None  # VmHWM is Linux's
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    out: dict[str, Any] = {}
    for mode in ("forward", "audit"):
        cmd = [sys.executable, "-c", PEAK_CHILD, mode, str(lm.path)]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, check=True)
        out[mode] = json.loads(done.stdout.strip().splitlines()[-1])
    out["ratio"] = out["audit"]["peak"] / out["forward"]["peak"]
    return out


def run(lm: LoadedModel) -> dict[str, Any]:
    memories = _memories(lm)
    rates = hit_rates(lm, memories, heldout_texts(8, 12345))
    wide = hit_rates(lm, memories, heldout_texts(200, 777))
    timings = audit_timings(lm, memories["10 facts"])
    longest = max((r for r in timings if r["proof_holds"]), key=lambda r: r["tokens"])
    payload = {
        "hit_rates_notebook_texts": rates,
        "hit_rates_200_texts": wide,
        "previous_quoted": PREVIOUS_QUOTED,
        "previous_table_size": PREVIOUS_TABLE_SIZE,
        "rows_per_head_now": int(min(lm.model.hasher.primes(lm.cfg.engram_layers[0]))),
        "audits": timings,
        "longest_audited_tokens": longest["tokens"],
        "peak_memory": (peaks := peak_memory(lm)),
    }
    parts = []
    for r, w in zip(rates, wide, strict=True):
        parts.append(
            f"{r['memory']}: {r['now_hit_positions']} hits in {r['tokens']} held-out tokens "
            f"(previous contract {r['previous_hit_positions']}; quoted {PREVIOUS_QUOTED[r['memory']]}), "
            f"{w['now_rate']:.1%} of {w['tokens']:,} tokens (previous {w['previous_rate']:.1%})"
        )
    per_tok = ", ".join(f"{t['tokens']} tok {t['ms_per_token']:.2f} ms/tok" for t in timings)
    summary = (
        "read-map hit rate " + "; ".join(parts) + f"; longest text audited {longest['tokens']} tokens "
        f"(proof holds); audit time {per_tok}"
    )
    if peaks:
        mb = {k: peaks[k]["peak"] / 2**20 for k in ("forward", "audit")}
        summary += (
            f"; peak RSS at {peaks['audit']['tokens']} tok: audit {mb['audit']:,.0f} MB / plain forward "
            f"{mb['forward']:,.0f} MB = {peaks['ratio']:.2f}x (each in a fresh process)"
        )
    return emit("context_collisions", payload, summary)
