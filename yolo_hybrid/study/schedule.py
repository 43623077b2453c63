"""The study's plan and its loop: which runs, in which order, which are done, and one child process per run.

Seed-major order (every config of seed 0, then of seed 1, ...), so a study stopped at any point holds whole seeds
for as many models as possible, and its first finished seed already compares every model. The study JSON is
rewritten after every finished run: it is the record (commit it), and a rerun skips every run it holds.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from yolo_hybrid.errors import YoloHybridError
from yolo_hybrid.study.runner import run_name

__all__ = ["SETS", "FAMILIES", "study_configs", "base_config", "dataset_fingerprint", "Study"]

FAMILIES = ("bot3", "cot", "smt", "cmt")
SETS = ("yolov8", "yolo11", "yolo26")


def study_configs(sets, scale: str = "n") -> list[str]:
    """Each set's stock model and its four forms at ``scale``: ``["yolov8"]`` -> ``yolov8n.yaml``,
    ``yolov8n-bot3``..."""
    unknown = [s for s in sets if s not in SETS]
    if unknown:
        raise YoloHybridError(f"--sets {' '.join(unknown)}: unknown; the sets are {', '.join(SETS)}")
    return [f"{base}{scale}{suffix}.yaml" for base in sets for suffix in ("", *(f"-{f}" for f in FAMILIES))]


def base_config(config: str) -> str:
    """The stock model a config is built on: ``yolo26n-cot.yaml`` -> ``yolo26n.yaml``; stock models are their own."""
    stem = Path(config).stem
    return stem.split("-", 1)[0] + ".yaml"


def _split_images(root: Path, entry) -> list[Path]:
    from ultralytics.data.utils import IMG_FORMATS

    paths = []
    for item in entry if isinstance(entry, list) else [entry]:
        p = Path(item) if Path(item).is_absolute() else root / item
        if p.is_dir():
            paths += sorted(q for q in p.rglob("*") if q.suffix[1:].lower() in IMG_FORMATS)
        elif p.is_file():  # a .txt list of image paths
            paths += [
                Path(line.strip()) if Path(line.strip()).is_absolute() else p.parent / line.strip()
                for line in p.read_text().splitlines()
                if line.strip()
            ]
    return paths


def dataset_fingerprint(data: str | Path) -> dict:
    """Name, images per split and a SHA-256 over every label file of a detection dataset YAML.

    Two machines' copies of the same dataset agree (paths are not hashed, only each label file's name and bytes), so
    a study started on one machine resumes on another; a changed label does not.
    """
    import yaml
    from ultralytics.data.utils import img2label_paths

    data = Path(data)
    if not data.is_file():
        raise YoloHybridError(f"--data {data}: no such file; give the dataset YAML (Ultralytics' data= file)")
    spec = yaml.safe_load(data.read_text())
    root = Path(spec.get("path") or data.parent)
    root = root if root.is_absolute() else (data.parent / root).resolve()
    digest = hashlib.sha256()
    counts = {}
    for split in ("train", "val", "test"):
        if not spec.get(split):
            continue
        images = _split_images(root, spec[split])
        if not images:
            raise YoloHybridError(f"--data {data}: split '{split}' ({spec[split]}) holds no images under {root}")
        counts[split] = len(images)
        for label in img2label_paths([str(p) for p in images]):
            label = Path(label)
            digest.update(f"{split}/{label.name}\n".encode())
            if label.exists():
                digest.update(label.read_bytes())
    for split in ("train", "val"):
        if split not in counts:
            raise YoloHybridError(f"--data {data}: no '{split}' split; the study trains on train and chooses on val")
    names = spec.get("names")
    names = list(names.values()) if isinstance(names, dict) else list(names or [])
    return {
        "name": data.parent.name if data.stem == "data" else data.stem,
        "images": counts,
        "classes": names,
        "labels_sha256": digest.hexdigest(),
    }


def _die_with_parent() -> None:
    """In the child, before exec: Linux sends it SIGKILL when the study process dies, however it dies, so a killed
    study leaves no orphan training on (which would race the rerun's child for the same run folder)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _bar(done: int, total: int, width: int = 24) -> str:
    filled = round(width * done / total) if total else width
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
    )


class Study:
    """A set of (config, seed) runs under one protocol, recorded in ``<out>.json`` and trained under ``workdir``.

    Args:
        configs (list[str]): Model YAMLs (each config's stock base must be among them for its difference).
        seeds (list[int]): Seeds; every config is trained once per seed.
        protocol (dict): What every run shares (dataset fingerprint, imgsz, epochs, batch, device type, recipe).
        data (str): The dataset YAML (its path may differ between machines; the fingerprint may not).
        out (Path): Path stem of the JSON, Markdown and PNG.
        workdir (Path): Where run folders live.
        device (str): Ultralytics' ``device``.
        jobs (int): Runs trained at once (several models side by side on one GPU; 1 on a CPU).
    """

    def __init__(
        self,
        configs,
        seeds,
        protocol: dict,
        data: str,
        out: Path,
        workdir: Path,
        device: str = "cpu",
        jobs: int = 1,
        has_test: bool = True,
    ):
        self.configs, self.seeds, self.protocol, self.data = list(configs), list(seeds), protocol, str(data)
        self.out, self.workdir, self.device, self.jobs, self.has_test = Path(out), Path(workdir), device, jobs, has_test
        self.path = self.out.with_suffix(".json")
        self.runs: dict[tuple[str, int], dict] = {}
        if self.path.exists():
            previous = json.loads(self.path.read_text())
            if previous.get("protocol") != protocol:
                changed = sorted(
                    k
                    for k in {**protocol, **previous.get("protocol", {})}
                    if protocol.get(k) != previous.get("protocol", {}).get(k)
                )
                raise YoloHybridError(
                    f"{self.path} holds a study with another protocol (differs in: {', '.join(changed)}); "
                    "a study never mixes protocols: give another --out, or move that file away to start over"
                )
            self.runs = {(r["config"], r["seed"]): r for r in previous.get("runs", [])}

    def run_dir(self, config: str, seed: int) -> Path:
        return self.workdir / run_name(config, seed)

    def pending(self) -> list[tuple[str, int]]:
        """Runs not yet in the record, seed-major; a finished run's ``result.json`` is adopted on the way."""
        todo = []
        for seed in self.seeds:
            for config in self.configs:
                if (config, seed) in self.runs:
                    continue
                result = self.run_dir(config, seed) / "result.json"
                if result.exists():
                    record = json.loads(result.read_text())
                    if record.get("protocol") == self.protocol:
                        self.runs[(config, seed)] = record
                        continue
                todo.append((config, seed))
        return todo

    def save(self, on_save=None) -> None:
        ordered = sorted(
            self.runs.values(),
            key=lambda r: (
                r["seed"],
                self.configs.index(r["config"]) if r["config"] in self.configs else len(self.configs),
            ),
        )
        report = {"protocol": self.protocol, "configs": self.configs, "seeds": self.seeds, "runs": ordered}
        if on_save is not None:
            report = on_save(report)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(report, indent=2) + "\n")
        os.replace(tmp, self.path)

    def _start(self, config: str, seed: int) -> subprocess.Popen:
        run_dir = self.run_dir(config, seed)
        run_dir.mkdir(parents=True, exist_ok=True)
        spec = {
            "config": config,
            "seed": seed,
            "data": self.data,
            "epochs": self.protocol["epochs"],
            "imgsz": self.protocol["imgsz"],
            "batch": self.protocol["batch"],
            "device": self.device,
            "run_dir": str(run_dir),
            "has_test": self.has_test,
            "protocol": self.protocol,
        }
        log = open(run_dir / "train.log", "a")  # noqa: SIM115 (closed when the child is reaped)
        proc = subprocess.Popen(
            [sys.executable, "-m", "yolo_hybrid.study.runner", json.dumps(spec)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        proc.log = log
        return proc

    def run(self, on_save=None, echo=print, budget_s: float = float("inf")) -> list[tuple[str, int]]:
        """Train every pending run (``jobs`` at a time), recording each the moment it finishes.

        Args:
            on_save: Called with the report before each write (adds the summary).
            echo: Where progress lines go.
            budget_s (float): No run starts once this many seconds have passed (runs under way finish); the rest
                stay pending for the next invocation, so a study fits a machine lent for a fixed time.

        Returns:
            (list[tuple[str, int]]): The runs that failed (their ``train.log`` tells why); empty when all finished.
        """
        todo = self.pending()
        total = len(self.configs) * len(self.seeds)
        done_before = total - len(todo)
        echo(f"[study] {total} runs: {done_before} done, {len(todo)} to train under {self.workdir}")
        self.save(on_save)
        began, finished, failed = time.perf_counter(), 0, []
        running: dict[tuple[str, int], subprocess.Popen] = {}
        while todo or running:
            if todo and time.perf_counter() - began > budget_s:
                echo(f"[study] time budget spent: {len(todo)} runs not started; the same command trains them")
                todo = []
            while todo and len(running) < self.jobs:
                config, seed = todo.pop(0)
                last = self.run_dir(config, seed) / "weights" / "last.pt"
                echo(f"[study] start {config} seed {seed}" + (" (resuming from its last.pt)" if last.exists() else ""))
                running[(config, seed)] = self._start(config, seed)
            time.sleep(1)
            for key, proc in list(running.items()):
                if proc.poll() is None:
                    continue
                proc.log.close()
                del running[key]
                result = self.run_dir(*key) / "result.json"
                if proc.returncode == 0 and result.exists():
                    self.runs[key] = json.loads(result.read_text())
                    self.save(on_save)
                    finished += 1
                    val = self.runs[key]["val"]
                    echo(
                        f"[study] done {key[0]} seed {key[1]}: val mAP50-95 {val['map50_95']:.3f}, "
                        f"mAP50 {val['map50']:.3f}"
                    )
                else:
                    failed.append(key)
                    tail = (self.run_dir(*key) / "train.log").read_text(errors="replace")[-2000:]
                    echo(
                        f"[study] FAILED {key[0]} seed {key[1]} (exit {proc.returncode}); end of its train.log:\n{tail}"
                    )
                done = done_before + finished + len(failed)
                elapsed = time.perf_counter() - began
                remaining = total - done
                eta = elapsed / max(finished + len(failed), 1) * remaining
                echo(
                    f"[study] {_bar(done, total)} {done}/{total} runs, {_clock(elapsed)} elapsed, "
                    f"ETA {_clock(eta) if remaining else '0m00s'}"
                )
        return failed
