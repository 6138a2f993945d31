#!/usr/bin/env bash
# Installs what the tests need, checks the code style, and runs the whole test suite (offline).
# Extra arguments go to pytest, e.g. scripts/test.sh -k ingest
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh test
if [ ! -d ../shared/datasets ]; then
  echo "The tests read ../shared (seeds and data sets) beside this folder; it is missing." >&2
  exit 1
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"
