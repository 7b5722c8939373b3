#!/usr/bin/env bash
# Set up, then run the main job on the embedded default: SQLite under ./var, in-process workers,
# the web chat at http://127.0.0.1:8000/ with the demo bank and a sample invitation code.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/talentbot demo "$@"
