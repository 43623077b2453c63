"""Every bundled config (n scale, untrained) exports to dynamic-shape ONNX and matches PyTorch in onnxruntime."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from yolo_hybrid.integration.configs import list_configs

ort = pytest.importorskip("onnxruntime")


def _first_tensor(out):
    while isinstance(out, (tuple, list)):
        out = out[0]
    return out


@pytest.mark.parametrize("cfg", list_configs(), ids=lambda p: p.stem)
def test_dynamic_onnx_matches_pytorch(cfg, tmp_path, monkeypatch):
    from ultralytics import YOLO

    monkeypatch.chdir(tmp_path)
    name = cfg.name.replace("yolov8-", "yolov8n-")  # scale n by name, as a user would
    model = YOLO(name)
    reference = copy.deepcopy(model.model).fuse().eval()  # the same weights as the exported model
    onnx_path = model.export(format="onnx", dynamic=True, imgsz=64, device="cpu", simplify=True)
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    for size in [(64, 64), (96, 64)]:
        x = torch.rand(1, 3, *size)
        with torch.no_grad():
            expected = _first_tensor(reference(x)).numpy()
        got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4)
