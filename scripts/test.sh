#!/usr/bin/env bash
# The tests, from a fresh clone: set up .venv; lint (scripts/lint.sh: ruff, fails on a violation); the wheel smoke
# (scripts/wheel_smoke.sh: build, twine/check-wheel-contents, the wheel in a clean venv, stock CLI train/export
# offline); build the docs (scripts/docs.sh: mkdocs --strict); the main pytest suite (with every README/docs snippet
# and docstring example, tests/test_docs.py); then the Ultralytics version matrix (scripts/test_versions.sh: older
# releases side by side in .venv-versions, the `versions` group once per release, the Compatibility table of
# docs/compatibility.md checked against the run); then set up .venv-deploy (the pinned export toolchains,
# scripts/setup_deploy.sh) and run the deploy group (tests marked `deploy`) there.
# The main suite runs on one pytest-xdist worker per core, at most 4 (on CI's 2 cores it took 9:45 against 18:19 in one
# process), the deploy group in one pytest process with as many export jobs at a time;
# YOLO_HYBRID_TEST_WORKERS=N sets the number (0: one process and one job at a time, e.g. to debug with -s or pdb).
# Extra arguments go to every pytest run. YOLO_HYBRID_VERSIONS=0 skips the version matrix, YOLO_HYBRID_DEPLOY=0 the
# deploy group, YOLO_HYBRID_WHEEL_SMOKE=0 the wheel smoke.
# Every step's wall time is printed as it ends and again in a summary at exit (CI's budget is 60 minutes); the
# pytest runs list their 15 slowest tests (--durations).
set -euo pipefail
cd "$(dirname "$0")/.."
timings=""
step() {  # step NAME COMMAND...: run it, note its time
  local name=$1 start=$SECONDS code=0
  shift
  "$@" || code=$?
  timings+="$(printf '%-16s %5d s (exit %d)' "$name" $((SECONDS - start)) "$code")"$'\n'
  echo "[test] $name: $((SECONDS - start)) s"
  return "$code"
}
trap 'printf "[test] step times:\n%s[test] total: %d s\n" "$timings" "$SECONDS"' EXIT
step setup bash scripts/setup.sh
step lint bash scripts/lint.sh
step wheel-smoke bash scripts/wheel_smoke.sh
step docs bash scripts/docs.sh
source scripts/workers.sh
main=0
step main-suite .venv/bin/python -m pytest -n "$workers" --dist worksteal --durations=15 "$@" || main=$?
if [ "$main" -ne 0 ] && [ "$main" -ne 5 ]; then
  exit "$main"
fi
step versions bash scripts/test_versions.sh "$@"
if [ "${YOLO_HYBRID_DEPLOY:-1}" = "0" ]; then
  echo "[test] deploy group skipped (YOLO_HYBRID_DEPLOY=0)"
  exit "$main"
fi
step setup-deploy bash scripts/setup_deploy.sh
# One pytest process: its export jobs run $workers at a time in child processes (tests/deploy/test_formats.py)
YOLO_HYBRID_TEST_WORKERS="$workers" step deploy .venv-deploy/bin/python -m pytest -m deploy tests/deploy \
  --durations=15 "$@"
