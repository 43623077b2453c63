"""Peak memory and time of forward + backward of one CoT3, three ways. Prints a table and writes JSON.

    python benchmarks/cot_memory.py [--batch 8] [--channels 128] [--size 80] [--runs 3]

Variants (each measured in its own fresh process, so peak RSS is not shared):
* ``cot3-shifted``: our CoT3 as shipped (local aggregation from k^2 shifted slices of one padded tensor, accumulated
  in place, hand-written backward; norms, activations and fusion recomputed in backward);
* ``cot3-shifted-ckpt``: the same with activation checkpointing of the CoT layers (``checkpoint=True``);
* ``cot3-unfold``: our CoT3 with the aggregation done the usual way, ``F.unfold`` (k^2 copies of the values) times the
  broadcast weights, summed -- written here for the comparison only;
* ``c3-plain``: Ultralytics' C3 of plain 3x3 bottlenecks, same channels and depth (the goal: CoT3 <= 1.5x its peak).

Peak memory = the process's peak resident set size during the first full-size forward+backward minus the peak before
it (model and input excluded), after one pass on a 16x16 input that loads what is imported on first use; time = median
of the following --runs passes. CPU, float32.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

VARIANTS = ("cot3-shifted", "cot3-shifted-ckpt", "cot3-unfold", "c3-plain")


def unfold_aggregate(value, weight, kernel_size):
    """The unfold formulation: (B, C*k*k, H*W) copies of the value, times the weights, summed over the window."""
    import torch.nn.functional as F

    b, c, h, w = value.shape
    groups = weight.shape[1]
    cols = F.unfold(value, kernel_size, padding=kernel_size // 2).view(b, c // groups, groups, kernel_size**2, h, w)
    return (cols * weight.unsqueeze(1)).sum(3).view(b, c, h, w)


def build(variant: str, channels: int, n: int):
    from ultralytics.nn.modules import C3

    from yolo_hybrid.nn.cot import CoT3, LocalAggregation

    if variant == "c3-plain":
        return C3(channels, channels, n)
    module = CoT3(channels, channels, n, checkpoint=variant.endswith("-ckpt"))
    if variant.startswith("cot3-unfold"):
        for m in module.modules():
            if isinstance(m, LocalAggregation):
                m.forward = lambda v, w, k=m.kernel_size: unfold_aggregate(v, w, k)
    return module


def child(variant: str, batch: int, channels: int, size: int, n: int, runs: int) -> dict:
    import torch

    torch.manual_seed(0)
    module = build(variant, channels, n).train()
    # a small pass first: lazy imports on first use (torch.utils.checkpoint: ~150 MiB of code) are not activations
    module(torch.randn(2, channels, 16, 16, requires_grad=True)).square().mean().backward()
    module.zero_grad(set_to_none=True)
    x = torch.randn(batch, channels, size, size, requires_grad=True)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    module(x).square().mean().backward()  # first pass: its peak is the measurement (later passes reuse freed memory)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    module.zero_grad(set_to_none=True)
    x.grad = None
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        module(x).square().mean().backward()
        times.append(time.perf_counter() - start)
        module.zero_grad(set_to_none=True)
        x.grad = None
    return {
        "variant": variant,
        "fwd_bwd_s": statistics.median(times),
        "peak_extra_mib": (peak - before) / 1024,
        "params": sum(p.numel() for p in module.parameters()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--channels", type=int, default=128)
    parser.add_argument("--size", type=int, default=80)
    parser.add_argument("--n", type=int, default=1, help="bottlenecks in the CoT3 / C3")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--json", default=None, help="default: benchmarks/results/cot_memory_n<N>.json")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.batch, args.channels, args.size, args.n, args.runs)))
        return 0
    rows = []
    for variant in VARIANTS:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                variant,
                "--batch",
                str(args.batch),
                "--channels",
                str(args.channels),
                "--size",
                str(args.size),
                "--n",
                str(args.n),
                "--runs",
                str(args.runs),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(f"  measured {variant}", flush=True)
    plain = next(r for r in rows if r["variant"] == "c3-plain")
    print(
        f"CoT3 vs C3 (n={args.n}), forward+backward, batch {args.batch}, {args.channels} ch, "
        f"{args.size}x{args.size}, CPU fp32"
    )
    print(f"{'variant':<18}{'params':>10}{'fwd+bwd s':>11}{'peak MiB':>10}{'time x C3':>11}{'peak x C3':>11}")
    for r in rows:
        r["time_vs_c3"] = r["fwd_bwd_s"] / plain["fwd_bwd_s"]
        r["peak_vs_c3"] = r["peak_extra_mib"] / plain["peak_extra_mib"]
        print(
            f"{r['variant']:<18}{r['params']:>10,}{r['fwd_bwd_s']:>11.3f}{r['peak_extra_mib']:>10.0f}"
            f"{r['time_vs_c3']:>11.2f}{r['peak_vs_c3']:>11.2f}"
        )
    path = Path(args.json or Path(__file__).with_name("results") / f"cot_memory_n{args.n}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {"batch": args.batch, "channels": args.channels, "size": args.size, "n": args.n, "rows": rows}, indent=2
        )
        + "\n"
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
