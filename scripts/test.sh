#!/usr/bin/env bash
# The tests, from a fresh clone: set up .venv and run the main pytest suite; then the Ultralytics version matrix
# (scripts/test_versions.sh: older releases side by side in .venv-versions, the `versions` group once per release,
# README's Compatibility table checked against the run); then set up .venv-deploy (the pinned export toolchains,
# scripts/setup_deploy.sh) and run the deploy group (tests marked `deploy`) there.
# Extra arguments go to every pytest run. YOLO_HYBRID_VERSIONS=0 skips the version matrix, YOLO_HYBRID_DEPLOY=0 the
# deploy group.
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
bash scripts/test_versions.sh "$@"
if [ "${YOLO_HYBRID_DEPLOY:-1}" = "0" ]; then
  echo "[test] deploy group skipped (YOLO_HYBRID_DEPLOY=0)"
  exit "$main"
fi
bash scripts/setup_deploy.sh
exec .venv-deploy/bin/python -m pytest -m deploy tests/deploy "$@"
