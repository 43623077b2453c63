"""Our detect configs on a CUDA GPU next to stock YOLOv8 of the same scale, in one run. Table + JSON.

    python benchmarks/gpu.py [--scales n s] [--imgsz 640] [--json PATH]

Per config (each next to stock yolov8 of the same scale, interleaved):

* parity: eval outputs of the fused model on CUDA (fp32, TF32 off) against the same weights on the CPU;
* fp16: the fused model in half precision (what ``half=True`` predicts and exports) against fp32 on CUDA, and
  ``--amp-steps`` training steps under autocast fp16 + GradScaler with Ultralytics' own loss on synthetic
  targets, next to the same steps in fp32: non-finite losses counted, the first module with a non-finite output
  named;
* speed: eval latency (fp16, batch 1 and 16; median of 50 after warm-up, CUDA-synchronised), AMP train step time
  and peak memory (batch 16, separate run without hooks), as ratios to stock;

Accuracy is the study's (``python -m yolo_hybrid.study``; on a GPU, ``bash benchmarks/study_gpu.sh``).

TensorRT is not measured: its libraries are not on the package registry this project installs from.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from yolo_hybrid.integration.offline import prepare_offline

prepare_offline(tempfile.mkdtemp(prefix="yolo_hybrid_gpu_cfg_"))

import torch  # noqa: E402

CONFIGS = ["yolov8.yaml", "yolov8-bot3.yaml", "yolov8-cot.yaml", "yolov8-smt.yaml", "yolov8-cmt.yaml"]


def _model(cfg: str, scale: str):
    from ultralytics.utils.checks import check_yaml

    import yolo_hybrid
    from yolo_hybrid.integration.summary import build_model

    yolo_hybrid.register()
    torch.manual_seed(0)
    return build_model(Path(check_yaml(cfg)), scale)


def _head(out) -> torch.Tensor:
    """The decoded (B, 4 + nc, anchors) prediction of an eval detection model (tuple or tensor by version)."""
    return out[0] if isinstance(out, (list, tuple)) else out


def _cuda_ms(fn, runs: int) -> tuple[float, float]:
    for _ in range(10):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1e3)
    q = statistics.quantiles(times, n=4)
    return statistics.median(times), q[2] - q[0]


def _batch(model, n: int, imgsz: int, device) -> dict:
    """The benchmark's synthetic detection batch (``yolo_hybrid.bench.train_batch``) on ``device``."""
    from yolo_hybrid.bench import train_batch

    return {key: value.to(device) for key, value in train_batch(model, n, imgsz).items()}


def parity(cfg: str, scale: str, imgsz: int) -> dict:
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    model = _model(cfg, scale).fuse().eval()
    x = torch.rand(2, 3, imgsz, imgsz, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        cpu = _head(model(x))
        model.cuda()
        gpu = _head(model(x.cuda())).float().cpu()
        fp16 = _head(model.half()(x.cuda().half())).float().cpu()
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cuda.matmul.allow_tf32 = True
    scores = cpu[:, 4:]
    return {
        "cuda_vs_cpu_max_abs": (gpu - cpu).abs().max().item(),
        "fp16_vs_fp32_box_max_abs_px": (fp16[:, :4] - cpu[:, :4]).abs().max().item(),
        "fp16_vs_fp32_score_max_abs": (fp16[:, 4:] - scores).abs().max().item(),
        "fp16_finite": bool(torch.isfinite(fp16).all()),
    }


def amp_training(cfg: str, scale: str, imgsz: int, steps: int, batch_size: int, amp: bool = True) -> dict:
    """``steps`` SGD steps (lr 0.01, momentum 0.9, no warm-up or clipping: harsher than Ultralytics' recipe) with
    Ultralytics' loss, under autocast fp16 + GradScaler (``amp``) or in fp32; the first module whose output is not
    finite is recorded, so an fp16 overflow can be told from a diverging optimisation (the fp32 control)."""
    from ultralytics.cfg import get_cfg

    model = _model(cfg, scale).cuda().train()
    model.args = get_cfg()  # the loss reads its gains (box, cls, dfl) from the model's args, as a trainer sets them
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    batch = _batch(model, batch_size, imgsz, "cuda")
    first_bad: list[str] = []

    def watch(name):
        def hook(module, inputs, output):
            if not first_bad and isinstance(output, torch.Tensor) and not torch.isfinite(output).all():
                first_bad.append(f"{name} ({type(module).__name__})")

        return hook

    handles = [m.register_forward_hook(watch(n)) for n, m in model.named_modules() if not m._modules]
    nonfinite_losses = nonfinite_grads = skipped = 0
    losses, first_nonfinite = [], None
    for step in range(steps):
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.float16, enabled=amp):
            loss, _ = model.loss(batch)
        loss = loss.sum()
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        grads_finite = all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
        scale_before = scaler.get_scale()
        scaler.step(optimizer)
        scaler.update()
        skipped += scaler.get_scale() < scale_before
        if not torch.isfinite(loss).item():
            nonfinite_losses += 1
            if first_nonfinite is None:
                first_nonfinite = {"step": step, "module": first_bad[0] if first_bad else None}
        nonfinite_grads += not grads_finite
        losses.append(loss.item())
        first_bad.clear()
    for h in handles:
        h.remove()
    prefix = "" if amp else "fp32_"
    return {
        f"{prefix}steps": steps,
        f"{prefix}nonfinite_losses": nonfinite_losses,
        f"{prefix}first_nonfinite": first_nonfinite,
        f"{prefix}nonfinite_grad_steps": nonfinite_grads,
        f"{prefix}scaler_skipped_steps": int(skipped),
        f"{prefix}loss_first": losses[0],
        f"{prefix}loss_last": losses[-1],
    }


def train_speed(cfg: str, scale: str, imgsz: int, batch_size: int, steps: int = 15) -> dict:
    """AMP training step time (median after 5 warm-up steps) and peak memory, no hooks, no host syncs in the step."""
    from ultralytics.cfg import get_cfg

    model = _model(cfg, scale).cuda().train()
    model.args = get_cfg()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
    scaler = torch.amp.GradScaler("cuda")
    batch = _batch(model, batch_size, imgsz, "cuda")
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(steps + 5):
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.float16):
            loss, _ = model.loss(batch)
        scaler.scale(loss.sum()).backward()
        scaler.step(optimizer)
        scaler.update()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1e3)
    return {"train_step_ms": statistics.median(times[5:]), "train_peak_mib": torch.cuda.max_memory_allocated() / 2**20}


def latency(models: dict, imgsz: int, runs: int) -> dict:
    """Eval fp16 latency at batch 1 and 16, models interleaved round by round."""
    out = {name: {} for name in models}
    for batch_size in (1, 16):
        x = torch.rand(batch_size, 3, imgsz, imgsz, device="cuda").half()
        samples = {name: [] for name in models}
        with torch.inference_mode():
            for _ in range(5):
                for name, m in models.items():
                    samples[name].append(_cuda_ms(lambda m=m, x=x: m(x), runs // 5)[0])
        for name in models:
            out[name][f"fp16_b{batch_size}_ms"] = statistics.median(samples[name])
            out[name][f"fp16_b{batch_size}_spread_ms"] = max(samples[name]) - min(samples[name])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", nargs="+", default=["n", "s"])
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--amp-steps", type=int, default=30)
    parser.add_argument("--configs", nargs="+", default=CONFIGS, help="stock yolov8.yaml first, then ours")
    parser.add_argument("--json", default=str(Path(__file__).with_name("results") / "gpu.json"))
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device: this benchmark needs one", file=sys.stderr)
        return 2
    report = {"torch": torch.__version__, "device": torch.cuda.get_device_name(), "imgsz": args.imgsz, "rows": []}
    import ultralytics

    report["ultralytics"] = ultralytics.__version__
    print(f"{report['device']}, torch {torch.__version__}, ultralytics {ultralytics.__version__}", flush=True)
    for scale in args.scales:
        rows = {}
        for cfg in args.configs:
            rows[cfg] = {"config": cfg, "scale": scale, **parity(cfg, scale, args.imgsz)}
            rows[cfg].update(amp_training(cfg, scale, args.imgsz, args.amp_steps, 16))
            rows[cfg].update(amp_training(cfg, scale, args.imgsz, args.amp_steps, 16, amp=False))
            rows[cfg].update(train_speed(cfg, scale, args.imgsz, 16))
            print(f"  checked {cfg} at {scale}", flush=True)
        models = {cfg: _model(cfg, scale).fuse().eval().cuda().half() for cfg in args.configs}
        for cfg, figures in latency(models, args.imgsz, args.runs).items():
            rows[cfg].update(figures)
        del models
        stock = rows["yolov8.yaml"]
        for row in rows.values():
            for key in ("fp16_b1_ms", "fp16_b16_ms", "train_step_ms", "train_peak_mib"):
                row[f"{key}_ratio"] = row[key] / stock[key]
        report["rows"] += list(rows.values())
    print(
        f"\n{'config':<18}{'sc':>3}{'cuda-cpu':>10}{'fp16 px':>9}{'fp16 sc':>9}{'NaN amp/fp32':>13}"
        f"{'b1 ms':>8}{'b16 ms':>8}{'step ms':>9}{'peak MiB':>10}   ratios b1/b16/step/mem"
    )
    for r in report["rows"]:
        bad = f"{r['nonfinite_losses']}/{r['fp32_nonfinite_losses']}"
        print(
            f"{r['config']:<18}{r['scale']:>3}{r['cuda_vs_cpu_max_abs']:>10.1e}"
            f"{r['fp16_vs_fp32_box_max_abs_px']:>9.2f}{r['fp16_vs_fp32_score_max_abs']:>9.1e}{bad:>13}"
            f"{r['fp16_b1_ms']:>8.2f}{r['fp16_b16_ms']:>8.2f}{r['train_step_ms']:>9.1f}"
            f"{r['train_peak_mib']:>10.0f}   {r['fp16_b1_ms_ratio']:.2f}/{r['fp16_b16_ms_ratio']:.2f}/"
            f"{r['train_step_ms_ratio']:.2f}/{r['train_peak_mib_ratio']:.2f}"
        )
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
