"""Run every benchmark on the shipped model: one JSON line each, plus a dated row in docs/benchmarks.md.

python -m benchmarks.run_all [--only audit,scan,overlay,write,storage,contracts,context,scale,census,hf_engram,
                                   isolation_proof,isolation_exposure,attest]

hf_engram builds a TinyLlama-sized engram-peft model in a temporary folder (3.8 GB on disk, 9 GB of memory at
its peak, the load's).
"""

from __future__ import annotations

import argparse

from engram_probe.arch.workbench_checkpoint import load_checkpoint

NAMES = (
    "audit",
    "scan",
    "overlay",
    "write",
    "storage",
    "contracts",
    "context",
    "scale",
    "census",
    "hf_engram",
    "isolation_proof",
    "isolation_exposure",
    "attest",
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", default=",".join(NAMES))
    args = ap.parse_args()
    lm = load_checkpoint()
    for name in [n.strip() for n in args.only.split(",") if n.strip()]:
        if name not in NAMES:
            raise SystemExit(f"unknown benchmark {name!r}; choose from {', '.join(NAMES)}")
        module = __import__(f"benchmarks.bench_{name}", fromlist=["run"])
        module.run(lm)


if __name__ == "__main__":
    main()
