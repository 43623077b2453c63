"""CBAM (Woo et al., ECCV 2018): channel attention from pooled descriptors, then spatial attention from a 7x7 conv.

Two YAML blocks, registered with yolo_hybrid's public ``register_block``:

* ``CBAMConv`` (kind ``"base"``, built like Conv): ``[c2, k, s]`` -- a Conv followed by CBAM.
* ``C2fCBAM`` (kind ``"repeat"``, built like C2f): ``[c2, shortcut, e]`` -- a C2f whose output goes through CBAM.

Both get Ultralytics' width/depth/max_channels scaling, so a row swaps in for a stock Conv or C2f row unchanged.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from ultralytics.nn.modules import C2f, Conv

from yolo_hybrid import register_block

__all__ = ["ChannelGate", "SpatialGate", "CBAM", "CBAMConv", "C2fCBAM"]


class ChannelGate(nn.Module):
    """x * sigmoid(MLP(avgpool(x)) + MLP(maxpool(x))), the MLP shared and squeezed by ``reduction``."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg, peak = x.mean((2, 3), keepdim=True), x.amax((2, 3), keepdim=True)
        return x * (self.mlp(avg) + self.mlp(peak)).sigmoid()


class SpatialGate(nn.Module):
    """x * sigmoid(conv7x7([mean over channels, max over channels]))."""

    def __init__(self, kernel_size: int = 7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat((x.mean(1, keepdim=True), x.amax(1, keepdim=True)), 1)
        return x * self.conv(pooled).sigmoid()


class CBAM(nn.Module):
    """Channel gate, then spatial gate (the paper's sequential order)."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        self.channel, self.spatial = ChannelGate(channels, reduction), SpatialGate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spatial(self.channel(x))


@register_block(kind="base")
class CBAMConv(nn.Module):
    """Ultralytics Conv (c1 -> c2, kernel k, stride s) followed by CBAM on its output."""

    def __init__(self, c1: int, c2: int, k: int = 1, s: int = 1):
        super().__init__()
        self.conv, self.cbam = Conv(c1, c2, k, s), CBAM(c2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cbam(self.conv(x))


@register_block(kind="repeat")
class C2fCBAM(C2f):
    """C2f (same arguments and weights layout) with CBAM applied to its output."""

    def __init__(self, c1: int, c2: int, n: int = 1, shortcut: bool = False, g: int = 1, e: float = 0.5):
        super().__init__(c1, c2, n, shortcut, g, e)
        self.cbam = CBAM(c2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cbam(super().forward(x))
