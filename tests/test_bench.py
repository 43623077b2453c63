"""The shipped benchmark (``python -m yolo_hybrid.bench``): its pipeline end to end at a tiny size, and its schema.

No timing is asserted (timings belong to benchmark runs, not tests): the quick run proves that every figure is
produced for our config next to stock yolov8, that ratios are to stock, and that the JSON, Markdown and PNG exist.
"""

from __future__ import annotations

import copy
import json
import math

import pytest

from yolo_hybrid import bench


def test_names_are_the_ones_users_write():
    names = bench.model_names(["n", "s"], ours=("yolov8-cmt",), stock=("yolov8", "yolo11"))
    assert [n[0] for n in names] == ["yolov8n.yaml", "yolo11n.yaml", "yolov8n-cmt.yaml", "yolov8s.yaml",
                                     "yolo11s.yaml", "yolov8s-cmt.yaml"]
    assert [n[3] for n in names] == [True, True, False, True, True, False]


@pytest.mark.slow
def test_quick_run_writes_a_valid_report(tmp_path):
    stem = tmp_path / "bench"
    assert bench.main(["--quick", "--ours", "yolov8-cmt", "--stock", "yolov8", "--out", str(stem)]) == 0
    report = json.loads(stem.with_suffix(".json").read_text())
    bench.check_report(report)
    assert report["quick"] and report["imgsz"] == 64
    stock, ours = report["rows"]
    assert stock["model"] == "yolov8n.yaml" and ours["model"] == "yolov8n-cmt.yaml"
    assert stock["ratios"]["torch_ms"] == 1.0 and math.isclose(stock["E_torch"], 1.0)
    assert math.isclose(ours["ratios"]["gflops"], ours["gflops"] / stock["gflops"])
    assert math.isclose(ours["E_torch"], ours["ratios"]["torch_ms"] / ours["ratios"]["gflops"])
    assert ours["gflops_flop_counter"] > 0
    assert ours["train_peak_mib"] is None or ours["train_peak_mib"] > 0
    table = stem.with_suffix(".md").read_text()
    assert "`yolov8n-cmt.yaml`" in table and "(stock)" in table
    assert stem.with_suffix(".png").stat().st_size > 10_000


def test_check_report_rejects_what_the_table_cannot_use():
    row = {"model": "yolov8n.yaml", "family": "yolov8", "scale": "n", "stock": True, "params": 1, "gflops": 1.0,
           "gflops_flop_counter": 1.0, "torch_ms": 1.0, "torch_iqr_ms": 0.0, "onnx_ms": None, "onnx_iqr_ms": None,
           "train_step_ms": None, "train_peak_mib": None, "ratios": {}, "E_torch": 1.0, "E_onnx": None}
    report = {"imgsz": 64, "threads": 1, "runs": 1, "torch": "x", "ultralytics": "y", "rows": [row]}
    bench.check_report(report)
    for key, bad in (("torch_ms", None), ("params", 1.5), ("gflops", True)):
        broken = copy.deepcopy(report)
        broken["rows"][0][key] = bad
        with pytest.raises(ValueError, match=key):
            bench.check_report(broken)
    no_reference = copy.deepcopy(report)
    no_reference["rows"][0]["family"] = "yolo11"
    with pytest.raises(ValueError, match="no stock yolov8"):
        bench.check_report(no_reference)


@pytest.mark.slow
def test_training_comparison_reports_every_config_per_seed(tmp_path):
    stem = tmp_path / "bench"
    assert bench.main(["--compare-training", "--ours", "yolov8-cmt", "--epochs", "1", "--seeds", "0", "--imgsz", "64",
                       "--batch", "8", "--out", str(stem)]) == 0
    report = json.loads((tmp_path / "bench_training.json").read_text())
    assert report["setup"]["epochs"] == 1
    assert list(report["results"]) == ["yolov8n.yaml", "yolov8n-cmt.yaml"]
    for result in report["results"].values():
        assert [r["seed"] for r in result["runs"]] == [0]
        assert 0.0 <= result["mean"] <= 1.0 and result["spread"] == 0.0
