#!/usr/bin/env bash
# The whole main job on a fresh machine: install, build the index from corpus/ if it is missing, serve
# the chat app on http://127.0.0.1:7860 (NEWSBOT_HOST / NEWSBOT_PORT or --host / --port to change).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
exec .venv/bin/newsbot serve "$@"
