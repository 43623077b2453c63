"""One BatchNorm convention per built model, our BatchNorm subclasses included."""

from __future__ import annotations

import pytest
import torch.nn as nn

import yolo_hybrid  # noqa: F401


@pytest.mark.parametrize("name", ["yolov8n-cot.yaml", "yolov8n-cmt.yaml", "yolov8n-seg-cot.yaml", "yolov8n-smt.yaml"])
def test_detection_models_use_ultralytics_bn_settings_everywhere(name):
    from ultralytics import YOLO

    bns = [m for m in YOLO(name).model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    ours = [m for m in bns if type(m) is not nn.BatchNorm2d]
    assert ours or name == "yolov8n-smt.yaml"  # CoT's fusion and CMT's reduction BNs are SingleValueBatchNorm2d
    assert {(m.eps, m.momentum) for m in bns} == {(1e-3, 0.03)}, {(type(m).__name__, m.eps, m.momentum) for m in bns}


@pytest.mark.parametrize("name", ["yolov8n-cls-cot.yaml", "yolov8n-cls-attnpool.yaml"])
def test_classification_models_keep_one_convention(name):
    from ultralytics import YOLO

    bns = [m for m in YOLO(name).model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert any(type(m) is not nn.BatchNorm2d for m in bns)
    assert len({(m.eps, m.momentum) for m in bns}) == 1
