#!/usr/bin/env bash
# Install the older Ultralytics releases of requirements-versions.txt side by side for the version matrix
# (scripts/test_versions.sh), reusing .venv's torch, torchvision and everything else instead of one venv each:
#   .venv-versions/<version>/  one Ultralytics release, `pip install --no-deps --target` (about 5-9 MB each)
#   .venv-versions/_extras/    the small extra packages old releases import (tqdm, pandas, seaborn, py-cpuinfo) and
#                              onnxscript for their ONNX export on torch >= 2.9, also --no-deps (about 100 MB)
# A release is selected with PYTHONPATH=.venv-versions/<version>:.venv-versions/_extras .venv/bin/python ...
# Nothing is written into .venv. Needs .venv (scripts/setup.sh). Idempotent: each directory carries a stamp of what
# it holds and is only (re)installed when requirements-versions.txt or this script changes; pip's cache is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  echo "[setup-versions] .venv is missing: run bash scripts/setup.sh first" >&2
  exit 1
fi
D=.venv-versions
REQ=requirements-versions.txt
mkdir -p "$D"
pip_target() {  # pip_target DIR SPEC...: a fresh --no-deps install of SPEC into DIR
  local dir=$1
  shift
  rm -rf "$dir"
  .venv/bin/python -m pip install --disable-pip-version-check -q --no-deps --no-warn-script-location \
    --target "$dir" "$@" 2> >(grep -v -e "^WARNING: Location" -e "is ignored: it is neither" >&2)
}
script_hash=$(sha256sum scripts/setup_versions.sh | cut -d' ' -f1)
versions=$(sed -n 's/^ultralytics==\([^ #]*\).*/\1/p' "$REQ")
extras=$(grep -v -e '^#' -e '^ultralytics==' -e '^[[:space:]]*$' "$REQ" | sed 's/[[:space:]]*#.*//')
installed=()
for v in $versions; do
  want="ultralytics==$v $script_hash"
  if [ "$(cat "$D/$v/.stamp" 2>/dev/null)" != "$want" ]; then
    echo "[setup-versions] installing ultralytics==$v into $D/$v"
    pip_target "$D/$v" "ultralytics==$v"
    echo "$want" > "$D/$v/.stamp"
    installed+=("$v")
  fi
done
want="$(echo $extras) $script_hash"
if [ "$(cat "$D/_extras/.stamp" 2>/dev/null)" != "$want" ]; then
  echo "[setup-versions] installing into $D/_extras: $(echo $extras)"
  pip_target "$D/_extras" $extras
  echo "$want" > "$D/_extras/.stamp"
  installed=($versions)  # every release uses _extras
fi
for old in "$D"/[0-9]*; do  # releases no longer in the matrix
  [ -d "$old" ] || continue
  case " $(echo $versions) " in *" $(basename "$old") "*) ;; *) echo "[setup-versions] removing $old"; rm -rf "$old" ;; esac
done
# After an install: each release must import from its own directory over .venv's torch, register our blocks through
# .venv's start-up hook, and find its extras (a missing dependency of an extra would show up here).
for v in "${installed[@]}"; do
  if ! log=$(PYTHONPATH="$PWD/$D/$v:$PWD/$D/_extras${PYTHONPATH:+:$PYTHONPATH}" YOLO_OFFLINE=1 \
      YOLO_CONFIG_DIR="$PWD/$D/_config" .venv/bin/python - "$v" "$PWD/$D" 2>&1 <<'PY'
import sys
expected, root = sys.argv[1], sys.argv[2]
import onnxscript, pandas, seaborn, torch, tqdm, cpuinfo  # noqa: F401,E401
import ultralytics
import ultralytics.nn.tasks as tasks
assert ultralytics.__version__ == expected and ultralytics.__file__.startswith(f"{root}/{expected}/"), ultralytics.__file__
assert "/.venv/" in torch.__file__, torch.__file__
assert hasattr(tasks, "BoT3"), "the start-up hook of .venv did not register yolo_hybrid's blocks"
print(f"[setup-versions] ultralytics {expected} OK over torch {torch.__version__}")
PY
  ); then
    echo "$log" >&2
    rm -rf "$D/$v/.stamp"
    echo "[setup-versions] ultralytics $v does not work from $D/$v (output above)" >&2
    exit 1
  fi
  echo "$log" | grep "^\[setup-versions\]"
done
rm -rf "$D/_config"
echo "[setup-versions] $D: ultralytics $(echo $versions) + _extras"
