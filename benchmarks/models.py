"""Our configs side by side with the stock Ultralytics model of the same scale, in one run. Table + JSON.

    python benchmarks/models.py [--pairs yolov8-bot3.yaml=yolov8.yaml ...] [--scales n s] [--imgsz 640] [--runs 10]

Per model: parameters, GFLOPs as Ultralytics reports them (``get_flops`` at imgsz), CPU latency of an eval forward
(batch 1, fused, median of --runs after 2 warm-ups) and of a training step (forward + backward, batch 2, half imgsz),
and the ratio to the stock model. Threads: torch's default for this machine (printed).
"""

from __future__ import annotations

import argparse
import json
import os
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

    def __init__(self, cfg: Path, scale: str, imgsz: int):
        from ultralytics.utils.torch_utils import get_flops

        self.cfg, self.scale = cfg, scale
        self.train_model = build_model(cfg, scale).train()
        self.params = sum(p.numel() for p in self.train_model.parameters())
        self.gflops = get_flops(self.train_model, imgsz)
        self.infer_model = build_model(cfg, scale).fuse().eval()
        self.train_x = torch.rand(2, 3, imgsz // 2, imgsz // 2)
        self.infer_x = torch.rand(1, 3, imgsz, imgsz)

    def train_step(self):
        out = self.train_model(self.train_x)
        sum(t.float().mean() for t in _tensors(out)).backward()
        self.train_model.zero_grad(set_to_none=True)

    def infer(self):
        with torch.inference_mode():
            self.infer_model(self.infer_x)


def measure_pair(ours_cfg: Path, stock_cfg: Path, scale: str, imgsz: int, runs: int) -> list[dict]:
    """Stock and ours timed in alternation (same machine state for both), medians after 2 warm-up rounds."""
    subjects = [Subject(stock_cfg, scale, imgsz), Subject(ours_cfg, scale, imgsz)]
    times = [{"infer": [], "train": []} for _ in subjects]
    for round_ in range(runs + 2):
        for subject, record in zip(subjects, times):
            infer, train = _time_ms(subject.infer), _time_ms(subject.train_step)
            if round_ >= 2:
                record["infer"].append(infer)
                record["train"].append(train)
    rows = []
    for subject, record in zip(subjects, times):
        rows.append({"config": subject.cfg.name, "scale": scale, "params": subject.params, "gflops": subject.gflops,
                     "infer_ms": statistics.median(record["infer"]),
                     "train_step_ms": statistics.median(record["train"])})
    stock, ours = rows
    for key in ("params", "gflops", "infer_ms", "train_step_ms"):
        ours[f"{key}_ratio"] = ours[key] / stock[key] if stock[key] else float("nan")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", nargs="+", default=DEFAULT_PAIRS, help="ours=stock config names")
    parser.add_argument("--scales", nargs="+", default=["n", "s"])
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", default=str(Path(__file__).with_name("results") / "models.json"))
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, imgsz {args.imgsz}", flush=True)
    rows = []
    for pair in args.pairs:
        ours_name, stock_name = pair.split("=")
        for scale in args.scales:
            rows += measure_pair(_config(ours_name), _config(stock_name), scale, args.imgsz, args.runs)
            print(f"  measured {ours_name} vs {stock_name} at {scale}", flush=True)
    header = f"{'config':<26}{'scale':>6}{'params':>12}{'GFLOPs':>9}{'infer ms':>10}{'train ms':>10}   ratios p/F/inf/train"
    print(header)
    for r in rows:
        ratio = (f"   {r['params_ratio']:.2f}/{r['gflops_ratio']:.2f}/{r['infer_ms_ratio']:.2f}/"
                 f"{r['train_step_ms_ratio']:.2f}") if "params_ratio" in r else ""
        print(f"{r['config']:<26}{r['scale']:>6}{r['params']:>12,}{r['gflops']:>9.1f}{r['infer_ms']:>10.1f}"
              f"{r['train_step_ms']:>10.1f}{ratio}")
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "imgsz": args.imgsz,
                                "cpu_count": os.cpu_count(), "rows": rows}, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
