"""What each detect config costs, next to stock YOLO of the same scale, measured in one run:
``python -m yolo_hybrid.bench``.

    python -m yolo_hybrid.bench [--scales n s] [--imgsz 640] [--threads 1] [--runs 20] [--no-onnx] [--no-train]
                                [--allocator reuse|default] [--out benchmarks/results/bench] [--quick]

Models: every bundled detect config (``yolov8``, ``yolo11`` and ``yolo26`` forms of ``-bot3``, ``-cot``, ``-smt``,
``-cmt``) and stock ``yolov8``, ``yolo11``, ``yolo12`` and ``yolo26`` at each scale, all built from their YAMLs (no
weights), timed round by round in turn, so every model sees the same machine state. Per model:

* parameters; GFLOPs as Ultralytics reports them (``get_flops``, 640 px) and as ``torch.utils.flop_counter`` counts
  them (the x2 convention) at ``--imgsz``;
* PyTorch latency of the fused eval model (batch 1, ``--threads``, median and interquartile range of ``--runs`` after
  ``--warmup``), and ONNX Runtime latency of Ultralytics' own static ONNX export (CPU provider, same threads);
* a training step with Ultralytics' loss (batch 8, 320 px, synthetic targets): median time, and the peak memory it
  adds, measured in a fresh process per model;
* ratios to stock yolov8 of the same scale, and E = latency ratio / GFLOPs ratio to the stock model the config is
  built on (``yolo26n-cot`` to ``yolo26n``; stock models to yolov8): 1 when it costs what its FLOPs say; the same for
  the training step (``E_train``, against FlopCounterMode's GFLOPs of one image at the training size). Time ratios
  are paired: the median over rounds of the ratio within each round (``rounds`` in the JSON holds every timing), so
  a slow spell of a shared machine, which every model of that round sees, cancels instead of moving one model's
  median.

Timing measures compute, not the allocator's state: glibc (Linux) otherwise returns the multi-megabyte blocks of a
640 px forward to the system between images and page-faults them back in, 0 to ~30,000 faults per image depending on
the process, which moved identical models by up to 15 %. ``--allocator reuse`` (default) tells glibc to keep freed
memory for reuse (``mallopt``: no trimming, no mmap per block), as the caching allocators that PyTorch's CPU tuning
guide recommends do; ``--allocator default`` measures glibc as it comes. Minor page faults per timed PyTorch forward
and training step are reported either way (``torch_faults``, ``train_faults``).

Writes ``<out>.json``, ``<out>.md`` (the README table) and ``<out>.png`` (latency against GFLOPs, one labelled point
per model, PyTorch and ONNX Runtime side by side). ``--quick`` (CI) runs everything at 64 px with one timed round:
it proves the pipeline and the schema, and claims no timings.

What a block buys in accuracy is the study's to say: ``python -m yolo_hybrid.study`` (``--compare-training`` moved
there).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from yolo_hybrid.plot_labels import place_labels

__all__ = [
    "OURS",
    "STOCK",
    "model_names",
    "paired_ratio",
    "run",
    "check_report",
    "markdown",
    "plot",
    "flop_counter_gflops",
    "onnx_session",
    "main",
]

OURS = tuple(f"{base}-{family}" for base in ("yolov8", "yolo11", "yolo26") for family in ("bot3", "cot", "smt", "cmt"))
STOCK = ("yolov8", "yolo11", "yolo12", "yolo26")
REFERENCE = "yolov8"  # ratios are to stock yolov8 of the same scale
TRAIN_BATCH, TRAIN_IMGSZ = 8, 320
SCHEMA = {
    "model": str,
    "family": str,
    "scale": str,
    "stock": bool,
    "params": int,
    "gflops": float,
    "gflops_flop_counter": float,
    "torch_ms": float,
    "torch_iqr_ms": float,
    "onnx_ms": (float, type(None)),
    "onnx_iqr_ms": (float, type(None)),
    "train_step_ms": (float, type(None)),
    "train_peak_mib": (float, type(None)),
    "train_gflops": (float, type(None)),
    "torch_faults": (int, type(None)),
    "train_faults": (int, type(None)),
    "rounds": dict,
    "ratios": dict,
    "E_torch": float,
    "E_onnx": (float, type(None)),
    "E_train": (float, type(None)),
    "e_reference": str,
}
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h


def keep_freed_memory() -> str:
    """Tell glibc to keep freed memory for reuse in this process: no trimming, large blocks from the heap, not mmap.

    Both are needed: with trimming off alone, large blocks still come from mmap and fault on every allocation (60,000
    faults per yolov8n-cmt forward); with the mmap threshold alone, the heap's top is still trimmed (21,000).
    Returns what the timing ran with, for the report: ``"glibc, freed memory kept (mallopt)"`` or why not.
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return f"default ({platform.system()} {platform.libc_ver()[0] or 'libc'}: no glibc mallopt)"
    libc = ctypes.CDLL(None)
    # the mmap threshold first: trimming off with large blocks still mmap-ed is the slowest setting of all
    if not libc.mallopt(_M_MMAP_THRESHOLD, 2**30):
        return "default (glibc refused a 1 GiB mmap threshold)"
    if not libc.mallopt(_M_TRIM_THRESHOLD, 2**30):
        return "glibc, large blocks from the heap but trimmed (mallopt refused the trim threshold)"
    return "glibc, freed memory kept (mallopt)"


def _minor_faults() -> int | None:
    """Minor page faults of this process so far; None where ``resource`` does not exist (Windows)."""
    try:
        import resource
    except ImportError:
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _faults_since(before: int | None) -> int | None:
    return None if before is None else _minor_faults() - before


def scaled(family: str, scale: str) -> str:
    """``yolov8-cmt`` at ``n`` -> ``yolov8n-cmt.yaml``; ``yolo11`` -> ``yolo11n.yaml`` (the names users write)."""
    base, _, suffix = family.partition("-")
    return f"{base}{scale}{'-' + suffix if suffix else ''}.yaml"


def base_family(family: str) -> str:
    """The stock model a config is built on: ``yolo26-cot`` -> ``yolo26``; a stock family is its own base."""
    return family.partition("-")[0]


def model_names(scales, ours=OURS, stock=STOCK) -> list[tuple[str, str, str, bool]]:
    """(YAML name, family, scale, is stock) for every model of the run, stock first at each scale."""
    return [(scaled(f, s), f, s, f in stock) for s in scales for f in (*stock, *ours)]


def _build(name: str):
    from ultralytics import YOLO

    return YOLO(name).model


def flop_counter_gflops(model, imgsz: int | tuple[int, int]) -> float:
    """GFLOPs of one eval forward as ``torch.utils.flop_counter`` counts them (2 per multiply-add).

    Fused attention (SDPA) is switched to the same math in plain matmuls for the count: torch's counter has no
    formula for the CPU flash-attention kernel and would miss SMT's global attention (1.6 of 12 GFLOPs at n).
    """
    import copy

    import torch
    from torch.utils.flop_counter import FlopCounterMode

    height, width = (imgsz, imgsz) if isinstance(imgsz, int) else imgsz
    m = copy.deepcopy(model).eval()
    for module in m.modules():
        if getattr(module, "use_sdpa", False):
            module.use_sdpa = False
    with FlopCounterMode(display=False) as counter:  # not under no_grad: its module tracker then fails on AttnPool
        m(torch.zeros(1, 3, height, width))
    return counter.get_total_flops() / 1e9


def onnx_session(name: str, imgsz: int, threads: int, workdir: Path):
    """Ultralytics' own static ONNX export of ``name`` (as ``yolo export format=onnx``, written in ``workdir``),
    loaded in ONNX Runtime's CPU provider with ``threads`` intra-op threads."""
    import onnxruntime as ort
    from ultralytics import YOLO

    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        path = str(Path(YOLO(name).export(format="onnx", imgsz=imgsz, verbose=False)).resolve())
    finally:
        os.chdir(cwd)
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def train_batch(model, batch: int, imgsz: int) -> dict:
    """A synthetic detection batch in Ultralytics' format (three boxes per image, fixed seed)."""
    import torch

    g = torch.Generator().manual_seed(0)
    boxes = torch.rand(batch * 3, 4, generator=g) * 0.5 + 0.25
    boxes[:, 2:] *= 0.4
    return {
        "img": torch.rand(batch, 3, imgsz, imgsz, generator=g),
        "cls": torch.randint(0, len(model.names), (batch * 3, 1), generator=g).float(),
        "bboxes": boxes,
        "batch_idx": torch.arange(batch).repeat_interleave(3).float(),
    }


def _train_step(model, batch: dict) -> None:
    loss, _ = model.loss(batch)
    loss.sum().backward()
    model.zero_grad(set_to_none=True)


def train_peak_mib(name: str, threads: int, batch: int = TRAIN_BATCH, imgsz: int = TRAIN_IMGSZ) -> float | None:
    """Peak memory one training step adds, in a fresh process: Linux's RSS high-water mark (VmHWM), reset through
    ``/proc/self/clear_refs`` just before the step, minus the RSS then. None where /proc cannot do that.

    A step on 2 images of 64 px runs first: modules imported on first use (``torch.utils.checkpoint`` imports
    ``torch._dynamo``, ~150 MiB, which any training run's optimizer imports anyway) are not the step's memory.
    """
    code = (
        "import json, re, tempfile, torch\n"
        "from yolo_hybrid.integration.offline import prepare_offline\n"
        "prepare_offline(tempfile.mkdtemp())\n"
        "from ultralytics.cfg import get_cfg\n"
        "from yolo_hybrid.bench import _build, _train_step, train_batch\n"
        "def kib(key): return int(re.search(key + r':\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
        f"torch.set_num_threads({threads})\n"
        f"m = _build({name!r}).train(); m.args = get_cfg()\n"
        "_train_step(m, train_batch(m, 2, 64))\n"
        f"b = train_batch(m, {batch}, {imgsz})\n"
        "open('/proc/self/clear_refs', 'w').write('5')\n"
        "before = kib('VmRSS')\n"
        "_train_step(m, b)\n"
        "print(json.dumps((kib('VmHWM') - before) / 1024))\n"
    )
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    except subprocess.CalledProcessError as e:
        if "clear_refs" in e.stderr or "/proc/self/status" in e.stderr:
            return None  # not Linux, or /proc without peak reset
        raise
    return float(out.stdout.strip().splitlines()[-1])


@dataclass
class Subject:
    """One model, prepared for every timed operation."""

    name: str
    family: str
    scale: str
    stock: bool
    times: dict = field(
        default_factory=lambda: {"torch": [], "onnx": [], "train": [], "torch_faults": [], "train_faults": []}
    )

    def prepare(self, imgsz: int, threads: int, onnx: bool, train: bool, workdir: Path) -> None:
        import torch
        from ultralytics.cfg import get_cfg
        from ultralytics.utils.torch_utils import get_flops

        model = _build(self.name)
        self.params = sum(p.numel() for p in model.parameters())
        self.gflops = float(get_flops(model, 640))
        self.gflops_flop_counter = flop_counter_gflops(model, imgsz)
        self.infer_model = _build(self.name).fuse().eval()
        self.x = torch.rand(1, 3, imgsz, imgsz)
        self.session = onnx_session(self.name, imgsz, threads, workdir) if onnx else None
        self.train_model, self.train_gflops = None, None
        if train:
            self.train_model = model.train()
            self.train_model.args = get_cfg()  # the loss reads its gains from the model's args, as a trainer sets
            self.batch = train_batch(self.train_model, TRAIN_BATCH, min(TRAIN_IMGSZ, imgsz))
            self.train_gflops = flop_counter_gflops(model, min(TRAIN_IMGSZ, imgsz))

    def time_round(self) -> None:
        import torch

        faults, start = _minor_faults(), time.perf_counter()
        with torch.inference_mode():
            self.infer_model(self.x)
        self.times["torch"].append((time.perf_counter() - start) * 1e3)
        self.times["torch_faults"].append(_faults_since(faults))
        if self.session is not None:
            feed = {self.session.get_inputs()[0].name: self.x.numpy()}
            start = time.perf_counter()
            self.session.run(None, feed)
            self.times["onnx"].append((time.perf_counter() - start) * 1e3)
        if self.train_model is not None:
            faults, start = _minor_faults(), time.perf_counter()
            _train_step(self.train_model, self.batch)
            self.times["train"].append((time.perf_counter() - start) * 1e3)
            self.times["train_faults"].append(_faults_since(faults))


def _median_iqr(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    if len(values) < 2:
        return values[0], 0.0
    q = statistics.quantiles(values, n=4)
    return statistics.median(values), q[2] - q[0]


def run(
    names,
    imgsz: int = 640,
    threads: int = 1,
    runs: int = 20,
    warmup: int = 3,
    onnx: bool = True,
    train: bool = True,
    memory: bool = True,
    progress: bool = True,
    allocator: str = "reuse",
) -> dict:
    """Measure every model in ``names`` (from ``model_names``); returns the report (see ``SCHEMA``).

    ``allocator="reuse"`` calls ``keep_freed_memory`` first (for the rest of this process); ``"default"`` leaves
    the allocator as it is. The training-memory figure comes from fresh processes with the default allocator either
    way: a heap that keeps what it frees would raise the high-water mark it reads.
    """
    import torch
    from ultralytics.utils import TQDM

    import yolo_hybrid

    if allocator not in ("reuse", "default"):
        raise ValueError(f"allocator={allocator!r}: use 'reuse' or 'default'")
    allocator = keep_freed_memory() if allocator == "reuse" else "default"
    yolo_hybrid.register()
    torch.set_num_threads(threads)
    workdir = Path(tempfile.mkdtemp(prefix="yolo_hybrid_bench_"))
    subjects = [Subject(*n) for n in names]
    bar = TQDM(total=len(subjects) * 2 + warmup + runs, desc="bench", disable=not progress)
    for s in subjects:
        bar.set_description(f"bench: building {s.name}")
        s.prepare(imgsz, threads, onnx, train, workdir)
        bar.update(1)
    for round_ in range(warmup + runs):
        bar.set_description(f"bench: round {round_ + 1}/{warmup + runs}")
        for s in subjects:
            s.time_round()
        if round_ < warmup:
            for s in subjects:
                s.times = {k: [] for k in s.times}
        bar.update(1)
    rows = []
    for s in subjects:
        bar.set_description(f"bench: memory {s.name}")
        torch_ms, torch_iqr = _median_iqr(s.times["torch"])
        onnx_ms, onnx_iqr = _median_iqr(s.times["onnx"])
        train_ms, _ = _median_iqr(s.times["train"])
        torch_faults, train_faults = (
            _median_iqr([f for f in s.times[key] if f is not None])[0] for key in ("torch_faults", "train_faults")
        )
        rows.append(
            {
                "model": s.name,
                "family": s.family,
                "scale": s.scale,
                "stock": s.stock,
                "params": s.params,
                "gflops": s.gflops,
                "gflops_flop_counter": s.gflops_flop_counter,
                "torch_ms": torch_ms,
                "torch_iqr_ms": torch_iqr,
                "onnx_ms": onnx_ms,
                "onnx_iqr_ms": onnx_iqr,
                "train_step_ms": train_ms,
                "train_gflops": s.train_gflops,
                "torch_faults": None if torch_faults is None else int(torch_faults),
                "train_faults": None if train_faults is None else int(train_faults),
                "train_peak_mib": train_peak_mib(s.name, threads) if train and memory else None,
                "rounds": {"torch_ms": s.times["torch"], "onnx_ms": s.times["onnx"], "train_step_ms": s.times["train"]},
            }
        )
        bar.update(1)
    bar.close()
    _add_ratios(rows)
    import ultralytics

    return {
        "imgsz": imgsz,
        "threads": threads,
        "runs": runs,
        "warmup": warmup,
        "torch": torch.__version__,
        "ultralytics": ultralytics.__version__,
        "yolo_hybrid": yolo_hybrid.__version__,
        "cpu": _cpu_name(),
        "allocator": allocator,
        "train": {"batch": TRAIN_BATCH, "imgsz": min(TRAIN_IMGSZ, imgsz)},
        "rows": rows,
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def paired_ratio(times: list[float], ref_times: list[float]) -> float:
    """The median over rounds of ``times[i] / ref_times[i]``: two series timed in the same rounds, compared so that
    a slow spell of a shared machine, which both saw, cancels (every ratio of this module, and benchmarks/compile.py).

    Examples:
        >>> paired_ratio([3.0, 5.0, 30.0], [1.0, 2.0, 10.0])  # per round 3, 2.5, 3
        3.0
    """
    if not times or len(times) != len(ref_times):
        raise ValueError(
            f"paired_ratio needs two series of the same rounds, got {len(times)} and {len(ref_times)} values: "
            "time both in every round"
        )
    if not all(ref_times):
        raise ValueError("paired_ratio: a reference time is 0; the timer did not advance, time a longer call")
    return statistics.median(t / r for t, r in zip(times, ref_times, strict=True))


def _ratios(row: dict, ref: dict | None) -> dict:
    """``row``'s figures over ``ref``'s; a time timed in the same rounds as the median of its per-round ratios."""
    if ref is None:
        return {}
    keys = ("params", "gflops", "torch_ms", "onnx_ms", "train_step_ms", "train_peak_mib", "train_gflops")
    ratios = {key: row[key] / ref[key] for key in keys if row.get(key) is not None and ref.get(key)}
    for key, times in row.get("rounds", {}).items():
        ref_times = ref.get("rounds", {}).get(key, [])
        if key in ratios and times and len(times) == len(ref_times) and all(ref_times):
            ratios[key] = paired_ratio(times, ref_times)
    return ratios


def _add_ratios(rows: list[dict]) -> None:
    """Ratios to stock yolov8 of the same scale; E to the stock model the config is built on when it was measured
    (``yolo26n-cot`` against ``yolo26n``: what the block costs, not what the base saves), else to yolov8."""
    stock = {(r["family"], r["scale"]): r for r in rows if r["stock"]}
    for r in rows:
        r["ratios"] = _ratios(r, stock.get((REFERENCE, r["scale"])))
        base = base_family(r["family"])
        r["e_reference"] = base if not r["stock"] and (base, r["scale"]) in stock else REFERENCE
        to_base = _ratios(r, stock.get((r["e_reference"], r["scale"])))
        r["E_torch"] = to_base["torch_ms"] / to_base["gflops"] if "torch_ms" in to_base else float("nan")
        r["E_onnx"] = to_base["onnx_ms"] / to_base["gflops"] if "onnx_ms" in to_base else None
        has_train = "train_step_ms" in to_base and "train_gflops" in to_base
        r["E_train"] = to_base["train_step_ms"] / to_base["train_gflops"] if has_train else None


def check_report(report: dict) -> None:
    """Raise ValueError where ``report`` does not follow the schema (keys, types, one reference per scale)."""
    for key in ("imgsz", "threads", "runs", "torch", "ultralytics", "rows"):
        if key not in report:
            raise ValueError(f"report has no {key!r}")
    for row in report["rows"]:
        for key, kind in SCHEMA.items():
            if key not in row:
                raise ValueError(f"{row.get('model')}: no {key!r}")
            if not isinstance(row[key], kind) or (kind is float and isinstance(row[key], bool)):
                raise ValueError(f"{row['model']}: {key}={row[key]!r} is not {kind}")
    stock = {(r["family"], r["scale"]) for r in report["rows"] if r["stock"]}
    for scale in {r["scale"] for r in report["rows"]}:
        if (REFERENCE, scale) not in stock:
            raise ValueError(f"no stock {REFERENCE} at scale {scale}: ratios need it")
    for row in report["rows"]:
        if (row["e_reference"], row["scale"]) not in stock:
            raise ValueError(f"{row['model']}: E is to stock {row['e_reference']}, which the report does not hold")


def markdown(report: dict) -> str:
    """The README table: one row per model, ratios to stock yolov8 of the same scale in brackets, E to the row's
    ``e_reference`` (named in the cell when it is not yolov8)."""

    def cell(value, ratio, fmt):
        if value is None:
            return "-"
        return f"{value:{fmt}}" + (f" ({ratio:.2f})" if ratio is not None else "")

    lines = [
        f"| model | params (M) | GFLOPs | flop counter GFLOPs at {report['imgsz']} | PyTorch ms | ONNX Runtime ms | "
        "train step ms | train peak MiB | E PyTorch / ORT / train |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in report["rows"]:
        q = r["ratios"]
        name = f"`{r['model']}`" + (" (stock)" if r["stock"] else "")
        e_onnx, e_train = (f"{r[key]:.2f}" if r.get(key) is not None else "-" for key in ("E_onnx", "E_train"))
        e_to = (
            f" (to {scaled(r['e_reference'], r['scale']).removesuffix('.yaml')})"
            if r["e_reference"] != REFERENCE
            else ""
        )
        lines.append(
            f"| {name} | {cell(r['params'] / 1e6, q.get('params'), '.2f')} | "
            f"{cell(r['gflops'], q.get('gflops'), '.1f')} | {r['gflops_flop_counter']:.1f} | "
            f"{cell(r['torch_ms'], q.get('torch_ms'), '.1f')} | {cell(r['onnx_ms'], q.get('onnx_ms'), '.1f')} | "
            f"{cell(r['train_step_ms'], q.get('train_step_ms'), '.0f')} | "
            f"{cell(r['train_peak_mib'], q.get('train_peak_mib'), '.0f')} | {r['E_torch']:.2f} / {e_onnx} / {e_train}"
            f"{e_to} |"
        )
    return "\n".join(lines) + "\n"


_BASE_COLORS = {"yolov8": "tab:blue", "yolo11": "tab:orange", "yolo12": "tab:purple", "yolo26": "tab:green"}
_FAMILY_MARKERS = {"": "o", "bot3": "s", "cot": "^", "smt": "D", "cmt": "P"}
_PLOT_DPI = 120


def plot(report: dict, path: Path) -> None:
    """Latency against GFLOPs, one point per model (colour: the stock base, marker: the block family, black
    edge: stock), a panel per runtime and scale, with the E = 1 line through stock yolov8 of that scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    runtimes = [("torch_ms", "PyTorch")] + (
        [("onnx_ms", "ONNX Runtime")] if any(r["onnx_ms"] is not None for r in report["rows"]) else []
    )
    scales = list(dict.fromkeys(r["scale"] for r in report["rows"]))
    fig, axes = plt.subplots(
        len(runtimes), len(scales), figsize=(6.5 * len(scales), 4.8 * len(runtimes)), squeeze=False
    )
    labelled = []
    for (key, title), row_axes in zip(runtimes, axes, strict=False):
        for scale, ax in zip(scales, row_axes, strict=False):
            rows = [r for r in report["rows"] if r["scale"] == scale and r[key] is not None]
            for r in rows:
                base, _, family = r["family"].partition("-")
                ax.scatter(
                    r["gflops"],
                    r[key],
                    s=46,
                    color=_BASE_COLORS.get(base, "tab:gray"),
                    marker=_FAMILY_MARKERS.get(family, "X"),
                    edgecolors="black" if r["stock"] else "none",
                )
            ref = next((r for r in rows if r["family"] == REFERENCE), None)
            if ref is not None:
                xs = [r["gflops"] for r in rows]
                ax.plot(
                    [min(xs), max(xs)],
                    [ref[key] * g / ref["gflops"] for g in (min(xs), max(xs))],
                    ls="--",
                    lw=0.8,
                    color="tab:gray",
                )
            ax.set(
                xlabel="GFLOPs (Ultralytics, 640 px)",
                ylabel=f"ms, batch 1, {report['imgsz']} px, {report['threads']} thread(s)",
                title=f"{title}, scale {scale}",
            )
            ax.grid(alpha=0.3)
            labelled.append((ax, rows, key))
    handles = [Line2D([], [], ls="", marker="o", color=c, label=b) for b, c in _BASE_COLORS.items()]
    handles += [
        Line2D([], [], ls="", marker=m, color="black", mfc="white", label=f or "stock (black edge)")
        for f, m in _FAMILY_MARKERS.items()
    ]
    handles.append(Line2D([], [], ls="--", color="tab:gray", label="E = 1 through stock yolov8"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    fig.set_dpi(_PLOT_DPI)  # the saved resolution: labels are placed in its pixels
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    for ax, rows, key in labelled:  # after the layout: labels are placed in display space
        place_labels(
            ax, [r["gflops"] for r in rows], [r[key] for r in rows], [r["model"].removesuffix(".yaml") for r in rows]
        )
    fig.savefig(path, dpi=_PLOT_DPI)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m yolo_hybrid.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", nargs="+", default=["n", "s"])
    parser.add_argument("--ours", nargs="+", default=list(OURS))
    parser.add_argument("--stock", nargs="+", default=list(STOCK))
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--no-onnx", action="store_true", help="skip the ONNX export and ONNX Runtime timing")
    parser.add_argument("--no-train", action="store_true", help="skip the training step and its memory")
    parser.add_argument(
        "--allocator",
        choices=("reuse", "default"),
        default="reuse",
        help="reuse: glibc keeps freed memory for reuse while timing (default); default: as it comes",
    )
    parser.add_argument("--out", default="benchmarks/results/bench", help="path stem of the .json, .md and .png")
    parser.add_argument("--quick", action="store_true", help="64 px, one round, scale n: checks the pipeline only")
    parser.add_argument("--compare-training", action="store_true", help="moved: python -m yolo_hybrid.study")
    args = parser.parse_args(argv)
    if args.compare_training:
        parser.error(
            "--compare-training moved to the accuracy study: python -m yolo_hybrid.study --data my.yaml "
            "(resumable, val and test, seeds paired with intervals; see its --help)"
        )
    from yolo_hybrid.integration.offline import prepare_offline

    prepare_offline(tempfile.mkdtemp(prefix="yolo_hybrid_bench_cfg_"))
    if args.quick:
        args.imgsz, args.runs, args.warmup, args.scales = 64, 1, 0, ["n"]
    if REFERENCE not in args.stock:
        parser.error(f"--stock must include {REFERENCE}: every ratio is to it")
    stem = Path(args.out)
    stem.parent.mkdir(parents=True, exist_ok=True)
    report = run(
        model_names(args.scales, args.ours, args.stock),
        args.imgsz,
        args.threads,
        args.runs,
        args.warmup,
        onnx=not args.no_onnx,
        train=not args.no_train,
        allocator=args.allocator,
    )
    report["quick"] = args.quick
    check_report(report)
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    stem.with_suffix(".md").write_text(table)
    plot(report, stem.with_suffix(".png"))
    print(table)
    print(f"wrote {stem}.json, {stem}.md, {stem}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
