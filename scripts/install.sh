#!/usr/bin/env bash
# Installs newsbot and its pinned dependencies into .venv (skipped when nothing changed since last time).
# Usage: scripts/install.sh [EXTRAS]   e.g. scripts/install.sh test,bench
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"

python=""
for candidate in python3.11 python3 python; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    python="$candidate"; break
  fi
done
if [ -z "$python" ]; then
  echo "newsbot needs Python 3.11 (the CPU build of torch 2.13.0 available here is for 3.11)." >&2
  exit 1
fi

[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=".venv/.newsbot-installed-${extras:-base}"
wanted="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  exit 0
fi

echo "Installing newsbot into .venv (first time: about two minutes)..." >&2
export PIP_DISABLE_PIP_VERSION_CHECK=1
# torch first, pinned, so that pip takes the CPU wheel instead of pulling several GB of CUDA packages.
.venv/bin/pip install --quiet "torch==2.13.0"
target="."
[ -n "$extras" ] && target=".[$extras]"
.venv/bin/pip install --quiet --constraint constraints.txt --editable "$target"
echo "$wanted" > "$stamp"
