"""The deployment harness itself: prediction matching, child-process isolation, the capture helpers."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from yolo_hybrid.integration.deploy import (
    TARGETS,
    available,
    check_target,
    check_target_isolated,
    check_targets_isolated,
    compare_predictions,
    count_found,
    write_onnx2tf_calibration_sample,
)
from yolo_hybrid.nn.tracing import is_capturing

BOXES = [(0, 0.9, (10.0, 10.0, 50.0, 60.0)), (2, 0.4, (70.0, 5.0, 90.0, 30.0))]


def test_same_predictions_in_another_order_match():
    same, note = compare_predictions(BOXES, list(reversed(BOXES)))
    assert same, note


def test_a_moved_box_a_missing_box_or_another_class_do_not_match():
    moved = [BOXES[0], (2, 0.4, (70.0, 5.0, 92.5, 30.0))]
    assert compare_predictions(BOXES, moved) == (False, "class 2 box off by 2.50 px")
    assert not compare_predictions(BOXES, BOXES[:1])[0]
    assert not compare_predictions(BOXES, [BOXES[0], (1, 0.4, BOXES[1][2])])[0]


def test_an_obb_model_without_boxes_has_no_predictions():
    """Untrained OBB models predict nothing; the comparison must read that as zero rows, not fail on the reshape."""
    from ultralytics.engine.results import Results

    from yolo_hybrid.integration.deploy import _predictions

    empty = Results(np.zeros((16, 16, 3), np.uint8), path="empty.jpg", names={0: "a"}, obb=torch.zeros(0, 7))
    one = Results(
        np.zeros((16, 16, 3), np.uint8),
        path="one.jpg",
        names={0: "a"},
        obb=torch.tensor([[8.0, 8.0, 4.0, 2.0, 0.0, 0.9, 0.0]]),
    )
    assert _predictions([empty]) == []
    ((cls, conf, corners),) = _predictions([one])
    assert cls == 0 and abs(conf - 0.9) < 1e-6 and len(corners) == 8


def test_int8_finds_boxes_by_class_and_overlap():
    square = (0, 0.9, (0.0, 0.0, 10.0, 10.0))
    assert count_found([square], [(0, 0.5, (0.0, 0.0, 10.0, 5.0))]) == 1  # IoU 50/100: at the 0.5 threshold
    assert count_found([square], [(0, 0.5, (5.0, 0.0, 15.0, 10.0))]) == 0  # IoU 50/150
    assert count_found([square], [(1, 0.9, square[2])]) == 0  # another class
    assert count_found([square, square], [square]) == 1  # each exported prediction found once
    assert count_found(BOXES, list(reversed(BOXES))) == 2


def test_int8_obb_corners_and_classification_rows_are_found():
    obb = (3, 0.8, (0.0, 0.0, 10.0, 0.0, 10.0, 10.0, 0.0, 10.0))  # four corners of a 10 px square
    assert count_found([obb], [(3, 0.6, (0.0, 0.0, 0.0, 10.0, 10.0, 10.0, 10.0, 0.0))]) == 1
    assert count_found([obb], [(3, 0.6, (0.0, 0.0, 4.0, 0.0, 4.0, 10.0, 0.0, 10.0))]) == 0  # IoU 40/100
    assert count_found([(7, 0.9, ())], [(7, 0.4, ())]) == 1 and count_found([(7, 0.9, ())], [(6, 0.9, ())]) == 0


def test_int8_targets_are_drift_only_and_calibrated_ones_need_data(tmp_path):
    int8 = {t.name: t.int8 for t in TARGETS.values() if t.int8}
    assert int8 == {"onnx-int8": "static", "openvino-int8": "static", "litert-int8": "static", "mnn-int8": "weights"}
    assert all(TARGETS[n].options.get("quantize") == 8 for n in int8)
    with pytest.raises(ValueError, match="onnx-int8.*pass data="):
        check_target(None, "onnx-int8", workdir=tmp_path)


def test_core_targets_need_only_the_projects_own_install():
    assert all(available(t) for t in TARGETS.values() if t.toolchain == "core")


def test_a_child_that_dies_is_reported_not_raised(tmp_path):
    outcome = check_target_isolated(str(tmp_path / "missing.pt"), "onnx", imgsz=32, workdir=tmp_path)
    assert not outcome.exported and outcome.error.startswith("crashed (exit code 1)"), outcome.error
    assert "missing.pt" in outcome.error


@pytest.mark.slow
def test_models_share_a_child_and_a_death_costs_only_its_own_model(tmp_path):
    """The deploy group exports the models of one target in one child; one that kills it must not take the others."""
    models = ["yolov8n.yaml", str(tmp_path / "missing.pt"), "yolov8n.yaml"]
    workdirs = [tmp_path / "a", tmp_path / "b", tmp_path / "c"]
    first, dead, last = check_targets_isolated(
        models, "torchscript", imgsz=32, workdirs=workdirs, names=["a", "b", "c"]
    )
    assert [first.model, dead.model, last.model] == ["a", "b", "c"]
    assert first.exported and first.ran and first.max_abs_diff == 0.0, first.error
    assert dead.error.startswith("crashed (exit code 1)") and "missing.pt" in dead.error, dead.error
    assert last.exported and last.ran and last.max_abs_diff == 0.0, last.error  # in a fresh child
    assert Path(first.path).is_relative_to(tmp_path / "a") and Path(last.path).is_relative_to(tmp_path / "c")


def test_a_silent_child_times_out_per_model(tmp_path):
    outcomes = check_targets_isolated(["yolov8n.yaml", "yolov8n.yaml"], "onnx", imgsz=32, timeout=0.5)
    assert [o.error for o in outcomes] == ["timeout: no result after 0.5 s"] * 2  # the interpreter alone takes longer


def test_a_child_gets_its_own_environment_and_folder(tmp_path):
    """The deploy group runs several children at once from threads: each takes its variables and folder as arguments,
    leaving the caller's ``os.environ`` and working directory alone."""
    fake = tmp_path / "fake" / "ultralytics"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("import os\nraise ImportError('stand-in ultralytics in ' + os.getcwd())\n")
    (tmp_path / "cwd").mkdir()
    environ, cwd = dict(os.environ), os.getcwd()
    [outcome] = check_targets_isolated(
        ["yolov8n.yaml"], "onnx", imgsz=32, env={"PYTHONPATH": str(fake.parent)}, cwd=tmp_path / "cwd"
    )
    assert f"ImportError: stand-in ultralytics in {tmp_path / 'cwd'}" in outcome.error, outcome.error
    assert dict(os.environ) == environ and os.getcwd() == cwd


def test_calibration_sample_has_the_shape_onnx2tf_expects(tmp_path):
    path = write_onnx2tf_calibration_sample(tmp_path)
    sample = np.load(path)
    assert path.name == "calibration_image_sample_data_20x128x128x3_float32.npy"
    assert sample.shape == (20, 128, 128, 3) and sample.dtype == np.float32 and 0 <= sample.min() <= sample.max() <= 1


def test_capture_is_seen_by_tracing_and_torch_export():
    seen = []

    class Probe(torch.nn.Module):
        def forward(self, x):
            seen.append(is_capturing())
            return x + 1

    Probe()(torch.zeros(1))
    torch.jit.trace(Probe(), torch.zeros(1))
    torch.export.export(Probe(), (torch.zeros(1),))
    assert seen[0] is False and seen[1] is True and seen[-1] is True
