"""The study's plan and its resumability: a study killed mid-run, run again, skips what finished and resumes the
rest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from yolo_hybrid.data import make_dataset
from yolo_hybrid.study.runner import checkpoint_epoch
from yolo_hybrid.study.schedule import base_config, dataset_fingerprint, study_configs

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "datasets"


def test_sets_and_bases():
    assert study_configs(["yolov8"]) == [
        "yolov8n.yaml",
        "yolov8n-bot3.yaml",
        "yolov8n-cot.yaml",
        "yolov8n-smt.yaml",
        "yolov8n-cmt.yaml",
    ]
    assert study_configs(["yolo26"], "s")[0] == "yolo26s.yaml"
    assert [base_config(c) for c in ("yolo26n-cot.yaml", "yolov8n.yaml")] == ["yolo26n.yaml", "yolov8n.yaml"]
    with pytest.raises(Exception, match="--sets yolov9: unknown; the sets are yolov8, yolo11, yolo26"):
        study_configs(["yolov9"])


@pytest.mark.parametrize(
    ("name", "images", "classes"),
    [
        ("bccd", {"train": 205, "val": 87, "test": 72}, ["RBC", "WBC", "Platelets"]),
        (
            "aquarium",
            {"train": 448, "val": 127, "test": 63},
            ["fish", "jellyfish", "penguin", "puffin", "shark", "starfish", "stingray"],
        ),
    ],
)
def test_shared_datasets_fingerprint(name, images, classes):
    # the counts are the datasets' READMEs'; a user's clone has no ../shared, and this test says so instead of failing
    data = SHARED / name / "data.yaml"
    if not data.exists():
        pytest.skip(f"{data} absent (the real datasets live beside the project's checkout in development and CI)")
    fp = dataset_fingerprint(data)
    assert (fp["name"], fp["images"], fp["classes"]) == (name, images, classes)
    assert len(fp["labels_sha256"]) == 64


def _dataset(tmp_path: Path) -> Path:
    data = make_dataset(tmp_path / "toy", task="detect", n_train=16, n_val=8, imgsz=64, seed=0)
    data.write_text(data.read_text() + "test: images/val\n")
    return data


def test_missing_data_and_other_protocol_are_clear_errors(tmp_path):
    study = [sys.executable, "-m", "yolo_hybrid.study", "--out", str(tmp_path / "s"), "--configs", "yolov8n.yaml"]
    missing = subprocess.run([*study, "--data", str(tmp_path / "nope.yaml")], capture_output=True, text=True)
    assert missing.returncode == 2 and "--data" in missing.stderr and "no such file" in missing.stderr
    no_base = subprocess.run(
        [*study[:-1], "yolo26n-cot.yaml", "--data", str(_dataset(tmp_path))], capture_output=True, text=True
    )
    assert no_base.returncode == 2 and "add yolo26n.yaml" in no_base.stderr
    (tmp_path / "s.json").write_text(json.dumps({"protocol": {"epochs": 99}, "runs": []}))
    other = subprocess.run([*study, "--data", str(_dataset(tmp_path)), "--epochs", "2"], capture_output=True, text=True)
    assert other.returncode == 2 and "another protocol" in other.stderr and "epochs" in other.stderr


def _stop_group(pgid: int, timeout: float = 10.0) -> None:
    """SIGSTOP a process group and wait until every member has stopped (the signal is delivered asynchronously, and
    a checkpoint write in flight completes first)."""
    os.killpg(pgid, signal.SIGSTOP)
    deadline = time.time() + timeout
    while time.time() < deadline:
        states = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()  # state, ppid, pgrp, ...
            except (OSError, IndexError):
                continue
            if int(fields[2]) == pgid:
                states.append(fields[0])
        if all(state in "TtZX" for state in states):
            return
        time.sleep(0.001)


@pytest.mark.slow
def test_killed_study_skips_finished_runs_and_resumes_the_interrupted_one(tmp_path):
    out, workdir = tmp_path / "study", tmp_path / "runs"
    cmd = [
        sys.executable,
        "-m",
        "yolo_hybrid.study",
        "--data",
        str(_dataset(tmp_path)),
        "--configs",
        "yolov8n.yaml",
        "yolov8n-bot3.yaml",
        "--imgsz",
        "64",
        "--epochs",
        "4",
        "--seeds",
        "0",
        "--out",
        str(out),
        "--workdir",
        str(workdir),
        "--bench",
        str(tmp_path / "no_bench.json"),
    ]
    env = {**os.environ, "YOLO_VERBOSE": "True"}  # Ultralytics' own "Resuming training ..." line, in train.log
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env)
    last = workdir / "yolov8n-bot3-s0" / "weights" / "last.pt"
    deadline = time.time() + 300
    seen = None
    try:  # kill the whole study once the second run has a readable checkpoint of an unfinished training
        while True:  # freeze the study at each new write of last.pt, so a fast machine cannot finish before we look
            assert first.poll() is None and time.time() < deadline, "the second run never wrote a checkpoint"
            if last.exists() and (stamp := (last.stat().st_mtime_ns, last.stat().st_size)) != seen:
                _stop_group(first.pid)
                if (epoch := checkpoint_epoch(last)) is not None and epoch >= 0:
                    break
                if epoch is not None:  # the final, stripped checkpoint; a half-written one is read again
                    seen = stamp
                os.killpg(first.pid, signal.SIGCONT)
            time.sleep(0.005)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert 0 <= epoch < 3, f"killed too late to test a resume (epoch {epoch})"
    stock = workdir / "yolov8n-s0" / "result.json"
    stock_record = json.loads(stock.read_text())
    assert [r["config"] for r in json.loads(out.with_suffix(".json").read_text())["runs"]] == ["yolov8n.yaml"]
    assert not (workdir / "yolov8n-bot3-s0" / "result.json").exists()

    second = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "2 runs: 1 done, 1 to train" in second.stdout
    assert "start yolov8n-bot3.yaml seed 0 (resuming from its last.pt)" in second.stdout
    assert "start yolov8n.yaml" not in second.stdout  # the finished run was not trained again
    assert json.loads(stock.read_text()) == stock_record
    report = json.loads(out.with_suffix(".json").read_text())
    resumed = {r["config"]: r for r in report["runs"]}["yolov8n-bot3.yaml"]
    assert resumed["resumed_at"] == [epoch + 1]  # Ultralytics' resume went on from the epoch after the checkpoint
    attempts = json.loads((workdir / "yolov8n-bot3-s0" / "attempts.json").read_text())
    # each attempt times the epochs it trained, not the final evaluation of best.pt as one more epoch
    assert attempts[-1]["first_epoch"] == epoch + 1 and attempts[-1]["epochs_done"] == 4 - (epoch + 1)
    assert json.loads(stock.parent.joinpath("attempts.json").read_text())[0]["epochs_done"] == 4
    log = (workdir / "yolov8n-bot3-s0" / "train.log").read_text()
    assert "Resuming training" in log and f"from epoch {epoch + 2} to 4 total epochs" in log
    assert resumed["val"]["map50_95"] >= 0 and resumed["test"] is not None
    assert list(report["summary"]) == ["yolov8n.yaml", "yolov8n-bot3.yaml"]
    assert out.with_suffix(".md").exists() and out.with_suffix(".png").exists()


def test_amp_stays_off_on_cpu_as_ultralytics_decides():
    import torch.nn as nn
    from ultralytics.utils.checks import check_amp

    from yolo_hybrid.study.runner import amp_on_accelerators

    model = nn.Conv2d(3, 4, 1)
    assert amp_on_accelerators(model) is False
    assert check_amp(model) is False  # Ultralytics' own answer on a CPU, reached before any download


@pytest.mark.slow
def test_runs_side_by_side_and_a_time_budget_leaves_the_rest_pending(tmp_path):
    # the GPU study's logic at a tiny size on the CPU: two runs at once (--jobs 2), no run started after the budget
    out = tmp_path / "study"
    cmd = [
        sys.executable,
        "-m",
        "yolo_hybrid.study",
        "--data",
        str(_dataset(tmp_path)),
        "--configs",
        "yolov8n.yaml",
        "yolov8n-cot.yaml",
        "--imgsz",
        "64",
        "--epochs",
        "1",
        "--seeds",
        "0",
        "1",
        "--jobs",
        "2",
        "--budget-minutes",
        "0.05",
        "--out",
        str(out),
        "--bench",
        str(tmp_path / "no_bench.json"),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "time budget spent: 2 runs not started" in proc.stdout
    runs = json.loads(out.with_suffix(".json").read_text())["runs"]
    assert [(r["config"], r["seed"]) for r in runs] == [("yolov8n.yaml", 0), ("yolov8n-cot.yaml", 0)]
    (a_start, a_end), (b_start, b_end) = ((r["started"], r["finished"]) for r in runs)
    assert a_start <= b_end and b_start <= a_end  # the two ran at the same time
