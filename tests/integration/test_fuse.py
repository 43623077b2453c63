"""Ultralytics' ``fuse()`` folds our blocks too (``integration.fuse``): outputs kept, idempotent, and left alone on a
quantisation-aware model, as Ultralytics leaves its own merged branches."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

import yolo_hybrid
from tests.nn.reference import randomize_
from yolo_hybrid.integration.summary import build_model
from yolo_hybrid.nn.cmt import IRFFN, CMTLayer
from yolo_hybrid.nn.smt import DetailFFN

CONFIGS = ["yolov8-smt.yaml", "yolov8-cmt.yaml", "yolo11-smt.yaml", "yolo26-cmt.yaml", "yolov8-cls-cmt.yaml"]


def _unfolded(model: nn.Module) -> list[str]:
    """Names of the modules a fold would still change."""
    return [
        name
        for name, m in model.named_modules()
        if (isinstance(m, IRFFN) and "bn2" in m._modules)
        or (isinstance(m, (CMTLayer, DetailFFN)) and m.forward != m.forward_fuse)
    ]


@pytest.mark.parametrize("cfg", CONFIGS)
def test_ultralytics_fuse_folds_our_blocks_and_keeps_outputs(cfg):
    model = randomize_(build_model(yolo_hybrid.config_path(cfg), "n"))
    assert _unfolded(model)
    x = torch.rand(1, 3, 64, 96)

    def head(out):  # eval output: a tensor, or (prediction, raw maps) by task and version
        return out[0] if isinstance(out, (tuple, list)) else out

    with torch.no_grad():
        before = head(model(x))
        model.fuse(verbose=False)
        assert _unfolded(model) == []
        after = head(model(x))
        model.fuse(verbose=False)
        again = head(model(x))
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(again, after)


def test_a_quantisation_aware_model_keeps_our_blocks_as_trained():
    from ultralytics.nn import tasks

    if getattr(tasks, "is_qat", None) is None:
        pytest.skip("this Ultralytics has no quantisation-aware training")

    class TensorQuantizer(nn.Identity):  # what ModelOpt's prepare_qat inserts; matched by class name
        pass

    model = build_model(yolo_hybrid.config_path("yolov8-cmt.yaml"), "n")
    model.model[4].add_module("quantizer", TensorQuantizer())
    unfolded = _unfolded(model)
    model.fuse(verbose=False)
    assert _unfolded(model) == unfolded
