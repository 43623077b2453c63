"""The study's summary, schema, table and plot from a hand-made record; the committed studies checked against theirs."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from yolo_hybrid.study.report import check_study, markdown, plot, summarize

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = {
    "dataset": {
        "name": "toy",
        "images": {"train": 4, "val": 2, "test": 2},
        "classes": ["a", "b"],
        "labels_sha256": "0" * 64,
    },
    "imgsz": 64,
    "epochs": 2,
    "batch": 4,
    "scale": "n",
    "device_type": "cpu",
    "recipe": "defaults",
    "credit": "Toy set (made up), CC0",
}


def _run(config: str, seed: int, val: float, test: float) -> dict:
    split = lambda m: {"map50_95": m, "map50": min(1.0, 2 * m), "per_class_map50_95": {"a": m}}  # noqa: E731
    return {
        "config": config,
        "seed": seed,
        "epochs": 2,
        "imgsz": 64,
        "batch": 4,
        "device": "cpu",
        "protocol": PROTOCOL,
        "train_seconds": 10.0,
        "eval_seconds": 1.0,
        "seconds_per_epoch": 5.0,
        "resumed_at": [],
        "peak_rss_mib": 900.0,
        "val": split(val),
        "test": split(test),
        "versions": {"torch": "t", "ultralytics": "u", "yolo_hybrid": "y", "python": "p", "commit": None},
        "started": "2026-12-07T00:00:00+0000",
        "finished": "2026-12-07T00:01:00+0000",
    }


def _report() -> dict:
    runs = [_run("yolov8n.yaml", s, 0.30, 0.20) for s in (0, 1, 2)]
    runs += [_run("yolov8n-cot.yaml", s, v, t) for s, v, t in ((0, 0.33, 0.19), (1, 0.34, 0.20), (2, 0.35, 0.21))]
    return {"protocol": PROTOCOL, "configs": ["yolov8n.yaml", "yolov8n-cot.yaml"], "seeds": [0, 1, 2], "runs": runs}


def test_summary_pairs_each_model_with_its_stock_base():
    latency = {"yolov8n.yaml": {"onnx_ms": 100.0, "gflops": 8.9}, "yolov8n-cot.yaml": {"onnx_ms": 110.0, "gflops": 8.1}}
    summary = summarize(_report(), latency)
    assert "diff_val_map50_95" not in summary["yolov8n.yaml"]  # stock is its own base
    cot = summary["yolov8n-cot.yaml"]
    assert cot["base"] == "yolov8n.yaml" and cot["seeds"] == [0, 1, 2]
    assert cot["val_map50_95"]["mean"] == pytest.approx(0.34) and cot["val_map50_95"]["sd"] == pytest.approx(0.01)
    # val differences 0.03, 0.04, 0.05 (hand: 0.04 ± 4.3027 * 0.01 / sqrt(3)); test -0.01, 0, 0.01
    assert (cot["diff_val_map50_95"]["low"], cot["diff_val_map50_95"]["verdict"]) == (
        pytest.approx(0.015159, abs=1e-6),
        "better",
    )
    assert cot["diff_test_map50_95"]["verdict"] == "no difference detectable"
    assert cot["onnx_ratio_to_base"] == pytest.approx(1.1) and cot["seconds_per_epoch"] == 5.0


def test_latency_ratio_is_paired_round_by_round_as_the_benchmark_states_it():
    # rounds timed side by side: the per-round ratios are 1.2, 1.0, 1.1 (median 1.1); the medians' ratio would be 1.0
    latency = {
        "yolov8n.yaml": {"onnx_ms": 100.0, "gflops": 8.9, "rounds": {"onnx_ms": [90.0, 100.0, 120.0]}},
        "yolov8n-cot.yaml": {"onnx_ms": 100.0, "gflops": 8.1, "rounds": {"onnx_ms": [108.0, 100.0, 132.0]}},
    }
    assert summarize(_report(), latency)["yolov8n-cot.yaml"]["onnx_ratio_to_base"] == pytest.approx(1.1)
    del latency["yolov8n.yaml"]["rounds"]  # not timed in the same rounds: the ratio of the medians
    assert summarize(_report(), latency)["yolov8n-cot.yaml"]["onnx_ratio_to_base"] == pytest.approx(1.0)


def test_markdown_and_plot(tmp_path):
    report = _report()
    report["summary"] = summarize(
        report,
        {"yolov8n.yaml": {"onnx_ms": 100.0, "gflops": 8.9}, "yolov8n-cot.yaml": {"onnx_ms": 110.0, "gflops": 8.1}},
    )
    check_study(report)
    table = markdown(report)
    assert "| `yolov8n-cot.yaml` | 3 | 0.340 ± 0.010 | +0.040 [+0.015, +0.065] better |" in table
    assert "| `yolov8n.yaml` | 3 | 0.300 ± 0.000 | (stock) |" in table
    assert "Dataset credit: Toy set (made up), CC0" in table
    plot(report, tmp_path / "study.png")
    assert (tmp_path / "study.png").stat().st_size > 10_000


def test_check_study_names_the_broken_field():
    report = _report()
    report["summary"] = summarize(report)
    check_study(report)
    for path, bad, match in (
        (("runs", 0, "seed"), "0", "'seed'"),
        (("runs", 1, "val", "map50"), None, "val.map50"),
        (("runs", 2, "val", "map50_95"), 0.9, "mAP50-95 <= mAP50"),
        (("protocol", "epochs"), None, None),
    ):
        broken = copy.deepcopy(report)
        target = broken
        for key in path[:-1]:
            target = target[key]
        if bad is None and match is None:
            del target[path[-1]]
            match = "protocol: no 'epochs'"
        else:
            target[path[-1]] = bad
        with pytest.raises(ValueError, match=match):
            check_study(broken)
    other = copy.deepcopy(report)
    other["runs"][0]["protocol"] = {**PROTOCOL, "epochs": 3}
    with pytest.raises(ValueError, match="another protocol"):
        check_study(other)


@pytest.mark.parametrize("stem", sorted(p.stem for p in (ROOT / "benchmarks" / "results").glob("study_*.json")))
def test_committed_study_matches_its_table(stem):
    # generated, and checked: the committed table is exactly what its JSON gives
    results = ROOT / "benchmarks" / "results"
    report = json.loads((results / f"{stem}.json").read_text())
    check_study(report)
    assert (results / f"{stem}.md").read_text() == markdown(report)


def test_readme_and_docs_study_tables_are_the_committed_ones():
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "tools/update_study_tables.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
