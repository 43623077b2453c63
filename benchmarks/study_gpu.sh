#!/usr/bin/env bash
# The accuracy study on one CUDA GPU: the YOLOv8, YOLO11 and YOLO26 sets (stock n and its BoT3, CoT, SMT, CMT forms),
# 3 seeds, 640 px, several models side by side on the card (--jobs), Ultralytics' default recipe (AMP on).
#   bash benchmarks/study_gpu.sh            # BCCD from ../shared/datasets, results in benchmarks/results/study_gpu_bccd.*
#   DATA=/abs/data.yaml NAME=mine EPOCHS=100 JOBS=6 BUDGET=45 bash benchmarks/study_gpu.sh
# BUDGET (minutes, default 6) stops starting runs so one call fits a machine lent for 10 minutes; runs under way
# finish, the rest start when the same command runs again (finished runs are skipped, killed ones resume).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${DATA:-$(cd .. && pwd)/shared/datasets/bccd/data.yaml}"
NAME="${NAME:-bccd}"
PY="${PY:-python}"
[ -x .venv/bin/python ] && PY=.venv/bin/python
exec "$PY" -m yolo_hybrid.study --data "$DATA" --sets yolov8 yolo11 yolo26 --imgsz 640 --epochs "${EPOCHS:-60}" \
  --seeds 0 1 2 --device "${DEVICE:-0}" --jobs "${JOBS:-8}" --budget-minutes "${BUDGET:-6}" \
  --out "benchmarks/results/study_gpu_${NAME}" --workdir "${WORKDIR:-/tmp/yolo_hybrid_study_gpu_${NAME}}" \
  --credit "${CREDIT:-BCCD dataset (Shenggan, public GitHub repository Shenggan/BCCD_Dataset), MIT license}"
