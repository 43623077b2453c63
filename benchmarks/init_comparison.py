"""Does the papers' initialisation train faster? One family's detector trained briefly on the synthetic shapes, same
seed and budget, with whichever yolo_hybrid is importable; run it once per code version and compare the JSONs.

    python benchmarks/init_comparison.py --label after  --out benchmarks/results/init_after.json
    PYTHONPATH=<checkout of the older code> python benchmarks/init_comparison.py --label before --out ...
    python benchmarks/init_comparison.py --compare benchmarks/results/init_before.json \
        benchmarks/results/init_after.json

Per config: mAP50-95 on the validation images after every epoch and the final training loss (Ultralytics' own
validator, ``results.csv``). 96 training and 32 validation images, imgsz 160, batch 16, CPU, seeds given by --seeds.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import tempfile
from pathlib import Path

from yolo_hybrid.integration.offline import prepare_offline

WORK = Path(tempfile.mkdtemp(prefix="yolo_hybrid_init_"))
prepare_offline(WORK / "ultralytics_config")
os.environ.setdefault("YOLO_VERBOSE", "False")


def run(configs: list[str], epochs: int, seeds: list[int]) -> dict:
    from ultralytics import YOLO

    import yolo_hybrid
    from yolo_hybrid.data import make_dataset

    data = make_dataset(WORK / "shapes", task="detect", n_train=96, n_val=32, seed=0)
    results = {}
    for cfg in configs:
        for seed in seeds:
            name = f"{Path(cfg).stem}-s{seed}"
            YOLO(cfg).train(
                data=str(data),
                epochs=epochs,
                imgsz=160,
                batch=16,
                workers=0,
                device="cpu",
                plots=False,
                project=str(WORK / "runs"),
                name=name,
                exist_ok=True,
                verbose=False,
                seed=seed,
                deterministic=True,
            )
            with open(WORK / "runs" / name / "results.csv") as f:
                rows = [{k.strip(): v for k, v in row.items()} for row in csv.DictReader(f)]
            results[name] = {
                "config": cfg,
                "seed": seed,
                "map50_95": [float(r["metrics/mAP50-95(B)"]) for r in rows],
                "box_loss": [float(r["train/box_loss"]) for r in rows],
            }
            print(f"{name}: mAP50-95 by epoch {[round(v, 3) for v in results[name]['map50_95']]}", flush=True)
    return {
        "yolo_hybrid": getattr(yolo_hybrid, "__version__", "?"),
        "code": str(Path(yolo_hybrid.__file__).parent),
        "epochs": epochs,
        "results": results,
    }


def compare(before: dict, after: dict) -> str:
    lines = [
        "| config | seed | mAP50-95 before (epochs 5, 10, last) | after | box loss last, before / after |",
        "|---|---|---|---|---|",
    ]
    for name, a in after["results"].items():
        b = before["results"].get(name)
        if b is None:
            continue

        def pick(v):
            return ", ".join(f"{v[i]:.3f}" for i in (4, 9, len(v) - 1) if i < len(v))

        lines.append(
            f"| {a['config']} | {a['seed']} | {pick(b['map50_95'])} | {pick(a['map50_95'])} | "
            f"{b['box_loss'][-1]:.3f} / {a['box_loss'][-1]:.3f} |"
        )
    deltas = [
        after["results"][n]["map50_95"][-1] - before["results"][n]["map50_95"][-1]
        for n in after["results"]
        if n in before["results"]
    ]
    if deltas:
        lines.append(f"\nmean change of final mAP50-95: {statistics.mean(deltas):+.3f} over {len(deltas)} runs")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=["yolov8n-cot.yaml", "yolov8n-smt.yaml", "yolov8n-cmt.yaml"])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--label", default="run")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.compare:
        print(compare(*(json.loads(p.read_text()) for p in args.compare)))
        return
    report = {"label": args.label, **run(args.configs, args.epochs, args.seeds)}
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
