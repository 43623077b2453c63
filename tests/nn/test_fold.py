"""The inference folds (``yolo_hybrid.nn.fold``) against the unfolded ops they replace, and every block's ``fuse()``
against its own unfused forward (random BN statistics, non-square maps, odd sizes)."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from tests.nn.reference import randomize_
from yolo_hybrid.nn.cmt import IRFFN, CMTLayer
from yolo_hybrid.nn.fold import fold_bn_after, fold_bn_before_pointwise, fold_identity_into_depthwise
from yolo_hybrid.nn.smt import DetailFFN, ScaleAwareModulation, msa_block, sam_block


def _bn(channels: int) -> nn.BatchNorm2d:
    return randomize_(nn.BatchNorm2d(channels))


def _bn_by_hand(bn: nn.BatchNorm2d, x: torch.Tensor) -> torch.Tensor:
    """Eval BN written from its definition."""
    view = (1, -1, 1, 1)
    return (x - bn.running_mean.view(view)) / torch.sqrt(bn.running_var.view(view) + bn.eps) * bn.weight.view(
        view
    ) + bn.bias.view(view)


@pytest.mark.parametrize("groups", [1, 4])
@pytest.mark.parametrize("bias", [True, False])
def test_bn_after_conv(groups, bias):
    conv, bn = nn.Conv2d(8, 12, 3, padding=1, groups=groups, bias=bias), _bn(12)
    x = torch.randn(2, 8, 7, 5)
    expected = _bn_by_hand(bn, conv(x))
    fold_bn_after(conv, bn)
    torch.testing.assert_close(conv(x), expected, rtol=1e-5, atol=1e-5)


def test_bn_before_pointwise_conv():
    bn, conv = _bn(8), nn.Conv2d(8, 6, 1)
    x = torch.randn(2, 8, 5, 9)
    expected = conv(_bn_by_hand(bn, x))
    fold_bn_before_pointwise(bn, conv)
    torch.testing.assert_close(conv(x), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "conv",
    [nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(8, 8, 1, groups=2), nn.Conv2d(8, 8, 1, padding=1)],
    ids=["3x3", "grouped", "padded"],
)
def test_bn_before_a_conv_that_is_not_dense_unpadded_1x1_is_refused(conv):
    with pytest.raises(ValueError, match="dense unpadded 1x1"):
        fold_bn_before_pointwise(_bn(8), conv)


@pytest.mark.parametrize("kernel", [(3, 3), (5, 5), (3, 7)])
def test_identity_into_depthwise_conv(kernel):
    conv = nn.Conv2d(6, 6, kernel, padding=(kernel[0] // 2, kernel[1] // 2), groups=6)
    x = torch.randn(2, 6, 5, 8)  # borders on every side, height below the widest kernel
    expected = x + F.conv2d(x, conv.weight, conv.bias, padding=conv.padding, groups=6)
    fold_identity_into_depthwise(conv)
    torch.testing.assert_close(conv(x), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "conv",
    [
        nn.Conv2d(6, 6, 3, 2, 1, groups=6),
        nn.Conv2d(6, 6, 3, padding=1, groups=3),
        nn.Conv2d(6, 6, 4, padding=2, groups=6),
        nn.Conv2d(6, 6, 3, groups=6),
    ],
    ids=["strided", "not-depthwise", "even", "valid"],
)
def test_identity_into_a_conv_that_changes_size_or_mixes_channels_is_refused(conv):
    with pytest.raises(ValueError, match="same-size depthwise"):
        fold_identity_into_depthwise(conv)


BLOCKS = {
    "IRFFN": lambda: IRFFN(16, 4.0),
    "CMTLayer-sr2": lambda: CMTLayer(16, heads=2, sr=2, max_size=16),
    "CMTLayer-sr1": lambda: CMTLayer(16, heads=4, sr=1, max_size=16),
    "DetailFFN": lambda: DetailFFN(16, 4.0),
    "ScaleAwareModulation": lambda: ScaleAwareModulation(16, heads=4),
    "SAM block": lambda: sam_block(16, heads=4),
    "MSA block": lambda: msa_block(16, heads=4),
}


def _fuse_all(module: nn.Module) -> None:
    for m in module.modules():
        if hasattr(type(m), "fuse"):
            m.fuse()


@pytest.mark.parametrize("name", BLOCKS)
def test_block_fuse_keeps_outputs_and_is_idempotent(name):
    torch.manual_seed(0)
    block = randomize_(BLOCKS[name]())
    fused = copy.deepcopy(block)
    x = torch.randn(2, 16, 9, 7)
    with torch.no_grad():
        expected = block(x)
        _fuse_all(fused)
        once = fused(x)
        _fuse_all(fused)
        twice = fused(x)
    torch.testing.assert_close(once, expected, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(twice, once)
    before, after = block.state_dict(), fused.state_dict()
    assert before.keys() != after.keys() or any(not torch.equal(before[k], after[k]) for k in before), "nothing folded"


def test_irffn_fuse_drops_the_bns_it_folded():
    ffn = randomize_(IRFFN(8))
    ffn.fuse()
    assert [n for n, m in ffn.named_modules() if isinstance(m, nn.BatchNorm2d)] == ["bn1"]
