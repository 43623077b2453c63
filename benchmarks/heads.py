"""What one attention head per 64 channels (``heads: d64``) buys the YOLO11/YOLO26 CMT configs, one run.

    python benchmarks/heads.py [--configs yolo11n-cmt.yaml ...] [--imgsz 640] [--threads 1] [--runs 20]
                               [--json benchmarks/results/heads.json]

Per config, two models: as shipped (every C3k2CMT and C2CMT row with ``heads: d64``) and with the fixed head counts
these configs had before (CMT's per-stage 2, 4, 8 at P3, P4, P5 and 8 in C2CMT, at every scale). Both have the same
GFLOPs (the head count splits the query/key width; it does not change it) but not the same attention: the logits,
their bias and their softmax scale with heads x N x N_k. Each runs in eager PyTorch (after ``fuse()``) and in ONNX
Runtime (Ultralytics' static ONNX export, CPU provider, fixed threads), round by round in turn with stock YOLO of the
same generation and scale. Prints medians, E (latency ratio over the ratio of Ultralytics' GFLOPs, to stock, as
``python -m yolo_hybrid.bench``) and the paired ratio d64 / fixed (median over rounds of the per-round ratio, which
cancels slow spells of a shared machine); writes JSON.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from common import arguments, prepare, write_report

CONFIGS = ("yolo11n-cmt.yaml", "yolo26n-cmt.yaml", "yolo11s-cmt.yaml", "yolo26s-cmt.yaml")
FIXED_HEADS = (2, 4, 8)  # the C3k2CMT rows at P3, P4, P5, in file order
FIXED_C2CMT_HEADS = 8


def fixed_heads_yaml(cfg: str, folder: Path) -> Path:
    """``cfg`` with the head counts it had before ``d64``, written in ``folder`` under a name keeping its scale."""
    import yaml
    from ultralytics.nn.tasks import yaml_model_load

    d = yaml_model_load(cfg)  # Ultralytics' own lookup: the bundled yolo26-cmt.yaml for yolo26n-cmt.yaml
    stages = iter(FIXED_HEADS)
    for row in d["backbone"]:
        if row[2] == "C3k2CMT":
            row[3][4] = next(stages)  # [c2, c3k, e, attn, heads, ...]
        elif row[2] == "C2CMT":
            row[3] = [row[3][0], 0.5, FIXED_C2CMT_HEADS]  # [c2, e, heads]
    if next(stages, None) is not None:
        raise ValueError(f"{cfg}: expected {len(FIXED_HEADS)} C3k2CMT rows")
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

    memory = keep_freed_memory()
    stock_of = {cfg: base_family(Path(cfg).stem) + ".yaml" for cfg in args.configs}  # yolo26n-cmt -> yolo26n.yaml

    def build(source: str) -> tuple:
        """(eager model, ONNX Runtime session, GFLOPs, heads per attention layer) of a YAML."""
        model = YOLO(source).model
        heads = [m.heads for m in model.modules() if isinstance(m, LightweightMHSA)]
        gflops = float(get_flops(model, args.imgsz))  # before fuse(), as the main benchmark's E
        return model.fuse().eval(), onnx_session(source, args.imgsz, args.threads, workdir), gflops, heads

    models = {}  # (config, "d64" | "fixed") or (stock config, "stock") -> build()
    for cfg in args.configs:
        if (stock_of[cfg], "stock") not in models:
            models[(stock_of[cfg], "stock")] = build(stock_of[cfg])
        models[(cfg, "d64")] = build(cfg)
        models[(cfg, "fixed")] = build(str(fixed_heads_yaml(cfg, workdir)))
        print(f"{cfg}: heads {models[(cfg, 'fixed')][3]} -> {models[(cfg, 'd64')][3]}", flush=True)
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
        row = {"model": cfg, "stock": stock_of[cfg], "gflops": models[(cfg, "d64")][2],
               "stock_gflops": models[stock_key][2], "heads_fixed": models[(cfg, "fixed")][3],
               "heads_d64": models[(cfg, "d64")][3]}
        for runtime in ("torch", "onnx"):
            stock = statistics.median(times[stock_key][runtime])
            row[f"{runtime}_stock_ms"] = stock
            for variant in ("fixed", "d64"):
                ms = statistics.median(times[(cfg, variant)][runtime])
                row[f"{runtime}_{variant}_ms"] = ms
                row[f"{runtime}_{variant}_e"] = ms / stock / (models[(cfg, variant)][2] / row["stock_gflops"])
            row[f"{runtime}_paired_d64_over_fixed"] = statistics.median(
                new / old for new, old in zip(times[(cfg, "d64")][runtime], times[(cfg, "fixed")][runtime]))
        rows.append(row)
    print(f"\n{'model':<18}{'runtime':<9}{'stock ms':>9}{'fixed ms':>10}{'E':>6}{'d64 ms':>9}{'E':>6}{'d64/fixed':>11}")
    for r in rows:
        for runtime, label in (("torch", "PyTorch"), ("onnx", "ORT")):
            print(f"{r['model']:<18}{label:<9}{r[f'{runtime}_stock_ms']:>9.1f}{r[f'{runtime}_fixed_ms']:>10.1f}"
                  f"{r[f'{runtime}_fixed_e']:>6.2f}{r[f'{runtime}_d64_ms']:>9.1f}{r[f'{runtime}_d64_e']:>6.2f}"
                  f"{r[f'{runtime}_paired_d64_over_fixed']:>11.3f}")
    write_report(args, rows, torch=torch.__version__, onnxruntime=onnxruntime.__version__, memory=memory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
