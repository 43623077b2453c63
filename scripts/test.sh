#!/usr/bin/env bash
# The tests, from a fresh clone: set up .venv and run the main pytest suite; then set up .venv-deploy (the pinned
# export toolchains, scripts/setup_deploy.sh) and run the deploy group (tests marked `deploy`) there.
# Extra arguments go to both pytest runs. YOLO_HYBRID_DEPLOY=0 skips the deploy group.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
set +e
.venv/bin/python -m pytest "$@"
main=$?
set -e
if [ "$main" -ne 0 ] && [ "$main" -ne 5 ]; then
  exit "$main"
fi
if [ "${YOLO_HYBRID_DEPLOY:-1}" = "0" ]; then
  echo "[test] deploy group skipped (YOLO_HYBRID_DEPLOY=0)"
  exit "$main"
fi
bash scripts/setup_deploy.sh
exec .venv-deploy/bin/python -m pytest -m deploy tests/deploy "$@"
