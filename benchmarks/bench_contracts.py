"""Hash-only addressing throughput per contract, as row reads per second, beside the shipped hasher.

Row reads = token positions × rows read per position (columns × tables). Every contract addresses
the same number of positions (random ids inside its own vocabulary), timed interleaved in one run.
Goal: every contract at ≥ 0.7× the shipped hasher's reads per second.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import emit, interleaved
from engram_probe.arch.loaded import LoadedModel
from engram_probe.contracts import AddressContract, load_contract

POSITIONS = 1 << 20
CHUNK = 1 << 16  # the scan's working size: arrays stay cache- and page-friendly
GOAL = 0.7
FIX = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "contracts"


def paper_contract(tmp: Path) -> AddressContract:
    """The paper's headline tables (50,000 rows per head, 8 heads per order) on the fixture tokenizer."""
    cfg = json.loads((FIX / "paper_tiny" / "config.json").read_text())
    cfg.update(engram_vocab_per_ngram=50_000, engram_n_head_per_ngram=8, engram_n_embed_per_ngram=128)
    (tmp / "config.json").write_text(json.dumps(cfg))
    return load_contract("user-as-engram", tmp / "config.json", FIX / "paper_tiny" / "tokenizer.json")


def vocab(contract: AddressContract) -> int:
    spec = contract.spec()
    if spec.get("compressed_map"):
        return spec["compressed_map"]["raw_vocab"]
    return spec.get("compressed_vocab") or 248_320


def address_all(contract: AddressContract, ids: np.ndarray) -> None:
    for start in range(0, ids.size, CHUNK):
        part = ids[start : start + CHUNK]
        for layer in contract.layers:
            contract.addresses_by_column(part, layer)


def run(lm: LoadedModel) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        contracts = {
            "shipped hasher": lm.model.hasher,
            "workbench": load_contract("workbench"),
            "user-as-engram (50K x 8 heads)": paper_contract(Path(tmp)),
            "deepseek-v4.1": load_contract("deepseek-v4.1"),
            "qwen3.8-ple": load_contract("qwen3.8-ple"),
        }
    rng = np.random.default_rng(0)
    ids = {k: rng.integers(0, vocab(c), size=POSITIONS, dtype=np.int64) for k, c in contracts.items()}
    times = interleaved({k: (lambda c=c, x=ids[k]: address_all(c, x)) for k, c in contracts.items()}, repeat=5)
    reads = {k: POSITIONS * sum(c.n_columns(L) for L in c.layers) for k, c in contracts.items()}
    rate = {k: reads[k] / times[k] for k in contracts}
    base = rate["shipped hasher"]
    ratio = {k: rate[k] / base for k in contracts}
    payload = {
        "positions": POSITIONS,
        "reads_per_position": {k: reads[k] // POSITIONS for k in contracts},
        "reads_per_s": {k: round(v) for k, v in rate.items()},
        "ratio_to_shipped": {k: round(v, 3) for k, v in ratio.items()},
        "goal": f">= {GOAL}x the shipped hasher",
        "met": all(v >= GOAL for v in ratio.values()),
    }
    summary = "; ".join(f"{k} {rate[k] / 1e6:.1f} M reads/s ({ratio[k]:.2f}x)" for k in contracts)
    return emit("contracts", payload, summary + f"; goal ≥ {GOAL}x: {'met' if payload['met'] else 'MISSED'}")
