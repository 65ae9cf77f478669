"""Write the tiny overlay fixtures that the tests and docs/production-models.md use (deterministic).

    python scripts/make_contract_fixtures.py [OUT_DIR]   # default: tests/fixtures/contracts

Qwen PLE: two users' .pleo overlays with facts sidecars, and a JSONL corpus of token ids.
DeepSeek-V4.1 (tiny word-level config): two users' row-override files (FP8 and float32), facts in
the metadata, and a text corpus. Values are seeded per (user, fact), so every run writes the same bytes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from engram_probe.contracts import load_contract
from engram_probe.hashaudit.synthetic import overlay_for_facts
from engram_probe.overlays.pleo import write_pleo
from engram_probe.overlays.rowset import FactTrigger
from engram_probe.overlays.v41_rows import write_v41_rows

EOS = 248044
QWEN_FACTS = {
    "alice": [("pet", [1000, 2000, 3000]), ("city", [1000, 2000, 3001]), ("tea", [5, 6, EOS, 7, 8])],
    # bob's trigger ends in the same bigram as alice's "pet": those 8 bigram rows are shared by content
    "bob": [("car", [999, 2000, 3000]), ("job", [42, 43, 44])],
}
V41_FACTS = {"alice": [("pet", "a b c"), ("city", "d e f")], "bob": [("car", "h b c"), ("job", "g g a")]}


def qwen_fixtures(out: Path) -> None:
    contract = load_contract("qwen3.8-ple")
    for user, facts in QWEN_FACTS.items():
        triggers = [FactTrigger(user, fid, tuple(ids)) for fid, ids in facts]
        write_pleo(overlay_for_facts(contract, user, triggers), out / f"{user}.pleo", contract)
        sidecar = {"user": user, "facts": [{"fact_id": fid, "trigger_ids": ids} for fid, ids in facts]}
        (out / f"{user}.pleo.facts.json").write_text(json.dumps(sidecar, indent=1) + "\n")
    rng = np.random.default_rng(0)
    lines = [[1000, 2000, 3000, 17, 18], [7, 999, 2000, 3000], [42, 43, 44, EOS, 42, 43, 44]]
    lines += [rng.integers(0, 248320, size=int(rng.integers(5, 40))).tolist() for _ in range(40)]
    (out / "corpus.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


def v41_fixtures(out: Path) -> None:
    contract = load_contract("deepseek-v4.1", out / "config.json", out / "tokenizer.json")
    for user, facts in V41_FACTS.items():
        triggers = [FactTrigger(user, fid, tuple(contract.encode(text)), (2,), text) for fid, text in facts]
        overlay = overlay_for_facts(contract, user, triggers, [2])
        write_v41_rows(overlay, out / f"{user}.safetensors", contract, "fp8" if user == "alice" else "float32")
    text = "a b c d e f g h\n" * 3 + "h b c a a a\n" + "g g a b c\n" + "e e e e\n" * 5
    (out / "corpus.txt").write_text(text)


def main(argv: list[str]) -> None:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "contracts"
    qwen_fixtures(root / "qwen_ple")
    v41_fixtures(root / "v41_tiny")
    print(f"fixtures written under {root}")


if __name__ == "__main__":
    main(sys.argv[1:])
