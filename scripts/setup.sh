#!/usr/bin/env bash
# Create .venv (once) and install the pinned stack plus yolo_hybrid in editable mode (which also installs the
# start-up hook yolo_hybrid_autoload.pth into the venv's site-packages). Re-running is cheap: it skips the install
# when requirements-dev.txt and pyproject.toml are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.yolo_hybrid-install-stamp
want="$(cat requirements-dev.txt pyproject.toml yolo_hybrid_autoload.pth | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || [ ! -f .venv/lib/python*/site-packages/yolo_hybrid_autoload.pth ]; then
  echo "[setup] installing into .venv (first time: ~6 GB, 1-2 min)"
  .venv/bin/python -m pip install --disable-pip-version-check -q -r requirements-dev.txt -e . 2> >(grep -v "^WARNING: Location" >&2)
  echo "$want" > "$stamp"
fi
echo "[setup] $(.venv/bin/python -c 'import torch, ultralytics, yolo_hybrid; print(f"torch {torch.__version__}, ultralytics {ultralytics.__version__}, yolo_hybrid {yolo_hybrid.__version__}")')"
