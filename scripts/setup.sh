#!/usr/bin/env bash
# Installs what is missing on a fresh machine. Usage: scripts/setup.sh [--dev]
#  - torch 2.13.0 (CPU) first, so that nothing pulls a CUDA build;
#  - this project (editable) with its dependencies and every extra (ui, scale, formats, pdf), plus dev with --dev;
#  - with --dev, Debian's chromium for the browser tests and PDF export (never a downloaded browser).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"

if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.__version__.split("+")[0] == "2.13.0" else 1)' 2>/dev/null; then
  echo "[setup] installing torch==2.13.0"
  "$PY" -m pip install torch==2.13.0
fi

target=".[ui,scale,formats,pdf]"
if [ "${1:-}" = "--dev" ]; then target=".[ui,scale,formats,pdf,dev]"; fi
stamp=".setup-stamp"
want="$(cat pyproject.toml | sha256sum | cut -c1-16)-${1:-run}-$("$PY" -c 'import sys; print(sys.prefix)' | sha256sum | cut -c1-8)"
# (re)install when the dependencies changed, or when the installed package is not this checkout
repo="$(pwd)"
here_check='import pathlib, sys, engram_probe, workbench; sys.exit(0 if pathlib.Path(engram_probe.__file__).resolve().is_relative_to(pathlib.Path(sys.argv[1]).resolve()) else 1)'
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || ! (cd / && "$PY" -c "$here_check" "$repo") 2>/dev/null; then
  echo "[setup] installing the project ($target)"
  "$PY" -m pip install -q -e "$target"
  echo "$want" > "$stamp"
fi

if [ ! -x /usr/bin/chromium ]; then
  echo "[setup] installing Debian chromium (browser tests and PDF export)"
  if command -v apt-get >/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
  else
    echo "[setup] warning: apt-get not found; install chromium yourself for PDF export and browser tests" >&2
  fi
fi
