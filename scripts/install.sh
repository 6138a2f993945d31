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

first_time=""
if [ ! -x .venv/bin/python ]; then
  first_time=1
  "$python" -m venv .venv
fi
stamp=".venv/.newsbot-installed-${extras:-base}"
wanted="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  exit 0
fi

# Say what is happening: only a new .venv is a first install (it downloads every package, PyTorch included).
if [ -n "$first_time" ]; then
  echo "Installing newsbot into .venv (first time: this downloads every package and can take a few minutes)..." >&2
elif [ -f "$stamp" ]; then
  echo "Updating newsbot's packages in .venv (dependencies changed)..." >&2
elif [ -n "$extras" ]; then
  echo "Installing newsbot's extra packages ($extras) into .venv..." >&2
else
  echo "Installing newsbot's packages into .venv..." >&2
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
# torch first, pinned, so that pip takes the CPU wheel instead of pulling several GB of CUDA packages.
.venv/bin/pip install --quiet "torch==2.13.0"
target="."
[ -n "$extras" ] && target=".[$extras]"
.venv/bin/pip install --quiet --constraint constraints.txt --editable "$target"
echo "$wanted" > "$stamp"
