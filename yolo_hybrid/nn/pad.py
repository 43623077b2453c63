"""Zero padding of a (B, C, H, W) map that every exporter's graph can carry.

A TorchScript trace records ``F.pad`` as a pad op (``aten::pad`` / ``constant_pad_nd``), which X2Paddle
(Ultralytics' PaddlePaddle export) maps to Paddle's ``pad`` op; Paddle Inference's oneDNN kernel for that op corrupts
the heap on the CPU ("free(): invalid pointer", then an abort). Under a trace the same zeros come from a depthwise 1x1
convolution with unit weights and the conv's own (symmetric) padding, cropped where the padding is one-sided: exact,
and mapped by every converter. ONNX export and eager execution keep ``F.pad``.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["zero_pad2d", "ZeroPad2d"]


def zero_pad2d(x: torch.Tensor, left: int, right: int, top: int, bottom: int) -> torch.Tensor:
    """``F.pad(x, (left, right, top, bottom))`` for non-negative pads; a padded unit 1x1 conv while traced.

    Args:
        x (torch.Tensor): Map (B, C, H, W).

    Returns:
        (torch.Tensor): (B, C, H + top + bottom, W + left + right), zeros in the border.
    """
    if not torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
        return F.pad(x, (left, right, top, bottom))
    pad_h, pad_w = max(top, bottom), max(left, right)
    unit = torch.ones(x.shape[1], 1, 1, 1, dtype=x.dtype, device=x.device)
    padded = F.conv2d(x, unit, None, 1, (pad_h, pad_w), 1, x.shape[1])  # (B, C, H + 2 pad_h, W + 2 pad_w)
    height, width = padded.shape[-2:]
    return padded[:, :, pad_h - top : height - (pad_h - bottom), pad_w - left : width - (pad_w - right)]


class ZeroPad2d(nn.Module):
    """``nn.ZeroPad2d`` that exports through every converter (see ``zero_pad2d``).

    Args:
        padding (tuple[int, int, int, int]): (left, right, top, bottom), each >= 0.

    Examples:
        >>> ZeroPad2d((0, 1, 0, 1))(torch.ones(1, 2, 3, 3)).shape
        torch.Size([1, 2, 4, 4])
    """

    def __init__(self, padding: tuple[int, int, int, int]):
        super().__init__()
        self.padding = tuple(padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return zero_pad2d(x, *self.padding)

    def extra_repr(self) -> str:
        return f"padding={self.padding}"
