"""What exporting attention in blocks of query rows buys in ONNX Runtime (``yolo_hybrid.nn.query_blocks``), one run.

    python benchmarks/query_blocks.py [--configs yolov8n-cmt.yaml ...] [--imgsz 640] [--threads 1] [--runs 20]
                                      [--json benchmarks/results/query_blocks.json]

Per config, one model (one set of weights) exported twice with Ultralytics' static ONNX export: attention over the
whole map in one block (``YOLO_HYBRID_ATTENTION_BLOCK_BYTES=0``, as before) and in blocks (the default). Both run in
ONNX Runtime (CPU provider, fixed threads) round by round in turn with stock YOLO of the same generation and scale.
Prints medians, ratios to stock, the paired ratio blocks/whole (median over rounds of the per-round ratio, which
cancels slow spells of a shared machine) and the largest output difference; writes JSON.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

from common import arguments, prepare, write_report

CONFIGS = (
    "yolov8n-cmt.yaml",
    "yolov8n-smt.yaml",
    "yolo11n-cmt.yaml",
    "yolo26n-cmt.yaml",
    "yolov8s-cmt.yaml",
    "yolov8s-smt.yaml",
)


@contextlib.contextmanager
def environment(name: str, value: str):
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name)
        else:
            os.environ[name] = previous


def main() -> int:
    args = arguments(__doc__, CONFIGS, 20, "query_blocks.json").parse_args()
    workdir = prepare("blocks", args.threads)
    import numpy as np
    import onnxruntime
    from ultralytics import YOLO

    from yolo_hybrid.bench import base_family, keep_freed_memory, onnx_session
    from yolo_hybrid.nn.query_blocks import BLOCK_BYTES, BLOCK_BYTES_ENV

    memory = keep_freed_memory()
    sessions, diffs = {}, {}
    stock_of = {cfg: base_family(Path(cfg).stem) + ".yaml" for cfg in args.configs}  # yolov8n-cmt -> yolov8n.yaml
    x = np.random.default_rng(0).random((1, 3, args.imgsz, args.imgsz), dtype=np.float32)
    for cfg in args.configs:
        model = YOLO(cfg)
        for variant, value in (("whole map", "0"), ("blocks", str(BLOCK_BYTES))):
            folder = workdir / variant.replace(" ", "_")
            folder.mkdir(exist_ok=True)
            weights = folder / Path(cfg).with_suffix(".pt").name  # the export is written next to it
            model.save(weights)
            with environment(BLOCK_BYTES_ENV, value):
                sessions[(cfg, variant)] = onnx_session(str(weights), args.imgsz, args.threads, folder)
        stock = stock_of[cfg]
        if (stock, "stock") not in sessions:
            folder = workdir / "stock"
            folder.mkdir(exist_ok=True)
            sessions[(stock, "stock")] = onnx_session(stock, args.imgsz, args.threads, folder)
        outputs = [
            sessions[(cfg, v)].run(None, {sessions[(cfg, v)].get_inputs()[0].name: x})[0]
            for v in ("whole map", "blocks")
        ]
        diffs[cfg] = float(np.abs(outputs[0] - outputs[1]).max())
        print(f"{cfg}: largest output difference, blocks vs whole map: {diffs[cfg]:.2e}", flush=True)
    times = {key: [] for key in sessions}
    for round_ in range(args.warmup + args.runs):
        for key, session in sessions.items():
            feed = {session.get_inputs()[0].name: x}
            start = time.perf_counter()
            session.run(None, feed)
            if round_ >= args.warmup:
                times[key].append((time.perf_counter() - start) * 1e3)
        print(f"  round {round_ + 1}/{args.warmup + args.runs}", end="\r", flush=True)
    rows = []
    for cfg in args.configs:
        stock = statistics.median(times[(stock_of[cfg], "stock")])
        whole, blocks = times[(cfg, "whole map")], times[(cfg, "blocks")]
        rows.append(
            {
                "model": cfg,
                "stock": stock_of[cfg],
                "stock_ms": stock,
                "whole_ms": statistics.median(whole),
                "blocks_ms": statistics.median(blocks),
                "whole_ratio": statistics.median(whole) / stock,
                "blocks_ratio": statistics.median(blocks) / stock,
                "paired_blocks_over_whole": statistics.median(b / w for b, w in zip(blocks, whole, strict=False)),
                "max_abs_diff": diffs[cfg],
            }
        )
    print(
        f"\n{'model':<20}{'stock ms':>10}{'whole ms':>10}{'x stock':>9}{'blocks ms':>11}{'x stock':>9}"
        f"{'blocks/whole':>14}{'max diff':>10}"
    )
    for r in rows:
        print(
            f"{r['model']:<20}{r['stock_ms']:>10.1f}{r['whole_ms']:>10.1f}{r['whole_ratio']:>9.2f}"
            f"{r['blocks_ms']:>11.1f}{r['blocks_ratio']:>9.2f}{r['paired_blocks_over_whole']:>14.3f}"
            f"{r['max_abs_diff']:>10.1e}"
        )
    write_report(args, rows, block_bytes=BLOCK_BYTES, onnxruntime=onnxruntime.__version__, memory=memory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
