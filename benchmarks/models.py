"""Our configs side by side with the stock Ultralytics model of the same scale, in one run. Table + JSON.

    python benchmarks/models.py [--pairs yolov8-bot3.yaml=yolov8.yaml ...] [--scales n s] [--imgsz 640] [--runs 10]
                                [--threads 1] [--onnx]

Per model: parameters, GFLOPs as Ultralytics reports them (``get_flops`` at imgsz), CPU latency of an eval forward
(batch 1, fused, median of --runs after 2 warm-ups) and of a training step (forward + backward, batch 2, half imgsz),
with ``--onnx`` the ONNX Runtime latency of Ultralytics' static ONNX export (batch 1, CPU provider), and the ratio to
the stock model; E = latency ratio / GFLOPs ratio (1: the block costs what its FLOPs say). Threads: ``--threads``
for torch and ONNX Runtime (default: torch's default for this machine; printed).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from yolo_hybrid.integration.offline import prepare_offline

prepare_offline(tempfile.mkdtemp(prefix="yolo_hybrid_bench_cfg_"))

import torch  # noqa: E402

from yolo_hybrid.integration.summary import build_model  # noqa: E402

DEFAULT_PAIRS = [
    "yolov8-bot3.yaml=yolov8.yaml",
    "yolov8-cot.yaml=yolov8.yaml",
    "yolov8-smt.yaml=yolov8.yaml",
    "yolov8-cmt.yaml=yolov8.yaml",
    "yolov8-cls-bot3.yaml=yolov8-cls.yaml",
    "yolov8-cls-cot.yaml=yolov8-cls.yaml",
    "yolov8-cls-smt.yaml=yolov8-cls.yaml",
    "yolov8-cls-cmt.yaml=yolov8-cls.yaml",
]


def _config(name: str) -> Path:
    import yolo_hybrid
    from ultralytics.utils.checks import check_yaml

    yolo_hybrid.register()  # bare names of our configs resolve once registered (normally on importing tasks)

    return Path(check_yaml(name))


def _time_ms(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def _tensors(out):
    """Every tensor in a (nested) head output: training heads return tensors, lists or dicts depending on version."""
    if isinstance(out, torch.Tensor):
        return [out]
    items = out.values() if isinstance(out, dict) else out if isinstance(out, (list, tuple)) else []
    return [t for item in items for t in _tensors(item)]


class Subject:
    """One model prepared for the two timed operations."""

    def __init__(self, cfg: Path, scale: str, imgsz: int, onnx_threads: int | None = None):
        from ultralytics.utils.torch_utils import get_flops

        self.cfg, self.scale = cfg, scale
        self.train_model = build_model(cfg, scale).train()
        self.params = sum(p.numel() for p in self.train_model.parameters())
        self.gflops = get_flops(self.train_model, imgsz)
        self.infer_model = build_model(cfg, scale).fuse().eval()
        self.train_x = torch.rand(2, 3, imgsz // 2, imgsz // 2)
        self.infer_x = torch.rand(1, 3, imgsz, imgsz)
        self.session = None if onnx_threads is None else _onnx_session(cfg, scale, imgsz, onnx_threads)

    def onnx_infer(self):
        self.session.run(None, {self.session.get_inputs()[0].name: self.infer_x.numpy()})

    def train_step(self):
        out = self.train_model(self.train_x)
        sum(t.float().mean() for t in _tensors(out)).backward()
        self.train_model.zero_grad(set_to_none=True)

    def infer(self):
        with torch.inference_mode():
            self.infer_model(self.infer_x)


def _onnx_session(cfg: Path, scale: str, imgsz: int, threads: int):
    from yolo_hybrid.bench import onnx_session

    scaled = re.sub(r"^(yolov?\d+)", rf"\g<1>{scale}", cfg.name)  # yolov8-cmt.yaml -> yolov8n-cmt.yaml
    return onnx_session(scaled, imgsz, threads, Path(tempfile.mkdtemp(prefix="yolo_hybrid_bench_onnx_")))


def measure_pair(ours_cfg: Path, stock_cfg: Path, scale: str, imgsz: int, runs: int,
                 onnx_threads: int | None = None) -> list[dict]:
    """Stock and ours timed in alternation (same machine state for both), medians after 2 warm-up rounds."""
    subjects = [Subject(stock_cfg, scale, imgsz, onnx_threads), Subject(ours_cfg, scale, imgsz, onnx_threads)]
    times = [{"infer": [], "train": [], "onnx": []} for _ in subjects]
    for round_ in range(runs + 2):
        for subject, record in zip(subjects, times):
            infer, train = _time_ms(subject.infer), _time_ms(subject.train_step)
            onnx = _time_ms(subject.onnx_infer) if subject.session is not None else None
            if round_ >= 2:
                record["infer"].append(infer)
                record["train"].append(train)
                record["onnx"].append(onnx)
    rows = []
    for subject, record in zip(subjects, times):
        rows.append({"config": subject.cfg.name, "scale": scale, "params": subject.params, "gflops": subject.gflops,
                     "infer_ms": statistics.median(record["infer"]),
                     "train_step_ms": statistics.median(record["train"]),
                     "onnx_ms": statistics.median(record["onnx"]) if subject.session is not None else None})
    stock, ours = rows
    for key in ("params", "gflops", "infer_ms", "train_step_ms", "onnx_ms"):
        if ours[key] is not None:
            ours[f"{key}_ratio"] = ours[key] / stock[key] if stock[key] else float("nan")
    ours["E_torch"] = ours["infer_ms_ratio"] / ours["gflops_ratio"]
    if ours["onnx_ms"] is not None:
        ours["E_onnx"] = ours["onnx_ms_ratio"] / ours["gflops_ratio"]
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", nargs="+", default=DEFAULT_PAIRS, help="ours=stock config names")
    parser.add_argument("--scales", nargs="+", default=["n", "s"])
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None, help="torch and ONNX Runtime threads")
    parser.add_argument("--onnx", action="store_true", help="also time Ultralytics' ONNX export in ONNX Runtime")
    parser.add_argument("--json", default=str(Path(__file__).with_name("results") / "models.json"))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    onnx_threads = (args.threads or torch.get_num_threads()) if args.onnx else None
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, imgsz {args.imgsz}", flush=True)
    rows = []
    for pair in args.pairs:
        ours_name, stock_name = pair.split("=")
        for scale in args.scales:
            rows += measure_pair(_config(ours_name), _config(stock_name), scale, args.imgsz, args.runs, onnx_threads)
            print(f"  measured {ours_name} vs {stock_name} at {scale}", flush=True)
    header = (f"{'config':<26}{'scale':>6}{'params':>12}{'GFLOPs':>9}{'infer ms':>10}{'ORT ms':>9}{'train ms':>10}"
              "   ratios p/F/inf/ORT/train   E torch/ORT")
    print(header)
    for r in rows:
        onnx = f"{r['onnx_ms']:>9.1f}" if r["onnx_ms"] is not None else f"{'-':>9}"
        ratio = ""
        if "params_ratio" in r:
            ort_ratio = f"{r['onnx_ms_ratio']:.2f}" if "onnx_ms_ratio" in r else "-"
            ratio = (f"   {r['params_ratio']:.2f}/{r['gflops_ratio']:.2f}/{r['infer_ms_ratio']:.2f}/{ort_ratio}/"
                     f"{r['train_step_ms_ratio']:.2f}   {r['E_torch']:.2f}/" + (f"{r['E_onnx']:.2f}" if "E_onnx" in r else "-"))
        print(f"{r['config']:<26}{r['scale']:>6}{r['params']:>12,}{r['gflops']:>9.1f}{r['infer_ms']:>10.1f}{onnx}"
              f"{r['train_step_ms']:>10.1f}{ratio}")
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "imgsz": args.imgsz,
                                "cpu_count": os.cpu_count(), "rows": rows}, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
