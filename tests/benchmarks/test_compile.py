"""``benchmarks/compile.py`` (compiled against eager on the CPU): its arithmetic on hand-made timings, checked against
figures worked out by hand, and its pipeline end to end on stock yolov8n at a tiny size.

No timing is asserted (timings belong to benchmark runs): the pipeline run uses dynamo's ``eager`` backend (dynamo's
capture, no code generation) to stay fast.
"""

from __future__ import annotations

import importlib
import math
import statistics
import sys
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def compile_bench():
    """The script as a module (it imports ``common`` from its own folder, as when run as a script)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("compile")
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_every_config_is_timed_next_to_the_stock_model_it_is_built_on(compile_bench):
    assert compile_bench.stock_of("yolo26n-cot.yaml") == "yolo26n.yaml"
    assert compile_bench.stock_of("yolov8n.yaml") == "yolov8n.yaml"
    assert compile_bench.with_stock(["yolo26n-cot.yaml", "yolov8n-smt.yaml", "yolov8n.yaml", "yolo26n-cmt.yaml"]) == [
        "yolo26n.yaml",
        "yolo26n-cot.yaml",
        "yolov8n.yaml",
        "yolov8n-smt.yaml",
        "yolo26n-cmt.yaml",
    ]


def test_speed_up_and_ratios_to_stock_are_paired_per_round(compile_bench):
    times = {
        "yolov8n.yaml": {"eager_ms": [100.0, 100.0, 400.0], "compiled_ms": [50.0, 80.0, 200.0]},
        # a slow spell in round 3 that every model saw
        "yolov8n-cmt.yaml": {"eager_ms": [150.0, 110.0, 480.0], "compiled_ms": [60.0, 100.0, 260.0]},
        "yolo26n.yaml": {
            "eager_ms": [80.0, 90.0, 100.0],
            "compiled_ms": [40.0, 40.0, 40.0],
            "train_eager_ms": [1000.0, 1000.0, 1000.0],
            "train_compiled_ms": [800.0, 900.0, 1000.0],
        },
        # its training step's compilation failed: no compiled series
        "yolo26n-cot.yaml": {
            "eager_ms": [96.0, 99.0, 90.0],
            "compiled_ms": [60.0, 44.0, 48.0],
            "train_eager_ms": [1300.0, 1100.0, 1200.0],
        },
    }
    stock = {"yolov8n.yaml": "yolov8n.yaml", "yolov8n-cmt.yaml": "yolov8n.yaml"}
    stock |= {"yolo26n.yaml": "yolo26n.yaml", "yolo26n-cot.yaml": "yolo26n.yaml"}
    rows = compile_bench.summarize(times, stock)
    v8, cmt, v26, cot = (rows[name] for name in times)
    # by hand: per round 150/60, 110/100, 480/260 = 2.5, 1.1, 1.85 -> 1.85; the medians' ratio would say 150/80
    assert math.isclose(cmt["speedup"], 480 / 260)
    assert math.isclose(cmt["eager_x_stock"], 1.2)  # 1.5, 1.1, 1.2; medians' ratio 1.5
    assert math.isclose(cmt["compiled_x_stock"], 1.25)  # 60/50, 100/80, 260/200 = 1.2, 1.25, 1.3
    assert math.isclose(cmt["compiled_x_stock_eager"], 0.65)  # 0.6, 1.0, 0.65
    assert cmt["eager_ms"] == 150.0 and cmt["compiled_ms"] == 100.0
    assert v8["speedup"] == 2.0 and v8["eager_x_stock"] == v8["compiled_x_stock"] == 1.0
    assert math.isclose(v8["compiled_x_stock_eager"], 0.5)  # 0.5, 0.8, 0.5
    # yolo26n-cot against yolo26n, not yolov8n: per round 96/80, 99/90, 90/100 = 1.2, 1.1, 0.9
    assert math.isclose(cot["eager_x_stock"], 1.1)
    assert math.isclose(cot["compiled_x_stock"], 1.2)  # 60/40, 44/40, 48/40 = 1.5, 1.1, 1.2
    assert math.isclose(cot["train_eager_x_stock"], 1.2)  # 1.3, 1.1, 1.2
    assert cot["train_compiled_ms"] is None and cot["train_speedup"] is None and cot["train_compiled_x_stock"] is None
    assert math.isclose(v26["train_speedup"], 1000 / 900)  # 1.25, 1.11, 1.0
    assert "train_speedup" not in v8  # no training step timed


def test_paired_ratio_refuses_series_not_timed_in_the_same_rounds():
    from yolo_hybrid.bench import paired_ratio

    assert paired_ratio([3.0, 5.0, 30.0], [1.0, 2.0, 10.0]) == 3.0  # 3, 2.5, 3
    for times, ref in (([1.0, 2.0], [1.0]), ([], []), ([1.0], [0.0])):
        with pytest.raises(ValueError, match="paired_ratio"):
            paired_ratio(times, ref)


def test_relative_difference_spans_every_output_tensor(compile_bench):
    want = (torch.tensor([1.0, 2.0]), {"feats": [torch.tensor([[4.0, -1.0]])]})
    got = (torch.tensor([1.0, 2.5]), {"feats": [torch.tensor([[4.0, 0.0]])]})
    assert compile_bench.relative_difference(got, want) == 1.0 / 4.0  # largest |diff| 1, largest |want| 4
    with pytest.raises(ValueError, match="structure"):
        compile_bench.relative_difference(got[:1], want)


def _report(rows, train=None):
    return {
        "cpu": "CPU",
        "cpu_count": 2,
        "threads": 2,
        "torch": "t",
        "ultralytics": "u",
        "compile": {"backend": "inductor"},
        "imgsz": 320,
        "runs": 3,
        "warmup": 1,
        "load_average": {"start": [2.0, 2.0, 2.0], "end": [0.1, 0.1, 0.1]},
        "train": train,
        "rows": rows,
    }


def test_table_shows_failures_breaks_and_slow_compilations(compile_bench):
    row = {
        "model": "yolov8n-smt.yaml",
        "stock": False,
        "eager_ms": 50.0,
        "compiled_ms": None,
        "speedup": None,
        "eager_x_stock": 1.5,
        "compiled_x_stock": None,
        "compiled_x_stock_eager": None,
        "eval_graphs": 2,
        "eval_graph_breaks": 1,
        "eval_fullgraph": False,
        "eval_break_reasons": ["a reason"],
        "eval_compile_s": 200.0,
        "eval_error": "RuntimeError: boom",
        "graphs_compiled_while_timing": 3,
    }
    table = compile_bench.markdown(_report([row]))
    line = next(x for x in table.splitlines() if x.startswith("| `yolov8n-smt.yaml`"))
    assert [c.strip() for c in line.strip("|").split("|")] == [
        "`yolov8n-smt.yaml`",
        "200",
        "no (2)",
        "50.0",
        "-",
        "-",
        "1.50",
        "-",
        "-",
        "-",
    ]
    assert "machine was shared" in table and "load average (1 min) 2.0 at the start, 0.1 at the end" in table
    assert "`yolov8n-smt.yaml` eval 3.3 min" in table  # over 3 minutes
    assert "1 graph break(s): `a reason`" in table and "`RuntimeError: boom`" in table
    assert "3 graph(s) compiled while timing" in table
    assert "Training step" not in table


def test_training_step_only_for_configs_that_are_timed(compile_bench):
    with pytest.raises(ValueError, match=r"\['yolo26n-cot.yaml', 'yolo26n.yaml'\] are not among the configs timed"):
        compile_bench.run(["yolov8n-cot.yaml"], train=["yolo26n-cot.yaml"], allocator="default", progress=False)


def test_training_table_lists_the_models_whose_step_was_timed(compile_bench):
    def row(model, stock, train):
        r = {
            "model": model,
            "stock": stock,
            "eager_ms": 10.0,
            "compiled_ms": 5.0,
            "speedup": 2.0,
            "eager_x_stock": 1.0,
            "compiled_x_stock": 1.0,
            "compiled_x_stock_eager": 0.5,
            "eval_graphs": 1,
            "eval_fullgraph": True,
            "eval_compile_s": 10.0,
            "eval_max_rel_diff": 1e-7,
            "graphs_compiled_while_timing": 0,
        }
        if train:
            r |= {"train_eager_ms": 300.0, "train_compiled_ms": 200.0, "train_speedup": 1.5, "train_graphs": 1}
            r |= {"train_eager_x_stock": 1.0, "train_compiled_x_stock": 1.0, "train_compiled_x_stock_eager": 0.67}
            r |= {"train_fullgraph": True, "train_compile_s": 30.0, "train_loss_rel_diff": 1e-6}
        return r

    report = _report([row("yolov8n.yaml", True, True), row("yolo26n.yaml", True, False)], {"batch": 2, "imgsz": 128})
    inference, training = compile_bench.markdown(report).split("Training step")
    assert inference.count("| `yolov8n.yaml` (stock) | 10 | yes (1) | 10.0 | 5.0 | 2.00 |") == 1
    assert "`yolo26n.yaml`" in inference and "`yolo26n.yaml`" not in training
    assert "| `yolov8n.yaml` (stock) | 30 | yes (1) | 300 | 200 | 1.50 | 1.00 | 1.00 | 0.67 | 1e-06 |" in training


@pytest.mark.slow
def test_pipeline_measures_eager_and_compiled_forward_and_training_step(compile_bench):
    threads = torch.get_num_threads()
    try:
        report = compile_bench.run(
            ["yolov8n.yaml"],
            imgsz=32,
            threads=1,
            runs=2,
            warmup=1,
            backend="eager",
            allocator="default",
            progress=False,
        )
    finally:
        torch.set_num_threads(threads)
    (row,) = report["rows"]
    assert row["model"] == "yolov8n.yaml" and row["stock"]
    assert report["train"] == {"batch": 2, "imgsz": 32, "models": ["yolov8n.yaml"]}
    for series in ("eager_ms", "compiled_ms", "train_eager_ms", "train_compiled_ms"):
        assert len(row["rounds"][series]) == 2 and row[series] == statistics.median(row["rounds"][series])
    eager, compiled = row["rounds"]["eager_ms"], row["rounds"]["compiled_ms"]
    assert math.isclose(row["speedup"], statistics.median(e / c for e, c in zip(eager, compiled, strict=True)))
    assert row["eager_x_stock"] == row["compiled_x_stock"] == row["train_compiled_x_stock"] == 1.0
    # dynamo captures stock yolov8n's fused eval forward and its training forward whole
    assert row["eval_fullgraph"] and row["eval_graphs"] == 1 and row["train_fullgraph"]
    assert row["eval_graphs_compiled"] >= 1 and row["train_graphs_compiled"] >= 1
    assert row["graphs_compiled_while_timing"] == 0
    assert row["eval_max_rel_diff"] < 1e-5 and row["train_loss_rel_diff"] < 1e-5
    assert "error" not in row and "eval_error" not in row and "train_error" not in row
    assert report["compile"]["dynamo"] == {"recompile_limit": 64, "automatic_dynamic_shapes": False}
    assert torch._dynamo.config.recompile_limit != 64  # the settings were patched for the run only
    assert len(report["load_average"]["start"]) == 3
    assert "| `yolov8n.yaml` (stock) |" in compile_bench.markdown(report)
