"""Attention layers keep a dynamic batch under ``torch.export`` traced from a batch of one.

The dynamo ONNX exporter (``torch.onnx.export`` on torch >= 2.9, which Ultralytics 8.1/8.2 call without
``dynamo=False``) captures with ``torch.export`` from Ultralytics' batch-1 example and, when that specialises, again
with sizes treated obliviously (``backed_size_oblivious``). With one attention head the merged heads were a view with
channels-last strides, and the projection conv then guarded the batch to 1: the export failed, or (Ultralytics
8.1.47, yolov8n-cmt) came out with batch-1 shapes inside that ONNX Runtime refused at batch 2. BoT's attention lost
the batch at any head count (heads folded into the batch from a channel slice of its qkv output) and, with one head,
again in its relative logits (``yolo_hybrid/nn/multihead.py``).
"""

from __future__ import annotations

import pytest
import torch

from tests.nn.reference import randomize_
from yolo_hybrid.nn.bot import BottleneckTransformer, RelPosMHSA2d
from yolo_hybrid.nn.cmt import LightweightMHSA
from yolo_hybrid.nn.smt import SMTAttention

config = getattr(getattr(torch.fx, "experimental", None), "_config", None)


@pytest.mark.skipif(
    config is None or not hasattr(config, "backed_size_oblivious"), reason="this torch has no size-oblivious export"
)
@pytest.mark.parametrize(
    "build",
    [
        lambda: LightweightMHSA(64, heads=1, sr=4, max_size=16),
        lambda: LightweightMHSA(64, heads="d64<=2", sr=1, max_size=16),
        lambda: LightweightMHSA(64, heads=2, sr=2, max_size=16),
        lambda: SMTAttention(64, heads=1),
        lambda: SMTAttention(64, heads="d32"),
        lambda: RelPosMHSA2d(64, heads=1, max_size=16),
        lambda: RelPosMHSA2d(64, heads=4, max_size=16),
        lambda: BottleneckTransformer(64, 64, heads=1, max_size=16),
    ],
    ids=[
        "cmt-1-head-sr4",
        "cmt-1-head-sr1",
        "cmt-2-heads",
        "smt-1-head",
        "smt-2-heads",
        "bot-1-head",
        "bot-4-heads",
        "bot-block-1-head",
    ],
)
def test_export_from_a_batch_of_one_keeps_the_batch_dynamic(build):
    module = randomize_(build()).eval()
    batch = torch.export.Dim("batch")
    # sizes whose reduced maps (sr <= 4) have two or more rows and columns: a reduced size of 1 is another guard
    height, width = torch.export.Dim("height", min=9, max=64), torch.export.Dim("width", min=9, max=64)
    with config.patch(backed_size_oblivious=True):
        program = torch.export.export(
            module, (torch.rand(1, 64, 12, 12),), dynamic_shapes=({0: batch, 2: height, 3: width},)
        )
    x = torch.rand(3, 64, 10, 18)
    with torch.no_grad():
        torch.testing.assert_close(program.module()(x), module(x))
