"""The accuracy study's runs: each (config, seed) trained and evaluated in a process of its own, resumable.

Layout under the work directory (``<out>_runs/`` unless ``--workdir`` names another)::

    <workdir>/<config stem>-s<seed>/   Ultralytics' run folder: weights/last.pt, weights/best.pt, results.csv
                                      train.log    the child's output, appended by every attempt
                                      attempts.json one entry per attempt: first epoch, seconds
                                      result.json  written once, atomically, when training and evaluation are done

A run is skipped when the study JSON already holds it (that file is the record, committed with the results) or
when its ``result.json`` exists; it resumes through Ultralytics' own resume when ``last.pt`` holds an unfinished
epoch count; a ``last.pt`` that cannot be read (a kill during its write) starts the run again, and says so. Each
attempt's seconds are logged after every epoch, so time spent in epochs finished before a kill is counted. A
resumed run is not bit-identical to an uninterrupted one (Ultralytics does not checkpoint the RNG state), which the
record states (``resumed_at``).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["run_name", "checkpoint_epoch", "amp_on_accelerators", "train_and_evaluate", "device_name", "versions"]


def run_name(config: str, seed: int) -> str:
    """The run folder's name: ``yolov8n-cot.yaml``, seed 2 -> ``yolov8n-cot-s2``."""
    return f"{Path(config).stem}-s{seed}"


def checkpoint_epoch(path: Path) -> int | None:
    """The last finished epoch (0-based) stored in an Ultralytics checkpoint; -1 once stripped after training; None
    when the file is missing or unreadable."""
    if not path.exists():
        return None
    import torch

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception:  # truncated by a kill during the write: any unpickling error means "no usable checkpoint"
        return None
    return int(ckpt.get("epoch", -1)) if isinstance(ckpt, dict) else None


def device_name(device: str) -> str:
    """What ran it, in words: the GPU's name for a CUDA device, else the CPU model and its core count."""
    import torch

    if device not in ("cpu", "") and torch.cuda.is_available():
        index = int(str(device).split(",")[0])
        return f"{torch.cuda.get_device_name(index)} (CUDA)"
    model = platform.processor() or "CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        # results written while the study runs (its own JSON among them) do not make the code dirty
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)benchmarks/results"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if commit.returncode:
        return None
    return commit.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def versions() -> dict:
    """torch, Ultralytics, yolo_hybrid, Python and the git commit of the package's checkout (None outside one)."""
    import torch
    import ultralytics

    import yolo_hybrid

    return {
        "torch": torch.__version__,
        "ultralytics": ultralytics.__version__,
        "yolo_hybrid": yolo_hybrid.__version__,
        "python": platform.python_version(),
        "commit": _git_commit(),
    }


def _evaluate(weights: Path, data: str, split: str, spec: dict) -> dict | None:
    """mAP50-95, mAP50 and per-class AP50-95 of ``weights`` on one split of ``data``."""
    from ultralytics import YOLO

    metrics = YOLO(str(weights)).val(
        data=data,
        split=split,
        imgsz=spec["imgsz"],
        batch=spec["batch"],
        device=spec["device"],
        plots=False,
        verbose=False,
        project=str(Path(spec["run_dir"]) / "eval"),
        name=split,
        exist_ok=True,
    )
    box = metrics.box
    per_class = {metrics.names[int(c)]: float(box.all_ap[i].mean()) for i, c in enumerate(box.ap_class_index)}
    return {"map50_95": float(box.map), "map50": float(box.map50), "per_class_map50_95": per_class}


def _peak_memory_mib(device: str) -> dict:
    out = {"peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}  # Linux: KiB
    import torch

    if device not in ("cpu", "") and torch.cuda.is_available():
        out["peak_cuda_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def amp_on_accelerators(model) -> bool:
    """Ultralytics' ``check_amp`` without its download: AMP on a GPU (the default recipe's ``amp=True``), never on a
    CPU or MPS device, as ``check_amp`` itself decides before it fetches yolo26n.pt to test AMP (which offline fails).

    Answering True on a CPU (as ``bench --compare-training`` did) trains under bfloat16 autocast there: ~10x slower
    on this 2-core VM (PyTorch's reference GEMM) and not Ultralytics' CPU training.
    """
    return next(model.parameters()).device.type not in {"cpu", "mps"}


def train_and_evaluate(spec: dict) -> dict:
    """Train one (config, seed) to ``spec['epochs']`` (fresh or resumed), then evaluate ``best.pt`` on val and test.

    Runs in the child process that the study starts for each run; writes ``result.json`` in the run folder.

    Args:
        spec (dict): ``config``, ``seed``, ``data``, ``epochs``, ``imgsz``, ``batch``, ``device``, ``run_dir``,
            ``has_test`` and ``protocol`` (copied into the result).

    Returns:
        (dict): The run's record (what ``result.json`` holds).
    """
    import ultralytics.engine.trainer as trainer
    from ultralytics import YOLO

    import yolo_hybrid

    yolo_hybrid.register()
    trainer.check_amp = amp_on_accelerators
    run_dir = Path(spec["run_dir"])
    weights = run_dir / "weights"
    epoch = checkpoint_epoch(weights / "last.pt")
    attempts_file = run_dir / "attempts.json"
    attempts = json.loads(attempts_file.read_text()) if attempts_file.exists() and epoch is not None else []
    first_epoch = 0 if epoch is None else (spec["epochs"] if epoch < 0 else epoch + 1)
    began = time.perf_counter()
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    attempt = {"first_epoch": first_epoch, "epochs_done": 0, "seconds": 0.0}
    attempts.append(attempt)

    def log_attempt(trainer_=None) -> None:  # after every epoch, so a killed attempt keeps its finished epochs' time
        if trainer_ is not None:
            # min(): the final evaluation of best.pt fires this callback again with the epoch advanced by one
            attempt["epochs_done"] = min(trainer_.epoch + 1, trainer_.epochs) - first_epoch
            attempt["seconds"] = round(time.perf_counter() - began, 1)
        attempts_file.write_text(json.dumps(attempts) + "\n")

    if epoch is None:
        run_dir.mkdir(parents=True, exist_ok=True)
        for item in run_dir.iterdir():  # a start that died before its first checkpoint, or a checkpoint cut short
            if item.name != "train.log":  # the study appends this attempt's output to it
                shutil.rmtree(item) if item.is_dir() else item.unlink()
        log_attempt()
        model = YOLO(spec["config"])
        model.add_callback("on_fit_epoch_end", log_attempt)
        model.train(
            data=spec["data"],
            epochs=spec["epochs"],
            imgsz=spec["imgsz"],
            batch=spec["batch"],
            device=spec["device"],
            seed=spec["seed"],
            project=str(run_dir.parent),
            name=run_dir.name,
            exist_ok=True,
            plots=False,
        )
    elif 0 <= epoch < spec["epochs"] - 1:
        print(f"[study] resuming {run_dir.name} at epoch {epoch + 2} of {spec['epochs']}", flush=True)
        log_attempt()
        model = YOLO(str(weights / "last.pt"))
        model.add_callback("on_fit_epoch_end", log_attempt)
        # data and save_dir passed again: the checkpoint holds the paths of the machine that started the run
        model.train(resume=True, data=spec["data"], device=spec["device"], save_dir=str(run_dir), plots=False)
    else:
        print(f"[study] {run_dir.name}: training had finished; evaluating", flush=True)
        log_attempt()
    train_seconds = sum(a["seconds"] for a in attempts)
    epochs_timed = sum(a["epochs_done"] for a in attempts)
    best = weights / "best.pt"
    eval_began = time.perf_counter()
    val = _evaluate(best, spec["data"], "val", spec)
    test = _evaluate(best, spec["data"], "test", spec) if spec["has_test"] else None
    record = {
        "config": spec["config"],
        "seed": spec["seed"],
        "epochs": spec["epochs"],
        "imgsz": spec["imgsz"],
        "batch": spec["batch"],
        "device": device_name(spec["device"]),
        "protocol": spec["protocol"],
        "train_seconds": round(train_seconds, 1),
        "seconds_per_epoch": round(train_seconds / epochs_timed, 2) if epochs_timed else None,
        "resumed_at": [a["first_epoch"] for a in attempts[1:] if a["first_epoch"] < spec["epochs"]],
        **_peak_memory_mib(spec["device"]),
        "eval_seconds": round(time.perf_counter() - eval_began, 1),
        "val": val,
        "test": test,
        "versions": versions(),
        "started": started,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    tmp = run_dir / "result.json.tmp"
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, run_dir / "result.json")  # atomic: a kill leaves either no result or the whole one
    return record


def main_one(spec_json: str) -> int:
    """Entry of the child process: ``python -m yolo_hybrid.study --one '<spec as JSON>'``."""
    train_and_evaluate(json.loads(spec_json))
    return 0


if __name__ == "__main__":
    sys.exit(main_one(sys.argv[1]))
