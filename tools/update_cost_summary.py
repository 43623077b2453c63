"""Write the "What they cost" summary of README.md from the committed benchmark
(``benchmarks/results/bench.json``, written by ``python -m yolo_hybrid.bench``): per block family, the ONNX Runtime
latency of each form (YOLOv8, YOLO11, YOLO26) as a ratio to the stock model it is built on, and the GFLOPs of the
YOLOv8 form as a ratio to yolov8, at one scale.

    python tools/update_cost_summary.py [--check] [--bench benchmarks/results/bench.json] [--scale n]

The ratios are the benchmark's own (``yolo_hybrid.bench._ratios``: times paired, the median over rounds of the ratio
within each round), the same figures as the brackets of its table and its E column. With --check nothing is written;
the exit code is 1 if the summary is stale (run by tests/test_generated.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from generated import ROOT, update

from yolo_hybrid.bench import REFERENCE, _ratios, base_family, check_report, scaled

PAGE = ROOT / "README.md"
BENCH = ROOT / "benchmarks" / "results" / "bench.json"
BASES = ("yolov8", "yolo11", "yolo26")  # the table's columns: the forms of each family, by the stock model under it
FAMILIES = {"bot3": "BoT", "cot": "CoT", "smt": "SMT", "cmt": "CMT"}
THREADS = {1: "one CPU thread", 2: "two CPU threads", 4: "four CPU threads"}
WIDTH = 120  # the README's prose width


def fill(text: str) -> str:
    return textwrap.fill(text, WIDTH, break_long_words=False, break_on_hyphens=False)


def to_base(report: dict, scale: str) -> dict[str, dict]:
    """``{family: ratios}`` at ``scale``: each config's figures over the stock model it is built on (``yolo26-cot``
    over ``yolo26``), as ``yolo_hybrid.bench`` computes them."""
    stock = {(r["family"], r["scale"]): r for r in report["rows"] if r["stock"]}
    out = {}
    for r in report["rows"]:
        if r["scale"] == scale and not r["stock"]:
            base = stock.get((base_family(r["family"]), scale))
            if base is None:
                raise SystemExit(f"{r['model']}: the benchmark has no stock {base_family(r['family'])} at {scale}")
            out[r["family"]] = _ratios(r, base)
    return out


def summary(report: dict, scale: str = "n") -> str:
    """The README's cost summary: the line naming the run, the table, and the sentence that reads it."""
    if report.get("quick"):
        raise SystemExit("the benchmark JSON is a --quick run (64 px, one round): it claims no timings")
    check_report(report)
    ratios = to_base(report, scale)
    names = {base: scaled(base, scale).removesuffix(".yaml") for base in BASES}

    def cell(family: str, key: str) -> str:
        value = ratios.get(family, {}).get(key)
        return "-" if value is None else f"{value:.2f}"

    threads = THREADS.get(report["threads"], f"{report['threads']} CPU threads")
    lines = [
        fill(
            f"**What they cost** (scale {scale}, {report['imgsz']} px, {threads}, {report['cpu']}; ONNX Runtime "
            "latency and Ultralytics' GFLOPs as ratios to the stock model each config is built on (latency paired: "
            f"the median over {report['runs']} rounds of the ratio within each round); full tables, training steps, "
            "memory and GPU in [Benchmarks](docs/benchmarks.md), from `python -m yolo_hybrid.bench`):"
        ),
        "",
        f"| family | YOLOv8{scale} form: latency × {names['yolov8']} | GFLOPs × {names['yolov8']} | "
        f"YOLO11{scale} form: latency × {names['yolo11']} | YOLO26{scale} form: latency × {names['yolo26']} |",
        "|---|---:|---:|---:|---:|",
    ]
    for suffix, label in FAMILIES.items():
        v8, v11, v26 = (f"{base}-{suffix}" for base in BASES)
        lines.append(
            f"| {label} | {cell(v8, 'onnx_ms')} | {cell(v8, 'gflops')} | {cell(v11, 'onnx_ms')} | "
            f"{cell(v26, 'onnx_ms')} |"
        )
    v8 = {suffix: ratios.get(f"{REFERENCE}-{suffix}", {}).get("onnx_ms") for suffix in FAMILIES}
    later = [
        ratios[f"{base}-{suffix}"]["onnx_ms"]
        for base in BASES[1:]
        for suffix in FAMILIES
        if "onnx_ms" in ratios.get(f"{base}-{suffix}", {})
    ]
    if all(v is not None for v in v8.values()) and later:
        lines += [
            "",
            fill(
                f"In the YOLOv8 form, BoT and CoT cost {v8['bot3']:.2f}× and {v8['cot']:.2f}× the latency of "
                f"{names['yolov8']}, while SMT and CMT, which replace whole stages, cost {v8['smt']:.2f}× and "
                f"{v8['cmt']:.2f}×; every YOLO11 and YOLO26 form costs {min(later):.2f}× to {max(later):.2f}× its base."
            ),
        ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if the README's summary is not current")
    parser.add_argument("--bench", type=Path, default=BENCH, help="the benchmark JSON (default: the committed one)")
    parser.add_argument("--scale", default="n")
    args = parser.parse_args()
    body = summary(json.loads(args.bench.read_text()), args.scale)
    return update(PAGE, {"cost-summary": body}, check=args.check, fix="python tools/update_cost_summary.py")


if __name__ == "__main__":
    sys.exit(main())
