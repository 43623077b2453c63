"""Compiled against eager PyTorch on the CPU, every family next to stock, in one run. Table + JSON.

    python benchmarks/compile.py [--configs yolov8n.yaml yolov8n-cot.yaml ...] [--imgsz 320] [--threads 2]
                                 [--runs 15] [--warmup 2] [--train-configs ... | --no-train] [--backend inductor]
                                 [--quick]
                                 [--out benchmarks/results/compile]

The question: compiled fusion is how element-wise-heavy blocks (SMT's modulation, CMT's IRFFN, CoT's aggregation)
get cheap; does ``torch.compile`` close the gap between our blocks and stock YOLO on a CPU? Models: stock yolov8n and
the YOLOv8 n form of every family by default (``--configs`` adds e.g. the yolo26n forms); each config is timed next
to the stock model it is built on (``yolo26n-cot.yaml`` next to ``yolo26n.yaml``), added when missing. Per model:

* the fused eval model (what ``predict`` runs), batch 1, fp32, eager and ``torch.compile(model)`` (``--backend``,
  Inductor by default, default mode): the first compiled call's time (the compilation; Inductor's cache starts empty
  in a fresh folder, and a model compiled later may reuse kernels an earlier one compiled), the graphs dynamo
  captures and its graph breaks (``torch._dynamo.explain``; ``fullgraph=True`` holds where there are none), and the
  largest difference of the compiled outputs from eager, relative to the largest eager value;
* latency, every model in both modes timed round by round in turn (the modes' order alternates from round to round),
  the first ``--warmup`` rounds discarded: median and interquartile range per mode, the compiled/eager speed-up, the
  ratio to stock in each mode and compiled ours against eager stock, all paired per round (the median over rounds of
  the ratio within each round, ``python -m yolo_hybrid.bench``'s convention: a slow spell of a shared machine, which
  every model of the round sees, cancels);
* a training step (forward and backward with Ultralytics' loss, batch 2, 128 px, synthetic targets), eager and with
  the model compiled as Ultralytics' trainer runs it with ``compile=True`` (compiled forward, eager loss): the same
  figures, for every config or those of ``--train-configs`` (``--no-train``: none).

Every model is compiled for its own static shapes in one process: dynamo's recompile limit is raised (each model's
forward is another cache entry of the same code objects; past the default 8 a model would silently run eager) and
automatic dynamic shapes are off (another model's shapes in a shared code object would otherwise recompile it with
dynamic shapes). A compiled call that compiles anything while being timed is counted in the JSON. Compilation
leaves hundreds of thousands of Python objects behind: they are collected and frozen out of the garbage collector
once every model is compiled, and the collector is off during each timed call (as ``timeit`` does), so that a full
collection does not land in one model's timing.

Writes ``<out>.json`` (every timing, versions, CPU, threads, load average at start and end, torch/Inductor settings)
and ``<out>.md`` (the table). ``--quick`` checks the pipeline: 64 px, 2 rounds after 1 warm-up, stock yolov8n and
yolov8n-cot unless ``--configs`` names others; it claims no timing.
"""

from __future__ import annotations

import gc
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from common import arguments, prepare

CONFIGS = ("yolov8n.yaml", "yolov8n-bot3.yaml", "yolov8n-cot.yaml", "yolov8n-smt.yaml", "yolov8n-cmt.yaml")
QUICK_CONFIGS = ("yolov8n.yaml", "yolov8n-cot.yaml")
BACKENDS = ("inductor", "aot_eager", "eager")
TRAIN_BATCH, TRAIN_IMGSZ = 2, 128
RECOMPILE_LIMIT = 64
SLOW_COMPILE_S = 180.0  # a compilation longer than this is named under the table
MODES = ("eager", "compiled")


def stock_of(cfg: str) -> str:
    """The stock model a config is built on: ``yolo26n-cot.yaml`` -> ``yolo26n.yaml``; a stock config is its own."""
    return cfg.split("-")[0].removesuffix(".yaml") + ".yaml"


def with_stock(configs) -> list[str]:
    """``configs`` with the stock model each is built on inserted before its first user, once."""
    out: list[str] = []
    for cfg in configs:
        for name in (stock_of(cfg), cfg):
            if name not in out:
                out.append(name)
    return out


def _flat(out) -> list:
    import torch

    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        return [t for v in out.values() for t in _flat(v)]
    if isinstance(out, (list, tuple)):
        return [t for v in out for t in _flat(v)]
    return []


def relative_difference(got, want) -> float:
    """Largest ``|got - want|`` over every tensor of two model outputs, over the largest ``|want|``."""
    got, want = _flat(got), _flat(want)
    if len(got) != len(want) or not want:
        raise ValueError(f"outputs differ in structure: {len(got)} tensors against {len(want)}")
    diff = max(float((g.float() - w.float()).abs().max()) for g, w in zip(got, want, strict=True))
    scale = max(float(w.float().abs().max()) for w in want)
    return diff / scale if scale else diff


def graph_breaks(model, *args) -> dict:
    """Graphs dynamo captures for one call and its graph breaks, with their reasons (``torch._dynamo.explain``,
    which resets dynamo's caches before and after)."""
    import torch

    explained = torch._dynamo.explain(model)(*args)
    reasons = list(dict.fromkeys(str(b.reason).strip().splitlines()[0][:200] for b in explained.break_reasons))
    return {
        "graphs": explained.graph_count,
        "graph_breaks": explained.graph_break_count,
        "fullgraph": explained.graph_break_count == 0,
        "break_reasons": reasons[:5],
    }


def _graphs_compiled() -> int:
    from torch._dynamo.utils import counters

    return counters["stats"]["unique_graphs"]


def _ms(fn) -> float:
    """Milliseconds ``fn()`` takes, the garbage collector off meanwhile (its collections run between calls)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        fn()
        return (time.perf_counter() - start) * 1e3
    finally:
        if enabled:
            gc.enable()


def _train_step(forward, model, batch: dict) -> float:
    """Forward (``forward``: the model or its compiled form), Ultralytics' loss (eager, as its trainer runs it with
    ``compile=True``), backward; returns the loss."""
    preds = forward(batch["img"])
    loss, _ = model.loss(batch, preds)
    loss = loss.sum()
    loss.backward()
    model.zero_grad(set_to_none=True)
    return float(loss.detach())


@dataclass
class Subject:
    """One model in both modes: the fused eval model (kind ``eval``) and, with ``train``, a training model (kind
    ``train``), each with its compiled form once ``compile`` has built it."""

    name: str
    stock: str
    imgsz: int
    train: bool
    info: dict = field(default_factory=dict)  # per kind: graphs, breaks, compile time, differences, errors
    times: dict = field(default_factory=dict)  # per series (eager_ms, compiled_ms, train_eager_ms, ...): every round
    compiled: dict = field(default_factory=dict)  # per kind: the compiled model
    new_graphs: int = 0  # graphs compiled by timed calls (0 when every compiled call ran what compile() built)

    def build(self) -> None:
        """Both models, an eager warm-up call of each (sets the head's shape state, as ``predict``'s warm-up does),
        and dynamo's graphs and breaks for each call."""
        import torch
        from ultralytics import YOLO
        from ultralytics.cfg import get_cfg

        from yolo_hybrid.bench import train_batch

        torch.manual_seed(0)
        yolo = YOLO(self.name)
        if yolo.task != "detect":
            raise ValueError(f"{self.name} is a {yolo.task} config: this benchmark times detect configs")
        self.model = yolo.model.fuse(verbose=False).eval()
        self.x = torch.rand(1, 3, self.imgsz, self.imgsz, generator=torch.Generator().manual_seed(1))
        with torch.inference_mode():
            self.eager_out = self.model(self.x)
            self.info["eval"] = graph_breaks(self.model, self.x)
        self.times = {"eager_ms": [], "compiled_ms": []}
        if self.train:
            torch.manual_seed(0)
            self.train_model = YOLO(self.name).model.train()
            self.train_model.args = get_cfg()  # the loss reads its gains from the model's args, as a trainer sets
            self.batch = train_batch(self.train_model, TRAIN_BATCH, min(TRAIN_IMGSZ, self.imgsz))
            self.eager_loss = _train_step(self.train_model, self.train_model, self.batch)
            self.info["train"] = graph_breaks(self.train_model, self.batch["img"])
            self.times.update(train_eager_ms=[], train_compiled_ms=[])

    def call(self, kind: str, mode: str) -> None:
        """One eval forward (``kind="eval"``, under inference mode, as ``predict``) or one training step."""
        import torch

        if kind == "eval":
            with torch.inference_mode():
                (self.model if mode == "eager" else self.compiled["eval"])(self.x)
        else:
            forward = self.train_model if mode == "eager" else self.compiled["train"]
            _train_step(forward, self.train_model, self.batch)

    def compile(self, backend: str) -> None:
        """``torch.compile`` each model; time the first compiled call (the compilation) and the second. A
        compilation that fails is recorded (``error``) and that kind is then timed eager only."""
        import torch

        for kind, info in self.info.items():
            model = self.model if kind == "eval" else self.train_model
            self.compiled[kind] = torch.compile(model, backend=backend)
            graphs, start = _graphs_compiled(), time.perf_counter()
            try:
                with torch.inference_mode(kind == "eval"):
                    out = self.compiled[kind](self.x if kind == "eval" else self.batch["img"])
                    if kind == "train":  # the training step's compilation includes its backward
                        loss, _ = self.train_model.loss(self.batch, out)
                        loss.sum().backward()
                        self.train_model.zero_grad(set_to_none=True)
                info["compile_s"] = time.perf_counter() - start
                info["graphs_compiled"] = _graphs_compiled() - graphs
                if not info["graphs_compiled"]:
                    raise RuntimeError("torch.compile compiled no graph: the 'compiled' model ran eager")
                info[f"second_{'call' if kind == 'eval' else 'step'}_ms"] = _ms(lambda k=kind: self.call(k, "compiled"))
            except Exception as e:  # noqa: BLE001 - the benchmark goes on with the other models and says why
                info["error"] = f"{type(e).__name__}: {' '.join(str(e).split())[:300]}"
                del self.compiled[kind]
                self.times.pop("compiled_ms" if kind == "eval" else "train_compiled_ms")
                continue
            if kind == "eval":
                info["max_rel_diff"] = relative_difference(out, self.eager_out)
            else:
                info["loss_rel_diff"] = abs(float(loss.sum().detach()) - self.eager_loss) / abs(self.eager_loss)

    def time_round(self, order: tuple[str, ...]) -> None:
        """One timed call per mode, in ``order``, of the eval forward, then (with ``train``) the training step;
        a compiled call that compiles anything is counted (``new_graphs``)."""
        for kind in self.info:
            prefix = "" if kind == "eval" else "train_"
            for mode in order:
                if f"{prefix}{mode}_ms" not in self.times:
                    continue  # its compilation failed
                graphs = _graphs_compiled()
                self.times[f"{prefix}{mode}_ms"].append(_ms(lambda k=kind, m=mode: self.call(k, m)))
                self.new_graphs += _graphs_compiled() - graphs


def summarize(times: dict[str, dict[str, list[float]]], stock: dict[str, str]) -> dict[str, dict]:
    """Per model, from the timings of every round (``times[model]``: ``eager_ms``, ``compiled_ms`` and, when the
    training step was timed, ``train_eager_ms``, ``train_compiled_ms``; a compiled series is absent where its
    compilation failed): median and interquartile range of each series, the compiled/eager speed-up, each mode's
    ratio to the model's stock base (``stock[model]``) and compiled ours over eager stock, every ratio paired per
    round. A figure that needs an absent series is None."""
    from yolo_hybrid.bench import _median_iqr, paired_ratio

    def ratio(values, ref_values):
        return paired_ratio(values, ref_values) if values and ref_values else None

    out = {}
    for name, series in times.items():
        ref = times[stock[name]]
        row: dict = {}
        for prefix in ("", "train_"):
            eager = series.get(f"{prefix}eager_ms")
            if eager is None:
                continue  # the training step was not timed
            compiled = series.get(f"{prefix}compiled_ms")
            for mode, values in (("eager", eager), ("compiled", compiled)):
                row[f"{prefix}{mode}_ms"], row[f"{prefix}{mode}_iqr_ms"] = _median_iqr(values or [])
            row[f"{prefix}speedup"] = ratio(eager, compiled)
            row[f"{prefix}eager_x_stock"] = ratio(eager, ref.get(f"{prefix}eager_ms"))
            row[f"{prefix}compiled_x_stock"] = ratio(compiled, ref.get(f"{prefix}compiled_ms"))
            row[f"{prefix}compiled_x_stock_eager"] = ratio(compiled, ref.get(f"{prefix}eager_ms"))
        out[name] = row
    return out


def _cpp_compiler() -> dict:
    try:
        from torch._inductor.cpp_builder import get_cpp_compiler

        compiler = get_cpp_compiler()
        version = subprocess.run([compiler, "--version"], capture_output=True, text=True, check=True).stdout
        return {"cpp_compiler": compiler, "cpp_compiler_version": version.splitlines()[0]}
    except Exception as e:  # noqa: BLE001 - recorded, not fatal: only Inductor needs it, and it says so itself
        return {"cpp_compiler": None, "cpp_compiler_error": str(e)[:200]}


def source_state() -> dict | None:
    """The commit measured and the package files that differed from it (the measurement is of the working tree);
    None outside a git checkout."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "yolo_hybrid"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return {"commit": commit, "modified": [line[3:] for line in status.splitlines()]}


def settings(backend: str) -> dict:
    """What the compiled models were compiled with: backend and mode, dynamo's and Inductor's settings that bear on
    the figures, the vector ISA Inductor generates for and its C++ compiler."""
    import torch
    import torch._inductor.config as inductor

    out = {
        "backend": backend,
        "mode": "default",
        "dynamo": {
            "recompile_limit": torch._dynamo.config.recompile_limit,
            "automatic_dynamic_shapes": torch._dynamo.config.automatic_dynamic_shapes,
        },
    }
    if backend == "inductor":
        from torch._inductor.cpu_vec_isa import pick_vec_isa

        out["inductor"] = {
            "freezing": inductor.freezing,
            "cpp_wrapper": inductor.cpp_wrapper,
            "max_autotune": inductor.max_autotune,
            "compile_threads": inductor.compile_threads,
            "fx_graph_cache": inductor.fx_graph_cache,
            "cpp_threads": inductor.cpp.threads,
            "vec_isa": str(pick_vec_isa()) or "none",
            "cache_dir": os.environ.get("TORCHINDUCTOR_CACHE_DIR"),
            **_cpp_compiler(),
        }
    return out


def run(
    configs,
    imgsz: int = 320,
    threads: int = 2,
    runs: int = 15,
    warmup: int = 2,
    train: bool | list[str] = True,
    backend: str = "inductor",
    allocator: str = "reuse",
    progress: bool = True,
) -> dict:
    """Measure every config of ``configs`` (and its stock base) eager and compiled; returns the report.

    ``train``: time the training step of every model (True), of none (False), or of the configs listed (and their
    stock bases; each must be in ``configs``).
    """
    import torch
    import ultralytics

    import yolo_hybrid
    from yolo_hybrid.bench import _cpu_name, keep_freed_memory

    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r}: use one of {', '.join(BACKENDS)}")
    if allocator not in ("reuse", "default"):
        raise ValueError(f"allocator={allocator!r}: use 'reuse' or 'default'")
    if runs < 1 or warmup < 0:
        raise ValueError(f"runs={runs}, warmup={warmup}: time at least one round (--runs 1), warm up 0 or more")

    names = with_stock(configs)
    trained = names if train is True else with_stock(train or [])
    if set(trained) - set(names):
        raise ValueError(
            f"train configs {sorted(set(trained) - set(names))} are not among the configs timed: add them to configs"
        )

    def say(text: str) -> None:
        if progress:
            print(text, flush=True)

    load_start, source = os.getloadavg(), source_state()
    allocator = keep_freed_memory() if allocator == "reuse" else "default"
    torch.set_num_threads(threads)
    subjects = [Subject(name, stock_of(name), imgsz, name in trained) for name in names]
    started = time.perf_counter()
    with torch._dynamo.config.patch(recompile_limit=RECOMPILE_LIMIT, automatic_dynamic_shapes=False):
        compile_settings = settings(backend)
        for s in subjects:
            say(f"building {s.name}")
            s.build()
        torch._dynamo.reset()  # explain() resets dynamo: every compilation after the last explain()
        for s in subjects:
            s.compile(backend)
            done = [
                f"{kind} " + (f"{info['compile_s']:.1f} s" if "error" not in info else f"FAILED ({info['error']})")
                for kind, info in s.info.items()
            ]
            say(f"compiled {s.name}: {', '.join(done)}")
        gc.collect()
        gc.freeze()  # what compilation left: out of every later collection
        for round_ in range(warmup + runs):
            order = MODES if round_ % 2 == 0 else MODES[::-1]
            for s in subjects:
                s.time_round(order)
            if round_ < warmup:
                for s in subjects:
                    s.times = {key: [] for key in s.times}
            say(f"round {round_ + 1}/{warmup + runs}")
    load_end = os.getloadavg()
    figures = summarize({s.name: s.times for s in subjects}, {s.name: s.stock for s in subjects})
    rows = [
        {
            "model": s.name,
            "stock": s.name == s.stock,
            "stock_base": s.stock,
            **figures[s.name],
            **{f"eval_{k}": v for k, v in s.info["eval"].items()},
            **{f"train_{k}": v for k, v in s.info.get("train", {}).items()},
            "graphs_compiled_while_timing": s.new_graphs,
            "rounds": s.times,
        }
        for s in subjects
    ]
    return {
        "imgsz": imgsz,
        "threads": threads,
        "runs": runs,
        "warmup": warmup,
        "batch": 1,
        "dtype": "float32",
        "train": {"batch": TRAIN_BATCH, "imgsz": min(TRAIN_IMGSZ, imgsz), "models": trained} if trained else None,
        "torch": torch.__version__,
        "ultralytics": ultralytics.__version__,
        "yolo_hybrid": yolo_hybrid.__version__,
        "python": platform.python_version(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "load_average": {"start": list(load_start), "end": list(load_end)},
        "niceness": os.nice(0) if hasattr(os, "nice") else None,
        "source": source,
        "allocator": allocator,
        "gc": "collected and frozen after compilation; off during each timed call",
        "compile": compile_settings,
        "compile_order": names,
        "wall_s": time.perf_counter() - started,
        "rows": rows,
    }


def _f(value: float | None, fmt: str) -> str:
    return "-" if value is None else f"{value:{fmt}}"


def _fullgraph(row: dict, kind: str) -> str:
    return f"{'yes' if row[f'{kind}_fullgraph'] else 'no'} ({row[f'{kind}_graphs']})"


def markdown(report: dict) -> str:
    """The caption (machine, load, settings), the inference table, the training-step table when it was measured,
    and notes: slow compilations, graph breaks, failures, recompilations while timing."""
    load = report["load_average"]
    shared = max(load["start"][0], load["end"][0]) >= 0.5
    caption = (
        f"{report['cpu']}, {report['cpu_count']} cores, {report['threads']} threads, torch {report['torch']}, "
        f"Ultralytics {report['ultralytics']}, `torch.compile` backend {report['compile']['backend']} (default "
        f"mode), {report['imgsz']} px, batch 1, fp32, {report['runs']} rounds after {report['warmup']} warm-up; load "
        f"average (1 min) {load['start'][0]:.1f} at the start, {load['end'][0]:.1f} at the end"
        + (
            ": the machine was shared with other work, so read the paired ratios rather than the times"
            if shared
            else ""
        )
        + ". Times are medians over the rounds; speed-up (eager / compiled) and × stock (to the stock model the config"
        " is built on) are medians of the ratio within each round."
    )
    lines = [
        caption,
        "",
        "| model | compile s | fullgraph (graphs) | eager ms | compiled ms | speed-up | eager × stock | "
        "compiled × stock | compiled × eager stock | max rel. diff |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["rows"]:
        name = f"`{r['model']}`" + (" (stock)" if r["stock"] else "")
        lines.append(
            f"| {name} | {_f(r.get('eval_compile_s'), '.0f')} | {_fullgraph(r, 'eval')} | {_f(r['eager_ms'], '.1f')} "
            f"| {_f(r['compiled_ms'], '.1f')} | {_f(r['speedup'], '.2f')} | {_f(r['eager_x_stock'], '.2f')} | "
            f"{_f(r['compiled_x_stock'], '.2f')} | {_f(r['compiled_x_stock_eager'], '.2f')} | "
            f"{_f(r.get('eval_max_rel_diff'), '.0e')} |"
        )
    if report["train"]:
        lines += [
            "",
            f"Training step (forward and backward with Ultralytics' loss, batch {report['train']['batch']}, "
            f"{report['train']['imgsz']} px, synthetic targets; compiled: the model, the loss eager, as Ultralytics' "
            "trainer runs `compile=True`; compile s: the first step, backward included):",
            "",
            "| model | compile s | fullgraph (graphs) | eager step ms | compiled step ms | speed-up | eager × stock | "
            "compiled × stock | compiled × eager stock | loss rel. diff |",
            "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in (r for r in report["rows"] if "train_eager_ms" in r):
            name = f"`{r['model']}`" + (" (stock)" if r["stock"] else "")
            lines.append(
                f"| {name} | {_f(r.get('train_compile_s'), '.0f')} | {_fullgraph(r, 'train')} | "
                f"{_f(r['train_eager_ms'], '.0f')} | {_f(r['train_compiled_ms'], '.0f')} | "
                f"{_f(r['train_speedup'], '.2f')} | {_f(r['train_eager_x_stock'], '.2f')} | "
                f"{_f(r['train_compiled_x_stock'], '.2f')} | {_f(r['train_compiled_x_stock_eager'], '.2f')} | "
                f"{_f(r.get('train_loss_rel_diff'), '.0e')} |"
            )
    kinds = ("eval", "train") if report["train"] else ("eval",)
    notes = []
    slow = [
        f"`{r['model']}` {'training step' if kind == 'train' else 'eval'} {r[f'{kind}_compile_s'] / 60:.1f} min"
        for r in report["rows"]
        for kind in kinds
        if (r.get(f"{kind}_compile_s") or 0) > SLOW_COMPILE_S
    ]
    if slow:
        notes.append(f"Compilations over {SLOW_COMPILE_S / 60:.0f} min: {', '.join(slow)}.")
    for r in report["rows"]:
        for kind in kinds:
            if r.get(f"{kind}_break_reasons"):
                reasons = "; ".join(f"`{b}`" for b in r[f"{kind}_break_reasons"])
                notes.append(f"`{r['model']}` {kind}: {r[f'{kind}_graph_breaks']} graph break(s): {reasons}.")
            if r.get(f"{kind}_error"):
                notes.append(f"`{r['model']}` {kind}: compilation failed, timed eager only: `{r[f'{kind}_error']}`.")
        if r["graphs_compiled_while_timing"]:
            notes.append(
                f"`{r['model']}`: {r['graphs_compiled_while_timing']} graph(s) compiled while timing (recompilation "
                "inside timed rounds)."
            )
    if report.get("quick"):
        notes.append("`--quick`: a check of the pipeline, not a measurement.")
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def main(argv=None) -> int:
    parser = arguments(__doc__, CONFIGS, 15, "compile", stem=True)
    parser.set_defaults(imgsz=320, threads=2)
    parser.add_argument(
        "--train-configs", nargs="+", help="time the training step of these configs only (default: every config)"
    )
    parser.add_argument("--no-train", action="store_true", help="skip the training step")
    parser.add_argument("--backend", choices=BACKENDS, default="inductor", help="torch.compile backend")
    parser.add_argument(
        "--allocator",
        choices=("reuse", "default"),
        default="reuse",
        help="reuse: glibc keeps freed memory for reuse while timing, as python -m yolo_hybrid.bench (default)",
    )
    parser.add_argument("--quick", action="store_true", help="64 px, 2 rounds, two models: checks the pipeline only")
    args = parser.parse_args(argv)
    if args.quick:
        args.imgsz, args.runs, args.warmup = 64, 2, 1
        if args.configs == list(CONFIGS):
            args.configs = list(QUICK_CONFIGS)
    # Inductor's cache in a fresh folder: compile times are those of a first compilation (set before torch reads it)
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", tempfile.mkdtemp(prefix="yolo_hybrid_compile_inductor_"))
    prepare("compile", args.threads)
    report = run(
        args.configs,
        args.imgsz,
        args.threads,
        args.runs,
        args.warmup,
        train=False if args.no_train else (args.train_configs or True),
        backend=args.backend,
        allocator=args.allocator,
    )
    report["quick"] = args.quick
    import json

    stem = Path(args.out)
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    stem.with_suffix(".md").write_text(table)
    print(table)
    print(f"wrote {stem}.json, {stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
