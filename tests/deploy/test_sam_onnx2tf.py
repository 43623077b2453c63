"""onnx2tf (Ultralytics' TF SavedModel / LiteRT-via-TF path) converts SAM when the map side equals the channels per
head, which it used to misplace (yolov8n-smt at 128 px, yolo11n-smt at 64 px failed to export)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from tests.nn.reference import randomize_
from yolo_hybrid.nn.smt import ScaleAwareModulation

pytestmark = pytest.mark.deploy


def test_onnx2tf_converts_sam_on_a_map_as_wide_as_its_heads(tmp_path):
    onnx2tf = pytest.importorskip("onnx2tf")
    sam = randomize_(ScaleAwareModulation(64, heads=4))  # 16 channels per head, on a 16 x 16 map
    x = torch.randn(1, 64, 16, 16)
    onnx_file = tmp_path / "sam.onnx"
    buffer = io.BytesIO()
    torch.onnx.export(sam, (x,), buffer, opset_version=18, dynamo=False)
    onnx_file.write_bytes(buffer.getvalue())
    keras_model = onnx2tf.convert(
        input_onnx_file_path=str(onnx_file),
        output_folder_path=str(tmp_path / "tf"),
        not_use_onnxsim=True,
        verbosity="error",
        enable_batchmatmul_unfold=True,
        output_signaturedefs=True,
    )  # Ultralytics' arguments for format=saved_model
    assert keras_model is not None, "onnx2tf did not convert the SAM graph"
    got = np.asarray(keras_model(x.permute(0, 2, 3, 1).numpy())).transpose(0, 3, 1, 2)
    with torch.no_grad():
        expected = sam(x).numpy()
    assert np.abs(got - expected).max() <= 1e-4 * max(1.0, float(np.abs(expected).max()))
