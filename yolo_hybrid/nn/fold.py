"""Exact inference-time folds: BatchNorm and identity shortcuts merged into neighbouring convolutions.

Ultralytics' ``fuse()`` folds the BN of its own ``Conv`` (conv -> BN -> act). Our blocks follow their papers'
op order, which puts some BatchNorms after an activation (CMT's IRFFN) or next to a residual (``h + dwconv(h)``), so
eager PyTorch runs every one of them as its own pass over a full-resolution map. The folds here remove those passes
and change no output beyond float rounding:

* BN after a conv: per output channel, ``a * (W x + b - mean) + beta`` is a conv with ``a W`` and a shifted bias.
* BN before a 1x1 conv (no padding, so no border effect): ``W (a x + c) + b`` is a conv with ``W a`` and ``W c + b``.
* ``x + dwconv(x)`` for a depthwise conv with an odd kernel and "same" zero padding: add 1 to each kernel's centre
  tap (the centre never reads padding). A BN *before* a padded conv is never folded: its shift would have to apply to
  the padding as well.

Blocks call these from their own ``fuse()``; the integration layer calls every yolo_hybrid module's ``fuse()`` from
Ultralytics' ``BaseModel.fuse``.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn.utils.fusion import fuse_conv_bn_weights

__all__ = ["bn_scale_shift", "fold_bn_after", "fold_bn_before_pointwise", "fold_identity_into_depthwise"]


def bn_scale_shift(bn: nn.modules.batchnorm._BatchNorm) -> tuple[torch.Tensor, torch.Tensor]:
    """Eval-mode BN as ``a * x + c``: returns (a, c), each (C,)."""
    scale = bn.running_var.add(bn.eps).rsqrt()
    if bn.weight is not None:
        scale = scale * bn.weight
    shift = -bn.running_mean * scale
    if bn.bias is not None:
        shift = shift + bn.bias
    return scale, shift


def _with_bias(conv: nn.Conv2d) -> torch.Tensor:
    return conv.bias.detach() if conv.bias is not None else conv.weight.new_zeros(conv.out_channels)


def _set(conv: nn.Conv2d, weight: torch.Tensor, bias: torch.Tensor) -> None:
    conv.weight = nn.Parameter(weight.detach().clone(), requires_grad=False)
    conv.bias = nn.Parameter(bias.detach().clone(), requires_grad=False)


@torch.no_grad()
def fold_bn_after(conv: nn.Conv2d, bn: nn.modules.batchnorm._BatchNorm) -> None:
    """Make ``conv`` compute ``bn(conv(x))`` (eval statistics); ``bn`` is then to be dropped."""
    _set(
        conv, *fuse_conv_bn_weights(conv.weight, conv.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias)
    )


@torch.no_grad()
def fold_bn_before_pointwise(bn: nn.modules.batchnorm._BatchNorm, conv: nn.Conv2d) -> None:
    """Make the dense 1x1 ``conv`` compute ``conv(bn(x))`` (eval statistics); ``bn`` is then to be dropped.

    Raises:
        ValueError: ``conv`` is not a dense, unpadded 1x1 convolution (its input shift would meet padding).
    """
    if conv.kernel_size != (1, 1) or conv.groups != 1 or conv.padding not in ((0, 0), "valid"):
        raise ValueError(f"a BN folds into the input of a dense unpadded 1x1 conv only, not {conv}")
    scale, shift = bn_scale_shift(bn)
    weight = conv.weight * scale.view(1, -1, 1, 1)
    _set(conv, weight, _with_bias(conv) + conv.weight[:, :, 0, 0] @ shift)


@torch.no_grad()
def fold_identity_into_depthwise(conv: nn.Conv2d) -> None:
    """Make the depthwise ``conv`` compute ``x + conv(x)``.

    Raises:
        ValueError: Not a channel-preserving depthwise conv with odd kernel, stride 1 and "same" zero padding.
    """
    kh, kw = conv.kernel_size
    same = conv.padding in ((kh // 2, kw // 2), "same") and conv.padding_mode == "zeros"
    if not (
        conv.groups == conv.in_channels == conv.out_channels
        and kh % 2
        and kw % 2
        and same
        and conv.stride == (1, 1)
        and conv.dilation == (1, 1)
    ):
        raise ValueError(f"an identity folds into a same-size depthwise conv with odd kernel only, not {conv}")
    weight = conv.weight.clone()
    weight[:, 0, kh // 2, kw // 2] += 1
    _set(conv, weight, _with_bias(conv))
