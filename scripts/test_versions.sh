#!/usr/bin/env bash
# The Ultralytics version matrix: the `versions` test group (tests/versions) once per release of
# requirements-versions.txt, each selected through PYTHONPATH from .venv-versions (scripts/setup_versions.sh), then
# once for .venv's own pinned release (requirements-dev.txt); then the Compatibility table of docs/compatibility.md is
# checked against
# the run (scripts/compat_table.py --check). Needs .venv (scripts/setup.sh). Extra arguments go to every pytest run.
#   YOLO_HYBRID_VERSIONS=0                  skip the matrix (what scripts/test.sh honours)
#   YOLO_HYBRID_VERSIONS="8.2.103 8.4.190"  only these releases (the table check is then skipped)
#   YOLO_HYBRID_COMPAT_DIR=dir              keep the per-release JSON results there (default: a fresh temp dir)
#   YOLO_HYBRID_COMPAT_WRITE=1              write the table into docs/compatibility.md instead of checking it
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${YOLO_HYBRID_VERSIONS:-}" = "0" ]; then
  echo "[versions] version matrix skipped (YOLO_HYBRID_VERSIONS=0)"
  exit 0
fi
bash scripts/setup_versions.sh
newest=$(sed -n 's/^ultralytics==\([^ #]*\).*/\1/p' requirements-dev.txt)
all="$(sed -n 's/^ultralytics==\([^ #]*\).*/\1/p' requirements-versions.txt | tr '\n' ' ')$newest"
selected="${YOLO_HYBRID_VERSIONS:-$all}"
results="${YOLO_HYBRID_COMPAT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/yolo_hybrid_compat.XXXXXX")}"
mkdir -p "$results"
rm -f "$results"/ultralytics-*.json
# The releases run side by side, one per core (at most 4; YOLO_HYBRID_TEST_WORKERS=N, as scripts/test.sh), each
# with one torch thread and its own log, printed whole in the matrix's order when it ends.
source scripts/workers.sh
[ "$workers" -ge 1 ] 2>/dev/null || workers=1  # 0 (one pytest process) still runs one release at a time
logs=$(mktemp -d "${TMPDIR:-/tmp}/yolo_hybrid_versions_logs.XXXXXX")
run_release() {
  local v=$1 path start code
  shift
  if [ "$v" = "$newest" ]; then
    path="${PYTHONPATH:-}"  # .venv's own release, as installed
  else
    path="$PWD/.venv-versions/$v:$PWD/.venv-versions/_extras${PYTHONPATH:+:$PYTHONPATH}"
  fi
  start=$SECONDS
  set +e
  PYTHONPATH="$path" YOLO_HYBRID_EXPECT_ULTRALYTICS="$v" YOLO_HYBRID_COMPAT_DIR="$results" OMP_NUM_THREADS=1 \
    .venv/bin/python -m pytest -m versions tests/versions -p no:cacheprovider "$@" > "$logs/$v.log" 2>&1
  code=$?
  set -e
  echo "$code $((SECONDS - start))" > "$logs/$v.rc"
}
for v in $selected; do
  if [ "$v" != "$newest" ] && [ ! -d ".venv-versions/$v" ]; then
    echo "[versions] $v is not in requirements-versions.txt" >&2
    exit 2
  fi
done
# .venv's own release first: its group has the most checks (about 3x an older release's time)
launch="$(printf '%s\n' $selected | grep -Fx "$newest" || true)"
launch="$launch $(printf '%s\n' $selected | grep -Fvx "$newest" || true)"
for v in $launch; do
  while [ "$(jobs -rp | wc -l)" -ge "$workers" ]; do wait -n || true; done
  echo "[versions] ultralytics $v: started"
  run_release "$v" "$@" &
done
wait
status=0
for v in $selected; do
  echo "[versions] ultralytics $v"
  cat "$logs/$v.log"
  read -r code took < "$logs/$v.rc" || { code=1; took="?"; }
  echo "[versions] ultralytics $v: pytest exit $code in $took s"
  [ "$code" -eq 0 ] || status=1
done
rm -rf "$logs"
# The table reflects the whole matrix only: skip the check for a subset of releases or a pytest selection.
complete=1
[ "$selected" = "$all" ] || complete=0
for arg in "$@"; do
  case "$arg" in -q|-qq|-v|-vv|-x|--exitfirst|-s|-r*|--tb=*|--color=*|--durations=*) ;; *) complete=0 ;; esac
done
if [ "$complete" = "1" ] && [ "${YOLO_HYBRID_COMPAT_WRITE:-0}" = "1" ]; then
  .venv/bin/python scripts/compat_table.py --results "$results" --write
elif [ "$complete" = "1" ]; then
  .venv/bin/python scripts/compat_table.py --results "$results" --check || status=1
else
  echo "[versions] Compatibility table check skipped (a subset of releases or tests); results in $results"
fi
exit "$status"
