"""The deployment harness itself: prediction matching, child-process isolation, the capture helpers."""

from __future__ import annotations

import numpy as np
import torch

from yolo_hybrid.integration.deploy import (
    TARGETS,
    available,
    check_target_isolated,
    compare_predictions,
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


def test_core_targets_need_only_the_projects_own_install():
    assert all(available(t) for t in TARGETS.values() if t.toolchain == "core")


def test_a_child_that_dies_is_reported_not_raised(tmp_path):
    outcome = check_target_isolated(str(tmp_path / "missing.pt"), "onnx", imgsz=32, workdir=tmp_path)
    assert not outcome.exported and outcome.error.startswith("crashed (exit code 1)"), outcome.error
    assert "missing.pt" in outcome.error


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
