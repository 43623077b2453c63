"""The shipped benchmark (``python -m yolo_hybrid.bench``): its pipeline end to end at a tiny size, and its schema.

No timing is asserted (timings belong to benchmark runs, not tests): the quick run proves that every figure is
produced for our config next to stock yolov8, that ratios are to stock, and that the JSON, Markdown and PNG exist.
"""

from __future__ import annotations

import copy
import json
import math
import platform
import statistics
import subprocess
import sys

import pytest

from yolo_hybrid import bench


def test_names_are_the_ones_users_write():
    names = bench.model_names(["n", "s"], ours=("yolov8-cmt",), stock=("yolov8", "yolo11"))
    assert [n[0] for n in names] == [
        "yolov8n.yaml",
        "yolo11n.yaml",
        "yolov8n-cmt.yaml",
        "yolov8s.yaml",
        "yolo11s.yaml",
        "yolov8s-cmt.yaml",
    ]
    assert [n[3] for n in names] == [True, True, False, True, True, False]


@pytest.mark.slow
def test_quick_run_writes_a_valid_report(tmp_path):
    stem = tmp_path / "bench"
    # the default allocator: keep_freed_memory would change this pytest process for every later test
    assert (
        bench.main(
            ["--quick", "--ours", "yolov8-cmt", "--stock", "yolov8", "--allocator", "default", "--out", str(stem)]
        )
        == 0
    )
    report = json.loads(stem.with_suffix(".json").read_text())
    bench.check_report(report)
    assert report["quick"] and report["imgsz"] == 64 and report["allocator"] == "default"
    stock, ours = report["rows"]
    assert stock["model"] == "yolov8n.yaml" and ours["model"] == "yolov8n-cmt.yaml"
    assert stock["ratios"]["torch_ms"] == 1.0 and math.isclose(stock["E_torch"], 1.0)
    assert math.isclose(ours["ratios"]["gflops"], ours["gflops"] / stock["gflops"])
    assert math.isclose(ours["E_torch"], ours["ratios"]["torch_ms"] / ours["ratios"]["gflops"])
    assert ours["gflops_flop_counter"] > 0
    assert ours["train_gflops"] > 0 and ours["torch_faults"] >= 0 and ours["train_faults"] >= 0
    assert math.isclose(ours["E_train"], ours["ratios"]["train_step_ms"] / ours["ratios"]["train_gflops"])
    assert ours["train_peak_mib"] is None or ours["train_peak_mib"] > 0
    table = stem.with_suffix(".md").read_text()
    assert "`yolov8n-cmt.yaml`" in table and "(stock)" in table
    assert stem.with_suffix(".png").stat().st_size > 10_000


def test_e_is_to_the_stock_model_the_config_is_built_on():
    def row(model, family, stock, torch_ms, gflops):
        return {
            "model": model,
            "family": family,
            "scale": "n",
            "stock": stock,
            "params": 1,
            "gflops": gflops,
            "torch_ms": torch_ms,
            "onnx_ms": None,
            "train_step_ms": None,
            "train_peak_mib": None,
            "train_gflops": None,
        }

    rows = [
        row("yolov8n.yaml", "yolov8", True, 100.0, 8.0),
        row("yolo26n.yaml", "yolo26", True, 60.0, 6.0),
        row("yolo26n-cot.yaml", "yolo26-cot", False, 90.0, 6.0),
        row("yolo11n-cot.yaml", "yolo11-cot", False, 120.0, 8.0),
    ]
    bench._add_ratios(rows)
    v8, v26, ours26, ours11 = rows
    assert v26["e_reference"] == "yolov8" and math.isclose(v26["E_torch"], (60 / 100) / (6 / 8))
    assert ours26["e_reference"] == "yolo26" and math.isclose(ours26["E_torch"], 90 / 60)
    assert math.isclose(ours26["ratios"]["torch_ms"], 0.9)  # brackets stay to yolov8
    assert ours11["e_reference"] == "yolov8" and math.isclose(ours11["E_torch"], 1.2)  # yolo11n not measured
    for r in rows:
        r.update(
            gflops_flop_counter=1.0, torch_iqr_ms=0.0, onnx_iqr_ms=None, torch_faults=0, train_faults=None, rounds={}
        )
    report = {"imgsz": 64, "threads": 1, "runs": 1, "torch": "x", "ultralytics": "y", "rows": rows}
    bench.check_report(report)
    assert "(to yolo26n)" in bench.markdown(report).splitlines()[4]
    report["rows"] = [v8, ours26]
    with pytest.raises(ValueError, match="yolo26"):
        bench.check_report(report)


def test_e_train_is_step_time_per_training_flop_against_the_base():
    rows = [
        {
            "model": m,
            "family": f,
            "scale": "n",
            "stock": stock,
            "params": 1,
            "gflops": 8.0,
            "torch_ms": 10.0,
            "onnx_ms": None,
            "train_step_ms": step,
            "train_peak_mib": None,
            "train_gflops": flops,
        }
        for m, f, stock, step, flops in (
            ("yolov8n.yaml", "yolov8", True, 800.0, 2.0),
            ("yolov8n-cmt.yaml", "yolov8-cmt", False, 1200.0, 2.5),
        )
    ]
    bench._add_ratios(rows)
    assert rows[0]["E_train"] == 1.0 and math.isclose(rows[1]["E_train"], (1200 / 800) / (2.5 / 2.0))


def test_time_ratios_pair_the_rounds():
    def row(model, family, stock, rounds):
        return {
            "model": model,
            "family": family,
            "scale": "n",
            "stock": stock,
            "params": 1,
            "gflops": 8.0,
            "torch_ms": statistics.median(rounds),
            "onnx_ms": None,
            "train_step_ms": None,
            "train_peak_mib": None,
            "train_gflops": None,
            "rounds": {"torch_ms": rounds, "onnx_ms": []},
        }

    # a slow spell in round 3 that both models saw: per round 1.5, 1.1, 1.2 (median 1.2); the medians' ratio,
    # 150 / 100, would say 1.5
    rows = [
        row("yolov8n.yaml", "yolov8", True, [100.0, 100.0, 400.0]),
        row("yolov8n-cmt.yaml", "yolov8-cmt", False, [150.0, 110.0, 480.0]),
    ]
    bench._add_ratios(rows)
    assert math.isclose(rows[1]["ratios"]["torch_ms"], 1.2) and math.isclose(rows[1]["E_torch"], 1.2)
    rows[1]["rounds"]["torch_ms"] = [150.0, 110.0]  # not timed in the same rounds: the medians' ratio
    bench._add_ratios(rows)
    assert math.isclose(rows[1]["ratios"]["torch_ms"], 150.0 / 100.0)


_FAULTS_OF_REUSED_BLOCKS = """
import ctypes, resource, sys
from yolo_hybrid.bench import keep_freed_memory
if sys.argv[1] == "reuse":
    print(keep_freed_memory(), file=sys.stderr)
libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
size = 40 * 2**20  # above the largest block glibc's own heuristics ever keep (32 MiB)
faults = []
for _ in range(4):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = libc.malloc(size)
    ctypes.memset(block, 1, size)
    libc.free(block)
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(min(faults[1:]))
"""


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")
def test_keep_freed_memory_stops_page_faults_on_reused_blocks():
    def faults(mode):
        done = subprocess.run(
            [sys.executable, "-c", _FAULTS_OF_REUSED_BLOCKS, mode], capture_output=True, text=True, check=True
        )
        return int(done.stdout.split()[-1]), done.stderr

    default, _ = faults("default")
    reuse, said = faults("reuse")
    # plain malloc/free: torch's 64-byte-aligned blocks of one size can miss a freed block by the alignment's slack
    assert default > 10_000  # 10,240 pages of 4 KiB, faulted in again every time
    assert reuse < 100 and "freed memory kept" in said


def test_check_report_rejects_what_the_table_cannot_use():
    row = {
        "model": "yolov8n.yaml",
        "family": "yolov8",
        "scale": "n",
        "stock": True,
        "params": 1,
        "gflops": 1.0,
        "gflops_flop_counter": 1.0,
        "torch_ms": 1.0,
        "torch_iqr_ms": 0.0,
        "onnx_ms": None,
        "onnx_iqr_ms": None,
        "train_step_ms": None,
        "train_peak_mib": None,
        "train_gflops": None,
        "torch_faults": 0,
        "train_faults": None,
        "rounds": {},
        "ratios": {},
        "E_torch": 1.0,
        "E_onnx": None,
        "E_train": None,
        "e_reference": "yolov8",
    }
    report = {"imgsz": 64, "threads": 1, "runs": 1, "torch": "x", "ultralytics": "y", "rows": [row]}
    bench.check_report(report)
    for key, bad in (("torch_ms", None), ("params", 1.5), ("gflops", True), ("torch_faults", 1.5)):
        broken = copy.deepcopy(report)
        broken["rows"][0][key] = bad
        with pytest.raises(ValueError, match=key):
            bench.check_report(broken)
    no_reference = copy.deepcopy(report)
    no_reference["rows"][0]["family"] = "yolo11"
    with pytest.raises(ValueError, match="no stock yolov8"):
        bench.check_report(no_reference)


def test_compare_training_points_to_the_study(capsys):
    with pytest.raises(SystemExit) as stop:
        bench.main(["--compare-training"])
    assert stop.value.code == 2 and "python -m yolo_hybrid.study" in capsys.readouterr().err
