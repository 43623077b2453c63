"""``zero_pad2d``: the same zeros eagerly and under a TorchScript trace, where no pad op may be recorded
(Paddle Inference aborts on the op X2Paddle maps it to); the blocks that pad (CMT's reduction, CoT's aggregation)."""

from __future__ import annotations

import io

import pytest
import torch
import torch.nn as nn

from tests.nn.reference import traced_ops
from yolo_hybrid.nn.cmt import LightweightMHSA
from yolo_hybrid.nn.cot import CoT
from yolo_hybrid.nn.pad import ZeroPad2d, zero_pad2d

PAD_OPS = {"aten::pad", "aten::constant_pad_nd"}  # F.pad traces as either, by torch version
PADS = [(0, 0, 0, 0), (1, 1, 1, 1), (0, 3, 0, 3), (2, 0, 1, 3)]


def _padded_by_hand(x: torch.Tensor, left: int, right: int, top: int, bottom: int) -> torch.Tensor:
    b, c, height, width = x.shape
    out = torch.zeros(b, c, height + top + bottom, width + left + right)
    for y in range(height):
        for z in range(width):
            out[:, :, top + y, left + z] = x[:, :, y, z]
    return out


@pytest.mark.parametrize("pads", PADS)
def test_eager_and_traced_equal_the_zeros_by_hand(pads):
    x = torch.randn(2, 3, 5, 4)
    torch.testing.assert_close(zero_pad2d(x, *pads), _padded_by_hand(x, *pads), rtol=0, atol=0)
    traced = torch.jit.trace(ZeroPad2d(pads), x)
    assert not traced_ops(traced) & PAD_OPS
    other = torch.randn(1, 3, 7, 9)  # the crop follows the traced sizes
    torch.testing.assert_close(traced(other), _padded_by_hand(other, *pads), rtol=0, atol=0)


@pytest.mark.parametrize("block", [lambda: LightweightMHSA(16, heads=2, sr=4), lambda: CoT(16)])
def test_traced_blocks_record_no_pad_and_keep_their_values(block):
    module = block().eval()
    x = torch.randn(1, 16, 9, 7)
    traced = torch.jit.trace(module, x)
    assert not traced_ops(traced) & PAD_OPS
    with torch.no_grad():
        torch.testing.assert_close(traced(x), module(x), rtol=1e-5, atol=1e-5)


def test_cmt_pickled_with_constant_pad_loads_with_the_traceable_pad():
    """Models saved by 0.2.0 hold ``nn.ConstantPad2d`` in the reduction; loading swaps it, values unchanged."""
    attn = LightweightMHSA(16, heads=2, sr=2).eval()
    attn.reduce[0] = nn.ConstantPad2d((0, 1, 0, 1), 0.0)
    x = torch.randn(1, 16, 5, 5)
    with torch.no_grad():
        expected = attn(x)
    buffer = io.BytesIO()
    torch.save(attn, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    assert isinstance(loaded.reduce[0], ZeroPad2d) and loaded.reduce[0].padding == (0, 1, 0, 1)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), expected, rtol=0, atol=0)
