"""What attention heads per channels (``d64``, ``d64<=8``, ``d32<=16``) buy the CMT and SMT configs, one run.

    python benchmarks/heads.py [--configs yolov8n-cmt.yaml ...] [--imgsz 640] [--threads 1] [--runs 20]
                               [--json benchmarks/results/heads.json]

Per config, two models: as shipped, and with every attention row set to the papers' fixed per-stage head counts
(CMT: 2, 4, 8 at P3, P4, P5 and 8 in C2CMT; SMT: 8 at P4, 16 at P5), which these configs had before. Both have the
same GFLOPs (the head count splits the query/key width; it does not change it) but not the same attention: the
logits, their bias and their softmax scale with heads x N x N_k. Where the shipped rows give the fixed counts (the
YOLOv8 configs at scale s: ``d64<=8`` is 8 at 512 channels) the two models are the same and their paired ratio shows
the run's noise. Each runs in eager PyTorch (after ``fuse()``) and in ONNX Runtime (Ultralytics' static ONNX export,
CPU provider, fixed threads), round by round in turn with stock YOLO of the same generation and scale. Prints
medians, E (latency ratio over the ratio of Ultralytics' GFLOPs, to stock, as ``python -m yolo_hybrid.bench``) and
the paired ratio shipped / fixed (median over rounds of the per-round ratio, which cancels slow spells of a shared
machine); writes JSON.
"""

from __future__ import annotations

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
    "yolo11s-cmt.yaml",
    "yolo26s-cmt.yaml",
)
# block -> (its heads argument, the papers' counts for its rows in file order)
FIXED_HEADS = {
    "CMTBlock": ("heads", (2, 4, 8)),
    "C3k2CMT": ("heads", (2, 4, 8)),
    "C2CMT": ("heads", (8,)),
    "SMTStage": ("msa_heads", (8,)),
    "MSABlock": ("heads", (16,)),
}


def fixed_heads_yaml(cfg: str, folder: Path) -> Path:
    """``cfg`` with every attention row's heads set to the papers' fixed counts, written in ``folder`` under a name
    keeping its scale letter. A row that leaves the heads to their default gets the arguments before them from the
    block's declared defaults."""
    import yaml
    from ultralytics.nn.tasks import yaml_model_load

    import yolo_hybrid.nn

    d = yaml_model_load(cfg)  # Ultralytics' own lookup: the bundled yolo26-cmt.yaml for yolo26n-cmt.yaml
    for block, (arg, counts) in FIXED_HEADS.items():
        spec = getattr(yolo_hybrid.nn, block).yaml_spec
        names = spec.yaml_names()
        position = names.index(arg)
        rows = [row for row in d["backbone"] if row[2] == block]
        if rows and len(rows) != len(counts):
            raise ValueError(f"{cfg}: expected {len(counts)} {block} rows, found {len(rows)}")
        for row, heads in zip(rows, counts, strict=False):
            row[3] += [spec.default(name) for name in names[len(row[3]) : position + 1]]
            row[3][position] = heads
    path = folder / f"{Path(cfg).stem}-fixed.yaml"
    path.write_text(yaml.safe_dump(d, sort_keys=False))
    return path


def main() -> int:
    args = arguments(__doc__, CONFIGS, 20, "heads.json").parse_args()
    workdir = prepare("heads", args.threads)
    import onnxruntime
    import torch
    from ultralytics import YOLO
    from ultralytics.utils.torch_utils import get_flops

    from yolo_hybrid.bench import base_family, keep_freed_memory, onnx_session
    from yolo_hybrid.nn.cmt import LightweightMHSA
    from yolo_hybrid.nn.smt import SMTAttention

    memory = keep_freed_memory()
    stock_of = {cfg: base_family(Path(cfg).stem) + ".yaml" for cfg in args.configs}  # yolo26n-cmt -> yolo26n.yaml

    def build(source: str) -> tuple:
        """(eager model, ONNX Runtime session, GFLOPs, heads per attention layer) of a YAML."""
        model = YOLO(source).model
        heads = [m.heads for m in model.modules() if isinstance(m, (LightweightMHSA, SMTAttention))]
        gflops = float(get_flops(model, args.imgsz))  # before fuse(), as the main benchmark's E
        return model.fuse().eval(), onnx_session(source, args.imgsz, args.threads, workdir), gflops, heads

    variants = ("fixed", "shipped")
    models = {}  # (config, variant) or (stock config, "stock") -> build()
    for cfg in args.configs:
        if (stock_of[cfg], "stock") not in models:
            models[(stock_of[cfg], "stock")] = build(stock_of[cfg])
        models[(cfg, "shipped")] = build(cfg)
        models[(cfg, "fixed")] = build(str(fixed_heads_yaml(cfg, workdir)))
        print(f"{cfg}: heads {models[(cfg, 'fixed')][3]} -> {models[(cfg, 'shipped')][3]}", flush=True)
    x = torch.rand(1, 3, args.imgsz, args.imgsz, generator=torch.Generator().manual_seed(0))
    feed = x.numpy()
    times = {key: {"torch": [], "onnx": []} for key in models}
    with torch.inference_mode():
        for round_ in range(args.warmup + args.runs):
            for key, (model, session, _, _) in models.items():
                start = time.perf_counter()
                model(x)
                middle = time.perf_counter()
                session.run(None, {session.get_inputs()[0].name: feed})
                end = time.perf_counter()
                if round_ >= args.warmup:
                    times[key]["torch"].append((middle - start) * 1e3)
                    times[key]["onnx"].append((end - middle) * 1e3)
            print(f"  round {round_ + 1}/{args.warmup + args.runs}", end="\r", flush=True)
    rows = []
    for cfg in args.configs:
        stock_key = (stock_of[cfg], "stock")
        row = {
            "model": cfg,
            "stock": stock_of[cfg],
            "gflops": models[(cfg, "shipped")][2],
            "stock_gflops": models[stock_key][2],
            "heads_fixed": models[(cfg, "fixed")][3],
            "heads_shipped": models[(cfg, "shipped")][3],
        }
        for runtime in ("torch", "onnx"):
            stock = statistics.median(times[stock_key][runtime])
            row[f"{runtime}_stock_ms"] = stock
            for variant in variants:
                ms = statistics.median(times[(cfg, variant)][runtime])
                row[f"{runtime}_{variant}_ms"] = ms
                row[f"{runtime}_{variant}_e"] = ms / stock / (models[(cfg, variant)][2] / row["stock_gflops"])
            row[f"{runtime}_paired_shipped_over_fixed"] = statistics.median(
                new / old
                for new, old in zip(times[(cfg, "shipped")][runtime], times[(cfg, "fixed")][runtime], strict=False)
            )
        rows.append(row)
    print(f"\n{'model':<18}{'runtime':<9}{'stock ms':>9}{'fixed ms':>10}{'E':>6}{'ms':>9}{'E':>6}{'paired':>10}")
    for r in rows:
        for runtime, label in (("torch", "PyTorch"), ("onnx", "ORT")):
            print(
                f"{r['model']:<18}{label:<9}{r[f'{runtime}_stock_ms']:>9.1f}{r[f'{runtime}_fixed_ms']:>10.1f}"
                f"{r[f'{runtime}_fixed_e']:>6.2f}{r[f'{runtime}_shipped_ms']:>9.1f}"
                f"{r[f'{runtime}_shipped_e']:>6.2f}{r[f'{runtime}_paired_shipped_over_fixed']:>10.3f}"
            )
    write_report(args, rows, torch=torch.__version__, onnxruntime=onnxruntime.__version__, memory=memory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
