#!/usr/bin/env bash
# The whole test suite: install what is missing (dev extras, Debian chromium), then run pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
export HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False PYTHONUNBUFFERED=1
# two workers (the CI machine has 2 cores); each test file runs whole on one worker, so a module's fixtures are built once
exec "${PYTHON:-python3}" -m pytest -q -n "${TEST_WORKERS:-2}" --dist loadfile -p no:benchmark "$@"
