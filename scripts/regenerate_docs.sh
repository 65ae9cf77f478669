#!/usr/bin/env bash
# Regenerates every figure the docs quote from runs on the shipped model (about an hour on 2 cores).
# Not part of the tests. The reference users are read by path and never copied into the repo.
#   scripts/regenerate_docs.sh [USERS_DIR]     (default ../shared/data/reference_users)
set -euo pipefail
cd "$(dirname "$0")/.."
USERS="${1:-../shared/data/reference_users}"
OUT="${TMPDIR:-/tmp}/engram-regenerate"
mkdir -p "$OUT"
python -m engram_probe.training.model_card
engram-probe recall --users "$USERS" --limit 20 \
  --modes none,unembed_isolated,opt_isolated,opt_together,joint_together \
  --json "$OUT/recall.json" --markdown docs/recall.md
engram-probe layered train-adapter --users "$USERS" --uids u020-u029 --out "$OUT/shared_adapter.safetensors"
engram-probe layered evaluate --users "$USERS" --uids u000-u019 --adapter "$OUT/shared_adapter.safetensors" \
  --report "$OUT/layered.json" --html "$OUT/layered.html" --markdown docs/layered.md \
  --adapter-command "engram-probe layered train-adapter --users $USERS --uids u020-u029 --out $OUT/shared_adapter.safetensors"
python notebooks/build_notebooks.py
# one torch thread, as the dated rows in docs/benchmarks.md before it (the table records the thread count)
OMP_NUM_THREADS=1 python -m benchmarks.run_all
