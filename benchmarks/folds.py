"""What ``fuse()``'s folds of our blocks buy (``yolo_hybrid.nn.fold``): latency with and without them, one run.

    python benchmarks/folds.py [--configs yolov8n-smt.yaml yolov8n-cmt.yaml ...] [--imgsz 640] [--threads 1]
                               [--runs 15] [--json benchmarks/results/folds.json]

Per config, three models timed round by round in turn: stock yolov8 of the same scale (Ultralytics' ``fuse()``),
ours with Ultralytics' folds only, and ours with ours too (what ``fuse()`` does now). PyTorch (batch 1, eval,
inference mode) and ONNX Runtime (Ultralytics' static ONNX export of each, CPU provider). Prints a table of medians and
ratios to stock, writes JSON.
"""

from __future__ import annotations

import contextlib
import copy
import statistics
import sys
import time

from common import arguments, prepare, write_report

CONFIGS = ("yolov8n-smt.yaml", "yolov8n-cmt.yaml", "yolov8s-smt.yaml", "yolov8s-cmt.yaml")


@contextlib.contextmanager
def folds_off():
    """``fuse()`` with Ultralytics' folds only (``fuse_blocks`` made a no-op)."""
    from yolo_hybrid.integration import fuse

    original = fuse.fuse_blocks
    fuse.fuse_blocks = lambda model: 0
    try:
        yield
    finally:
        fuse.fuse_blocks = original


def stock_of(cfg: str) -> str:
    return cfg.split("-")[0] + ".yaml"


def main() -> int:
    parser = arguments(__doc__, CONFIGS, 15, "folds.json")
    parser.add_argument("--no-onnx", action="store_true")
    args = parser.parse_args()
    workdir = prepare("folds", args.threads)
    import torch
    from ultralytics import YOLO

    from yolo_hybrid.bench import onnx_session

    for sub in ("plain", "folded", "stock"):
        (workdir / sub).mkdir()
    x = torch.rand(1, 3, args.imgsz, args.imgsz)
    subjects = {}  # (cfg, variant) -> (model, session)
    for cfg in args.configs:
        built = YOLO(cfg).model.eval()
        with folds_off():
            plain = copy.deepcopy(built).fuse(verbose=False).eval()
            plain_onnx = None if args.no_onnx else onnx_session(cfg, args.imgsz, args.threads, workdir / "plain")
        folded = copy.deepcopy(built).fuse(verbose=False).eval()
        folded_onnx = None if args.no_onnx else onnx_session(cfg, args.imgsz, args.threads, workdir / "folded")
        stock = stock_of(cfg)
        if (stock, "stock") not in subjects:
            subjects[(stock, "stock")] = (
                YOLO(stock).model.fuse(verbose=False).eval(),
                None if args.no_onnx else onnx_session(stock, args.imgsz, args.threads, workdir / "stock"),
            )
        subjects[(cfg, "Ultralytics folds only")] = (plain, plain_onnx)
        subjects[(cfg, "with ours")] = (folded, folded_onnx)
        with torch.inference_mode():
            diff = (plain(x)[0] - folded(x)[0]).abs().max().item()
        print(f"{cfg}: largest output difference, folded vs not: {diff:.2e}", flush=True)
    times = {key: {"torch": [], "onnx": []} for key in subjects}
    with torch.inference_mode():
        for round_ in range(args.warmup + args.runs):
            for key, (model, session) in subjects.items():
                start = time.perf_counter()
                model(x)
                torch_ms = (time.perf_counter() - start) * 1e3
                onnx_ms = None
                if session is not None:
                    feed = {session.get_inputs()[0].name: x.numpy()}
                    start = time.perf_counter()
                    session.run(None, feed)
                    onnx_ms = (time.perf_counter() - start) * 1e3
                if round_ >= args.warmup:
                    times[key]["torch"].append(torch_ms)
                    if onnx_ms is not None:
                        times[key]["onnx"].append(onnx_ms)
            print(f"  round {round_ + 1}/{args.warmup + args.runs}", end="\r", flush=True)
    rows = []
    for (cfg, variant), t in times.items():
        stock = times[(stock_of(cfg), "stock")] if variant != "stock" else t
        row = {"model": cfg, "variant": variant}
        for runtime in ("torch", "onnx"):
            if t[runtime]:
                row[f"{runtime}_ms"] = statistics.median(t[runtime])
                row[f"{runtime}_ratio"] = row[f"{runtime}_ms"] / statistics.median(stock[runtime])
        rows.append(row)
    print(f"\n{'model':<20}{'fuse()':<26}{'PyTorch ms':>12}{'x stock':>9}{'ORT ms':>10}{'x stock':>9}")
    for r in rows:
        onnx = f"{r['onnx_ms']:>10.1f}{r['onnx_ratio']:>9.2f}" if "onnx_ms" in r else ""
        print(f"{r['model']:<20}{r['variant']:<26}{r['torch_ms']:>12.1f}{r['torch_ratio']:>9.2f}{onnx}")
    write_report(args, rows, torch=torch.__version__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
