"""The main job, offline on CPU: synthetic data -> stock `yolo train` CLI -> val -> predict -> ONNX export ->
the standalone detector examples/deploy_onnxruntime.py (numpy, OpenCV, onnxruntime) in a process where torch,
Ultralytics and yolo_hybrid cannot be imported, checked against Ultralytics' predictor on the same ONNX file.

    python examples/demo.py [--model yolov8n-bot3.yaml] [--epochs 3] [--imgsz 160] [--workdir demo_run]

The `yolo` command is Ultralytics' own, unmodified: it sees BoT3 through yolo_hybrid's start-up hook.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def step(title: str, start: float) -> None:
    print(f"\n=== [{time.perf_counter() - start:6.1f} s] {title}", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="yolov8n-bot3.yaml")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--imgsz", type=int, default=160)
    parser.add_argument("--train-images", type=int, default=128)
    parser.add_argument("--workdir", default="demo_run")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    workdir = Path(args.workdir).resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    from yolo_hybrid.integration.offline import prepare_offline

    env = prepare_offline(workdir / "ultralytics_config")  # no network: see yolo_hybrid/integration/offline.py

    step("1/6 synthetic detection data", start)
    from yolo_hybrid.data import make_dataset

    data = make_dataset(workdir / "shapes", "detect", n_train=args.train_images, n_val=16, imgsz=args.imgsz)
    print(data)

    step(f"2/6 stock CLI: yolo train model={args.model}", start)
    yolo = shutil.which("yolo") or str(Path(sys.executable).with_name("yolo"))
    cmd = [
        yolo,
        "train",
        f"model={args.model}",
        f"data={data}",
        f"epochs={args.epochs}",
        f"imgsz={args.imgsz}",
        "batch=16",
        "workers=0",
        "device=cpu",
        "plots=False",
        f"project={workdir / 'runs'}",
        "name=train",
        "exist_ok=True",
        "seed=0",
    ]
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, env=env, check=True)
    weights = workdir / "runs" / "train" / "weights" / "best.pt"

    step("3/6 validate best.pt", start)
    from ultralytics import YOLO

    model = YOLO(weights)
    metrics = model.val(
        data=str(data),
        imgsz=args.imgsz,
        batch=16,
        device="cpu",
        plots=False,
        verbose=False,
        project=str(workdir / "runs"),
        name="val",
        exist_ok=True,
    )
    print(f"mAP50 {metrics.box.map50:.3f}  mAP50-95 {metrics.box.map:.3f}")

    step("4/6 predict", start)
    images = sorted((data.parent / "images" / "val").glob("*.jpg"))[:3]
    for result in model.predict([str(p) for p in images], imgsz=args.imgsz, conf=0.25, device="cpu", verbose=False):
        print(f"{Path(result.path).name}: {len(result.boxes)} boxes, classes {result.boxes.cls.int().tolist()}")

    step("5/6 export ONNX (dynamic shapes)", start)
    onnx_path = model.export(format="onnx", dynamic=True, imgsz=args.imgsz, device="cpu")
    print(onnx_path)

    step("6/6 standalone detector (numpy + OpenCV + onnxruntime; torch/ultralytics/yolo_hybrid unimportable)", start)
    child_env = dict(env, YOLO_HYBRID_NO_AUTOLOAD="1")
    detections_json = workdir / "deploy_onnxruntime.json"
    subprocess.run(
        [
            sys.executable,
            str(HERE / "deploy_onnxruntime.py"),
            str(onnx_path),
            *map(str, images),
            "--imgsz",
            str(args.imgsz),
            "--conf",
            "0.25",
            "--out-dir",
            str(workdir / "detections"),
            "--json",
            str(detections_json),
            "--forbid-torch",
        ],
        env=child_env,
        check=True,
    )
    standalone = json.loads(detections_json.read_text())
    exported = YOLO(onnx_path, task="detect")
    for image in images:  # the same ONNX file through Ultralytics' own predictor: same boxes expected
        reference = exported.predict(str(image), imgsz=args.imgsz, conf=0.25, device="cpu", verbose=False)[0]
        ours = standalone[str(image)]
        worst = max(
            (
                abs(a - b)
                for d, r in zip(ours, reference.boxes.xyxy.tolist(), strict=False)
                for a, b in zip(d["box"], r, strict=False)
            ),
            default=0.0,
        )
        same = len(ours) == len(reference.boxes) and [d["class"] for d in ours] == reference.boxes.cls.int().tolist()
        print(
            f"{image.name}: standalone {len(ours)} boxes, Ultralytics {len(reference.boxes)} boxes, same classes "
            f"{same}, largest corner difference {worst:.3f} px"
        )
        if not same or worst > 1.0:
            raise SystemExit("the standalone detector disagrees with Ultralytics' predictor")

    step("done", start)
    print(f"weights: {weights}\nonnx:    {onnx_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
