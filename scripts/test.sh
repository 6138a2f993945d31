#!/usr/bin/env bash
# Installs what the tests need, checks the code style, and runs the whole test suite (offline).
# Extra arguments go to pytest, e.g. scripts/test.sh -k ingest
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh test
# The widget's browser tests drive Debian's chromium through Playwright (`playwright install` is never run: it
# downloads browsers). Installed once with apt when missing; CI runs as root.
if [ ! -x /usr/bin/chromium ]; then
  echo "Installing chromium (apt) for the browser tests..." >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
if [ ! -d ../shared/datasets ]; then
  echo "The tests read ../shared (seeds and data sets) beside this folder; it is missing." >&2
  exit 1
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# Known vulnerabilities in the pinned dependencies fail the run; no network means one "audit skipped" line.
scripts/audit.sh
exec .venv/bin/python -m pytest "$@"
