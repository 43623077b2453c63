"""Deployment matrix: each bundled config next to the stock model of the same task, in every export target, one run.

    python benchmarks/deploy.py [--tasks detect segment ...] [--families bot3 cot smt cmt] [--targets onnx ncnn ...]
                                [--generation yolov8|yolo11|yolo26] [--epochs 30] [--imgsz 160] [--docs]
    python benchmarks/deploy.py --render benchmarks/results/deploy.json --docs [--check]

Per task, the stock model of the generation (YOLOv8n by default) and our configs at scale n are trained briefly on the
synthetic data of that task (so there are predictions to compare), then each is exported by Ultralytics' exporter to
each target whose toolchain is importable here and run through Ultralytics' AutoBackend
(``yolo_hybrid.integration.deploy.check_target``). Per cell:
exported or the converter's error, the largest absolute difference of the raw output from the fused PyTorch model on a
fixed input, whether the predictions on the validation images are the same, and the file size. Int8 targets calibrate
on the training images and report their drift only: the same difference, and how many of PyTorch's predictions they
find again (same class, IoU >= 0.5), next to the stock model's, with no parity claim.
Writes ``benchmarks/results/deploy.json`` and ``deploy.md``; ``--docs`` also replaces the table of docs/deployment.md
(between ``<!-- deploy-table:start -->`` and ``<!-- deploy-table:end -->``). ``--render JSON --docs --check`` writes
nothing and exits 1 if the page's table is not the one that JSON gives (checked by tests/test_generated.py).
Run it in the deploy venv (``scripts/setup_deploy.sh``) for the heavy toolchains; targets not installed are listed as
such.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from yolo_hybrid.integration.offline import prepare_offline

HERE = Path(__file__).resolve().parent
WORK = Path(tempfile.mkdtemp(prefix="yolo_hybrid_deploy_"))
prepare_offline(WORK / "ultralytics_config")
os.environ.setdefault("YOLO_VERBOSE", "False")

from yolo_hybrid.data import make_dataset  # noqa: E402
from yolo_hybrid.integration.deploy import MATCH_IOU, STOCK_PREFIX, TARGETS, TOLERANCE, Outcome, available, deploys  # noqa: E402

sys.path.insert(0, str(HERE.parent / "tools"))
from generated import update  # noqa: E402  (tools/generated.py: the shared writer of generated sections)

PAGE = HERE.parent / "docs" / "deployment.md"


def train(cfg: str, data: Path, epochs: int, imgsz: int, project: Path) -> str:
    """Train ``cfg`` briefly; returns the weights file (or the config itself when ``epochs`` is 0)."""
    if epochs <= 0:
        return cfg
    from ultralytics import YOLO

    YOLO(cfg).train(
        data=str(data),
        epochs=epochs,
        imgsz=imgsz,
        batch=16,
        workers=0,
        device="cpu",
        plots=False,
        val=False,
        project=str(project),
        name=Path(cfg).stem,
        exist_ok=True,
        verbose=False,
        seed=0,
    )
    return str(Path(project) / Path(cfg).stem / "weights" / "last.pt")


def calibration_data(data: Path, task: str) -> Path:
    """A copy of the dataset YAML whose ``val`` split is the training images, which int8 exports calibrate on.

    The predictions are compared on the validation images, so calibration never sees them. Classification datasets
    are folders and are passed as they are (their int8 exports calibrate on the validation images).
    """
    if task == "classify":
        return data
    from ultralytics.utils import YAML

    spec = YAML.load(data)
    path = Path(data).with_name("calibration.yaml")
    YAML.save(path, {**spec, "val": spec["train"]})
    return path


def cell(outcome: dict | None, target) -> str:
    """One Markdown cell: ok with diff, predictions compared and size, or what failed."""
    if outcome is None:
        return "not installed"
    if not outcome["exported"]:
        return "export fails" if outcome["error"].startswith("export") else "fails (see below)"
    if not target.runs_on_linux:
        return f"exports, {outcome['size_mb']:.1f} MB (runs on macOS)"
    if not outcome["ran"]:
        return "exports, fails to run"
    if target.int8:
        found = "" if outcome["found"] is None else f", {outcome['found']}/{outcome['predictions']} boxes found"
        return f"runs, drift {outcome['max_abs_diff']:.0e}{found}, {outcome['size_mb']:.1f} MB"
    ok = deploys(Outcome(**outcome))
    n = outcome["predictions"]
    same = (
        ""
        if outcome["same_predictions"] is None
        else (f", same {n} boxes" if outcome["same_predictions"] else f", **other boxes** (PyTorch {n})")
    )
    return f"{'ok' if ok else '**differs**'} {outcome['max_abs_diff']:.0e}{same}, {outcome['size_mb']:.1f} MB"


def markdown(results: list[dict], targets: list[str]) -> str:
    """Targets as rows, models as columns; then the converters' error messages."""
    lines = [
        "| target | " + " | ".join(row["model"] + (" (stock)" if row["stock"] else "") for row in results) + " |",
        "|---|" + "---|" * len(results),
    ]
    for t in targets:
        lines.append(f"| `{t}` | " + " | ".join(cell(row["targets"].get(t), TARGETS[t]) for row in results) + " |")
    if any(TARGETS[t].int8 for t in targets):
        note = (
            f"`*-int8` rows are drift, not parity: the same largest raw-output difference from the fused float "
            f"PyTorch model, and how many of PyTorch's predictions the int8 model finds again (same class, IoU >= "
            f"{MATCH_IOU}). `onnx-int8`, `openvino-int8` and `litert-int8` quantize weights and activations, "
            f"calibrated on the training images; `mnn-int8` stores int8 weights and computes in float."
        )
        lines += ["", *textwrap.wrap(note, 120, break_on_hyphens=False)]
    errors = [(row["model"], t, o["error"]) for row in results for t, o in row["targets"].items() if o and o["error"]]
    if errors:
        lines += ["", "Errors, as the converters report them (last lines):", ""]
        lines += [f"- {model} / `{t}`: `{' '.join(error.split())[-300:]}`" for model, t, error in errors]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=["detect"], choices=list(STOCK_PREFIX))
    parser.add_argument("--families", nargs="+", default=["bot3", "cot", "smt", "cmt"])
    parser.add_argument("--targets", nargs="+", default=list(TARGETS), choices=list(TARGETS))
    parser.add_argument(
        "--generation",
        default="yolov8",
        choices=["yolov8", "yolo11", "yolo26"],
        help="the stock models and our configs of this YOLO generation",
    )
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--imgsz", type=int, default=160)
    parser.add_argument("--train-images", type=int, default=64)
    parser.add_argument(
        "--conf",
        type=float,
        default=0.05,
        help="threshold of the prediction comparison; every box above it must match, which implies "
        "the same boxes at any higher threshold (NMS is greedy by score)",
    )
    parser.add_argument("--timeout", type=float, default=600, help="seconds per export and check (a hung runtime)")
    parser.add_argument("--out", default=str(HERE / "results" / "deploy.json"))
    parser.add_argument(
        "--docs", "--readme", dest="docs", action="store_true", help="replace the table of docs/deployment.md"
    )
    parser.add_argument("--render", default=None, help="only write the Markdown (and --docs) from this JSON")
    parser.add_argument("--check", action="store_true", help="with --render: exit 1 if the page's table is stale")
    args = parser.parse_args(argv)
    if args.check and not args.render:
        parser.error("--check needs --render JSON")
    if args.render:
        report = json.loads(Path(args.render).read_text())
        if args.check:
            table = markdown(report["results"], list(report["results"][0]["targets"]) if report["results"] else [])
            fix = f"python benchmarks/deploy.py --render {args.render} --docs"
            return update(PAGE, {"deploy-table": table}, check=True, fix=fix)
        return publish(report, Path(args.render), args.docs)
    import ultralytics

    from yolo_hybrid.integration.deploy import check_target_isolated

    installed = [t for t in args.targets if available(TARGETS[t])]
    missing = sorted(set(args.targets) - set(installed))
    print(f"targets here: {', '.join(installed)}" + (f"; not installed: {', '.join(missing)}" if missing else ""))
    results, start = [], time.perf_counter()
    for task in args.tasks:
        data = make_dataset(WORK / task, task, n_train=args.train_images, n_val=8, imgsz=args.imgsz)
        folder = Path(data) if Path(data).is_dir() else Path(data).parent
        images = sorted(str(p) for p in (folder / ("val" if task == "classify" else "images/val")).rglob("*.jpg"))[:4]
        calibration = calibration_data(data, task)
        prefix = STOCK_PREFIX[task].replace("yolov8", args.generation)
        stock = f"{prefix}.yaml"
        configs = [stock] + [f"{prefix}-{family}.yaml" for family in args.families]
        for cfg in configs:
            model = train(cfg, data, args.epochs, args.imgsz, WORK / "runs" / task)  # each target in a child process
            row = {"task": task, "model": cfg.replace(".yaml", ""), "stock": cfg == stock, "targets": {}}
            for name in args.targets:
                if name in missing:
                    row["targets"][name] = None
                    continue
                outcome = check_target_isolated(
                    model,
                    name,
                    imgsz=args.imgsz,
                    workdir=WORK / "export" / task / cfg,
                    images=images,
                    conf=args.conf,
                    name=cfg,
                    data=calibration,
                    timeout=args.timeout,
                ).as_dict()
                row["targets"][name] = outcome
                print(
                    f"[{time.perf_counter() - start:7.1f} s] {cfg:28s} {name:20s} {cell(outcome, TARGETS[name])}"
                    + (f"  ({outcome['error'][:160]})" if outcome["error"] else ""),
                    flush=True,
                )
            results.append(row)
    report = {
        "ultralytics": ultralytics.__version__,
        "python": platform.python_version(),
        "imgsz": args.imgsz,
        "generation": args.generation,
        "conf": args.conf,
        "epochs": args.epochs,
        "tolerance": TOLERANCE,
        "installed": installed,
        "results": results,
    }
    return publish(report, Path(args.out), args.docs)


def publish(report: dict, out: Path, docs: bool) -> int:
    """Write the JSON report, its Markdown table, and (``docs``) the table of docs/deployment.md."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    targets = list(report["results"][0]["targets"]) if report["results"] else []
    table = markdown(report["results"], targets)
    out.with_suffix(".md").write_text(table)
    print("\n" + table + f"\nwritten: {out}, {out.with_suffix('.md')}")
    if docs:
        update(PAGE, {"deploy-table": table})
    return 0


if __name__ == "__main__":
    sys.exit(main())
