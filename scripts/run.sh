#!/usr/bin/env bash
# The main job: install what is missing, then serve the workbench on the default model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec "${PYTHON:-python3}" app.py "$@"
