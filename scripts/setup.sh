#!/usr/bin/env bash
# Set up everything talentbot needs on a Debian machine: system packages, a virtualenv in .venv with
# the pinned dependencies (constraints.txt), and the package itself. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: the web chat browser test; sox (+ libsox-fmt-all for AMR) and ffmpeg: decoding voice answers;
# espeak-ng: speech synthesised for the audio tests; fonts-wqy-zenhei: Chinese labels in report charts.
APT_PACKAGES=(chromium sox libsox-fmt-all ffmpeg espeak-ng fonts-wqy-zenhei)
need=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if ((${#need[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "installing system packages: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing system packages: ${need[*]} — run: sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
fi

PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "talentbot needs Python 3.11+" >&2; exit 1; }
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -c constraints.txt -e ".[test]"
echo "set up: .venv ready ($(.venv/bin/python --version))"
