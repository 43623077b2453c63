#!/usr/bin/env bash
# Wheel smoke: what a user gets from `pip install yolo-hybrid[export]`, checked end to end with the stock `yolo` CLI.
#   1. python -m build: the sdist, then the wheel built from that sdist (as pip does from an sdist); twine check and
#      check-wheel-contents on both (tools pinned in requirements-dev.txt, run from .venv).
#   2. A clean virtual environment in a temp dir: the wheel (not editable) with its dependencies and the [export]
#      extra, constrained to requirements-dev.txt's pins (torch/torchvision as in development).
#   3. From a temp directory outside the checkout (the source tree cannot be imported), offline (YOLO_OFFLINE=1, a
#      private YOLO_CONFIG_DIR holding a local plot font, so Ultralytics downloads nothing): a tiny synthetic dataset,
#      `yolo train model=yolov8n-bot3.yaml ...` (1 epoch, 64 px) and `yolo export model=best.pt format=onnx` (no
#      "Downloading http" in their output); then Python asserts that the start-up hook ran, reloads best.pt, finds its
#      blocks from the installed yolo_hybrid (not the checkout), validates it and runs the ONNX model in ONNX Runtime.
# Everything is written under one temp dir, removed at the end (also on failure).
#   PYTHON=/path/to/python3.X        interpreter of the clean environment (default: python3); scripts/python_versions.sh
#   YOLO_HYBRID_WHEEL_SMOKE=0        skip (what scripts/test.sh honours)
#   YOLO_HYBRID_WHEEL_SMOKE_REPORT=f write a JSON line of the environment's versions to f on success
#   YOLO_HYBRID_WHEEL_SMOKE_UNPIN="a b" leave these pins of requirements-dev.txt to the resolver (a pin that has no
#                                    wheel for that Python: onnxruntime 1.31.1 on 3.10, see scripts/python_versions.sh)
#   YOLO_HYBRID_WHEEL_SMOKE_KEEP=1   keep the temp dir (its path is printed)
# Time on a shared 2-core machine: 175-350 s by load (most of it pip unpacking torch's 5.5 GB CUDA
# build, then three torch start-ups), plus 1-2 min deleting the venv; scripts/python_versions.sh records each run.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${YOLO_HYBRID_WHEEL_SMOKE:-1}" = "0" ]; then
  echo "[wheel_smoke] skipped (YOLO_HYBRID_WHEEL_SMOKE=0)"
  exit 0
fi
repo=$PWD
python="${PYTHON:-python3}"
start=$SECONDS
if [ ! -x .venv/bin/check-wheel-contents ] || [ ! -x .venv/bin/twine ]; then
  env -u PYTHON bash scripts/setup.sh  # the build tools of requirements-dev.txt (.venv keeps python3)
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/yolo_hybrid_wheel_smoke.XXXXXX")
if [ "${YOLO_HYBRID_WHEEL_SMOKE_KEEP:-0}" = "1" ]; then
  echo "[wheel_smoke] keeping $tmp"
else
  trap 'rm -rf "$tmp"' EXIT
fi
log="$tmp/log.txt"
step() {  # step NAME CMD...: run quietly into the log; on failure print the log's tail and stop
  local name=$1 t0=$SECONDS
  shift
  if ! "$@" >> "$log" 2>&1; then
    echo "[wheel_smoke] FAILED at $name ($python); last lines of the log:" >&2
    tail -n 60 "$log" >&2
    exit 1
  fi
  echo "[wheel_smoke] $name: $((SECONDS - t0)) s"
}
no_location_noise() {  # pip's warnings about this machine's local index dirs say nothing about the package
  "$@" 2> >(grep -v "^WARNING: Location" >&2)
}

# 1. Release artefacts
step build .venv/bin/python -m build --outdir "$tmp/dist" .
step "twine check" .venv/bin/twine check --strict "$tmp"/dist/*
step check-wheel-contents .venv/bin/check-wheel-contents "$tmp"/dist/*.whl
wheel=$(ls "$tmp"/dist/*.whl)

# 2. Clean environment: the wheel, its dependencies and [export], at requirements-dev.txt's versions
unpin="${YOLO_HYBRID_WHEEL_SMOKE_UNPIN:-}"
grep -E '^[A-Za-z0-9._-]+==' requirements-dev.txt | sed 's/[[:space:]]*#.*//' |
  grep -v -i -E "^(${unpin// /|})==" > "$tmp/constraints.txt" || true
if [ -n "$unpin" ]; then
  echo "[wheel_smoke] left to the resolver for $python: $unpin"
fi
step venv "$python" -m venv "$tmp/venv"
venv_python="$tmp/venv/bin/python"
step "pip install" no_location_noise "$venv_python" -m pip install --disable-pip-version-check --no-compile \
  -c "$tmp/constraints.txt" "${wheel}[export]"

# 3. Offline train / export with the stock CLI and a reload in Python, outside the checkout (own log: pip's output
# above may name downloads, Ultralytics' must not)
log="$tmp/log_offline.txt"
mkdir -p "$tmp/work"
cd "$tmp/work"
unset PYTHONPATH
export PYTHONNOUSERSITE=1 MPLCONFIGDIR="$tmp/mpl" YOLO_OFFLINE=1 YOLO_CONFIG_DIR="$tmp/ultralytics_config"
step dataset "$venv_python" -c "
import sys
from yolo_hybrid.data import make_dataset
from yolo_hybrid.integration.offline import prepare_offline
prepare_offline(sys.argv[1])  # the local plot font in the private config dir
print(make_dataset(sys.argv[2], task='detect', n_train=8, n_val=4, imgsz=64))
" "$YOLO_CONFIG_DIR" "$tmp/work/shapes"
data="$tmp/work/shapes/data.yaml"
yolo="$tmp/venv/bin/yolo"
step "yolo train" "$yolo" train model=yolov8n-bot3.yaml "data=$data" epochs=1 imgsz=64 batch=4 workers=0 device=cpu \
  "project=$tmp/work/runs" name=smoke exist_ok=True
best="$tmp/work/runs/smoke/weights/best.pt"
step "yolo export" "$yolo" export "model=$best" format=onnx imgsz=64
if grep -n "Downloading http" "$log"; then
  echo "[wheel_smoke] FAILED: Ultralytics downloaded something (above) although offline" >&2
  exit 1
fi
step "reload + val" "$venv_python" - "$best" "$data" "$repo" "$tmp/versions.json" "$python" <<'PY'
import json
import platform
import sys
from pathlib import Path

best, data, repo = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]).resolve()
versions_json, interpreter = sys.argv[4:]
assert "yolo_hybrid" in sys.modules, "the start-up hook (yolo_hybrid_autoload.pth) did not import yolo_hybrid"
import yolo_hybrid  # noqa: E402

where = Path(yolo_hybrid.__file__).resolve()
assert Path(sys.prefix).resolve() in where.parents, f"yolo_hybrid imported from {where}, not the clean environment"
assert repo not in where.parents, f"yolo_hybrid imported from the checkout: {where}"
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402
import torchvision  # noqa: E402
import ultralytics  # noqa: E402
from ultralytics import YOLO  # noqa: E402

model = YOLO(str(best))
ours = sorted({type(m).__name__ for m in model.model.modules() if type(m).__module__.startswith("yolo_hybrid.")})
assert ours, "best.pt holds no yolo_hybrid block"
metrics = model.val(data=data, imgsz=64, batch=4, workers=0, device="cpu", plots=False)
assert np.isfinite(metrics.box.map), "validation of best.pt gave no mAP"
onnx_path = best.with_suffix(".onnx")
session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
(out,) = session.run(None, {session.get_inputs()[0].name: np.zeros((1, 3, 64, 64), np.float32)})[:1]
assert np.isfinite(out).all(), "ONNX output not finite"
versions = {
    "python": platform.python_version(),
    "interpreter": interpreter,
    "yolo_hybrid": yolo_hybrid.__version__,
    "torch": torch.__version__,
    "torchvision": torchvision.__version__,
    "ultralytics": ultralytics.__version__,
    "onnxruntime": ort.__version__,
    "numpy": np.__version__,
}
print(f"yolo_hybrid blocks in best.pt: {', '.join(ours)}; val mAP50-95 {metrics.box.map:.4f}; ONNX out {out.shape}")
Path(versions_json).write_text(json.dumps(versions) + "\n")
PY
if [ -n "${YOLO_HYBRID_WHEEL_SMOKE_REPORT:-}" ]; then
  cp "$tmp/versions.json" "$YOLO_HYBRID_WHEEL_SMOKE_REPORT"
fi
v=$("$venv_python" -c "import json, sys; print(', '.join(f'{k} {v}' for k, v in json.load(open(sys.argv[1])).items() \
if k not in ('interpreter', 'numpy', 'onnxruntime')))" "$tmp/versions.json")
echo "[wheel_smoke] OK: wheel installed in a clean venv ($v): yolo train/val/export onnx offline, blocks from the" \
  "installed yolo_hybrid, in $((SECONDS - start)) s"
