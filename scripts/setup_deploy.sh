#!/usr/bin/env bash
# Create .venv-deploy (once): the pinned CPU export toolchains of requirements-deploy.txt (OpenVINO, NCNN/PNNX, MNN,
# LiteRT, ExecuTorch, TensorFlow/onnx2tf, PaddlePaddle/X2Paddle, CoreML tools) in a venv that reuses torch,
# torchvision, Ultralytics and the editable yolo_hybrid of .venv (scripts/setup.sh) instead of a second 5 GB torch.
# Nothing is written into .venv. First time: ~1.4 GB download, ~2-4 min, 4.6 GB; later runs skip the install when
# requirements-deploy.txt and this script are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
V=.venv-deploy
stamp=$V/.yolo_hybrid-deploy-stamp
want="$(cat requirements-deploy.txt scripts/setup_deploy.sh scripts/deploy_guard.py | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "[setup-deploy] installing export toolchains into $V (first time: ~1.4 GB download, 4.6 GB)"
  base=$(.venv/bin/python -c 'import sys; print(sys._base_executable)')
  main_site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  [ -x $V/bin/python ] || "$base" -m venv $V
  site=$($V/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  sed "s#@MAIN_SITE@#$main_site#" scripts/deploy_guard.py > "$site/yolo_hybrid_deploy_guard.py"
  echo "import yolo_hybrid_deploy_guard" > "$site/yolo_hybrid_deploy.pth"
  pins=$(mktemp)
  printf 'torch==2.14.1\ntorchvision==0.29.1\n' > "$pins"  # the main venv's: pip must never fetch another torch
  export YOLO_HYBRID_ALLOW_PIP=1
  $V/bin/python -m pip install --disable-pip-version-check -q -c "$pins" pip==26.3
  $V/bin/python -m pip install --disable-pip-version-check -q -c "$pins" -r requirements-deploy.txt \
    2> >(grep -v "outside environment" >&2)
  $V/bin/python -m pip install --disable-pip-version-check -q -c "$pins" --no-deps onnx2tf==1.28.8
  rm -f "$pins"
  echo "$want" > "$stamp"
fi
$V/bin/python - <<'PY'
import torch, ultralytics, ultralytics.nn.tasks, yolo_hybrid
for name, module in (("torch", torch), ("ultralytics", ultralytics)):
    assert "/.venv/" in module.__file__, f"{name} should come from .venv, not {module.__file__}"
assert hasattr(ultralytics.nn.tasks, "BoT3"), "the start-up hook of .venv did not register yolo_hybrid's blocks"
print(f"[setup-deploy] torch {torch.__version__}, ultralytics {ultralytics.__version__} and yolo_hybrid reused from .venv")
PY
