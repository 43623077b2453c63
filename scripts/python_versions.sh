#!/usr/bin/env bash
# The Python versions claimed in pyproject.toml (requires-python, classifiers), proven: scripts/wheel_smoke.sh (the
# built wheel in a clean venv of that interpreter: pinned stack, offline `yolo train`/export, ONNX Runtime) once per
# interpreter, one after the other; the outcome is written to benchmarks/results/python_versions.json (date, commit,
# interpreter, versions installed, pass/fail, seconds), which the docs cite. Needs .venv (scripts/setup.sh) for the
# build tools. Exits non-zero if any interpreter fails.
#   bash scripts/python_versions.sh                        every supported version: 3.10, 3.11, 3.12, 3.13
#   bash scripts/python_versions.sh /path/to/python3.12    these interpreters instead
#   YOLO_HYBRID_PYTHONS="3.10 3.13"                        these versions (python3.X on PATH, else pyenv's newest 3.X)
# Pythons other than 3.11 download torch (a 555 MB wheel per version; no pip cache was kept on this machine). Last run
# (all four passed, 3-7 min each on a loaded 2-core machine, deleting each 6 GB venv included): see the JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results/python_versions.json
find_python() {  # find_python 3.X: an interpreter of that version
  local v=$1 p
  if p=$(command -v "python$v" 2>/dev/null) && "$p" -c 'import sys; sys.exit(0)' 2>/dev/null; then
    echo "$p"
    return
  fi
  p=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}/versions/$v".*/bin/python 2>/dev/null | sort -V | tail -n 1)
  [ -n "$p" ] && echo "$p"
}
if [ "$#" -gt 0 ]; then
  pythons=("$@")
else
  pythons=()
  for v in ${YOLO_HYBRID_PYTHONS:-3.10 3.11 3.12 3.13}; do
    if p=$(find_python "$v"); then
      pythons+=("$p")
    else
      echo "[python_versions] no Python $v found (python$v on PATH or pyenv): recorded as missing" >&2
      pythons+=("python$v")
    fi
  done
fi
records=$(mktemp -d "${TMPDIR:-/tmp}/yolo_hybrid_python_versions.XXXXXX")
trap 'rm -rf "$records"' EXIT
failed=0
k=0
for py in "${pythons[@]}"; do
  k=$((k + 1))
  start=$SECONDS
  # Pins of requirements-dev.txt with no wheel for an older Python, left to pip there (recorded in the JSON):
  # onnxruntime 1.31.1 has none for 3.10 (its newest there is 1.23.2).
  case "$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" in
    3.10) unpin=onnxruntime ;;
    *) unpin="" ;;
  esac
  echo "[python_versions] $py${unpin:+ (unpinned: $unpin)}"
  set +e
  PYTHON="$py" YOLO_HYBRID_WHEEL_SMOKE_UNPIN="$unpin" YOLO_HYBRID_WHEEL_SMOKE_REPORT="$records/$k.versions.json" \
    bash scripts/wheel_smoke.sh 2>&1 |
    tee "$records/$k.log"
  code=${PIPESTATUS[0]}
  set -e
  [ "$code" -eq 0 ] || failed=1
  printf '%s\n%s\n%s\n%s\n' "$py" "$code" "$((SECONDS - start))" "$unpin" > "$records/$k.run"
done
.venv/bin/python - "$records" "$k" "$out" <<'PY'
import datetime
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

records, count, out = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
runs = []
for k in range(1, count + 1):
    interpreter, code, seconds, unpinned = (records / f"{k}.run").read_text().split("\n")[:4]
    versions_file = records / f"{k}.versions.json"
    run = {"interpreter": interpreter, "result": "pass" if code == "0" else "fail", "seconds": int(seconds)}
    run["unpinned"] = unpinned.split()
    if versions_file.exists():
        run.update(json.loads(versions_file.read_text()))
        run["interpreter"] = interpreter
    else:  # failed before the environment could report: the interpreter's own version, if it runs at all
        probe = subprocess.run(
            [interpreter, "-c", "import platform; print(platform.python_version())"], capture_output=True, text=True
        )
        run["python"] = probe.stdout.strip() or None
        log = (records / f"{k}.log").read_text(errors="replace").strip().splitlines()
        run["error"] = "\n".join(log[-15:])
    runs.append(run)
cpuinfo = Path("/proc/cpuinfo")
models = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
cpu = models[0] if models else os.uname().machine
project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
report = {
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    "commit": commit or None,
    "requires_python": project["requires-python"],
    "what": "scripts/wheel_smoke.sh per interpreter: python -m build, twine check, check-wheel-contents; the wheel "
    "with [export] in a clean venv pinned by requirements-dev.txt; offline yolo train (yolov8n-bot3.yaml, 1 epoch, "
    "64 px) and yolo export onnx outside the checkout; best.pt reloaded and validated, ONNX run in ONNX Runtime",
    "machine": f"{cpu}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end",
    "runs": runs,
}
out.write_text(json.dumps(report, indent=2) + "\n")
for run in runs:
    print(f"[python_versions] {run['result']:4} Python {run.get('python')} {run['seconds']:4d} s {run['interpreter']}")
print(f"[python_versions] written to {out}")
PY
exit "$failed"
