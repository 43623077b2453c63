#!/usr/bin/env bash
# The main job, from a fresh clone: set up .venv, then train/validate/predict/export a BoT3 detector on synthetic data
# offline and run the ONNX model in onnxruntime without torch. Extra arguments go to examples/demo.py.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python examples/demo.py "$@"
