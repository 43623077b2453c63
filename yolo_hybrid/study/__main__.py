"""``python -m yolo_hybrid.study``: the accuracy study of the bundled blocks against stock YOLO, resumable.

    nice -n 19 python -m yolo_hybrid.study --data /abs/path/data.yaml --sets yolov8 yolo26 --imgsz 320 --epochs 40 \\
        --seeds 0 1 2 --out benchmarks/results/study_bccd [--workdir DIR] [--device 0 --jobs 4] [--credit TEXT]
        [--budget-minutes M]

Run the same command again after a stop, a kill or a reboot: finished runs are skipped, an interrupted one resumes
from its ``last.pt``. ``--report-only`` rewrites the Markdown and the PNG from the JSON without training.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from yolo_hybrid.errors import YoloHybridError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m yolo_hybrid.study", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", help="dataset YAML (absolute path; Ultralytics' data=)")
    parser.add_argument("--sets", nargs="+", default=["yolov8"], help="yolov8, yolo11, yolo26: stock and its 4 forms")
    parser.add_argument("--configs", nargs="+", help="instead of --sets: model YAMLs (each with its stock base)")
    parser.add_argument("--scale", default="n")
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--device", default="cpu", help="Ultralytics' device: cpu, 0, ...")
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at once (side by side on one GPU)")
    parser.add_argument("--out", default="benchmarks/results/study", help="path stem of the .json, .md and .png")
    parser.add_argument("--workdir", help="run folders (default: <out>_runs next to the results)")
    parser.add_argument(
        "--bench",
        default="benchmarks/results/bench.json",
        help="benchmark JSON whose ONNX Runtime latency and GFLOPs the table and plot show",
    )
    parser.add_argument(
        "--budget-minutes",
        type=float,
        default=float("inf"),
        help="start no run after this many minutes (runs under way finish; rerun for the rest)",
    )
    parser.add_argument("--credit", default="", help="dataset credit printed under the table (license, source)")
    parser.add_argument("--report-only", action="store_true", help="rewrite .md and .png from the JSON, train nothing")
    return parser


def _write_report(report: dict, stem: Path, bench: str) -> dict:
    from yolo_hybrid.study.report import check_study, latency_from_bench, markdown, plot, summarize

    report["summary"] = summarize(report, latency_from_bench(bench))
    report["bench"] = str(bench)
    check_study(report)
    stem.with_suffix(".md").write_text(markdown(report))
    plot(report, stem.with_suffix(".png"))
    return report


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    stem = Path(args.out)
    stem.parent.mkdir(parents=True, exist_ok=True)
    if args.report_only:
        report = _write_report(json.loads(stem.with_suffix(".json").read_text()), stem, args.bench)
        stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
        print(stem.with_suffix(".md").read_text())
        return 0
    if not args.data:
        print(
            "python -m yolo_hybrid.study: --data is required (a dataset YAML; the study needs real images)",
            file=sys.stderr,
        )
        return 2
    from yolo_hybrid.integration.offline import prepare_offline

    workdir = Path(args.workdir or f"{stem}_runs").resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    prepare_offline(workdir / "ultralytics_config")  # children inherit YOLO_OFFLINE and the private config dir
    from yolo_hybrid.study.schedule import Study, base_config, dataset_fingerprint, study_configs

    try:
        configs = list(args.configs) if args.configs else study_configs(args.sets, args.scale)
        missing = sorted({base_config(c) for c in configs} - set(configs))
        if missing:
            raise YoloHybridError(f"--configs lacks the stock base of some models: add {' '.join(missing)}")
        data = str(Path(args.data).resolve())
        dataset = dataset_fingerprint(data)
        protocol = {
            "dataset": dataset,
            "imgsz": args.imgsz,
            "epochs": args.epochs,
            "batch": args.batch,
            "scale": args.scale,
            "device_type": "cpu" if args.device == "cpu" else "cuda",
            "recipe": "Ultralytics defaults, from scratch, no per-model setting",
            "credit": args.credit,
        }
        study = Study(
            configs,
            args.seeds,
            protocol,
            data,
            stem,
            workdir,
            args.device,
            args.jobs,
            has_test="test" in dataset["images"],
        )
    except YoloHybridError as e:
        print(f"python -m yolo_hybrid.study: {e}", file=sys.stderr)
        return 2
    failed = study.run(
        on_save=lambda report: _write_report(report, stem, args.bench), budget_s=args.budget_minutes * 60
    )
    print(stem.with_suffix(".md").read_text())
    print(f"wrote {stem}.json, {stem}.md, {stem}.png")
    if failed:
        print("failed runs: " + ", ".join(f"{c} seed {s}" for c, s in failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
