"""A user's own blocks, one of each kind, as a user would write them (imported only by child processes of the tests:
registering them in the test process would change what every other test sees)."""

from __future__ import annotations

import torch
import torch.nn as nn
from ultralytics.nn.modules import Conv

from yolo_hybrid import register_block


@register_block  # kind="repeat" by default: built like C2f, (c1, c2, n, *args)
class ResidualStack(nn.Module):
    """A 1x1 projection c1 -> c2, then n residual 3x3 Convs."""

    def __init__(self, c1: int, c2: int, n: int = 1, expand: float = 1.0):
        super().__init__()
        hidden = max(int(c2 * expand), 1)
        self.cv1 = Conv(c1, c2, 1)
        self.m = nn.Sequential(*(nn.Sequential(Conv(c2, hidden, 3), Conv(hidden, c2, 1)) for _ in range(n)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.cv1(x)
        for block in self.m:
            y = y + block(y)
        return y


@register_block(kind="base")
class GatedConv(nn.Module):
    """Conv(c1, c2, k, s) times a sigmoid gate computed from the same input."""

    def __init__(self, c1: int, c2: int, k: int = 1, s: int = 1):
        super().__init__()
        self.conv, self.gate = Conv(c1, c2, k, s), nn.Conv2d(c1, c2, k, s, k // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) * self.gate(x).sigmoid()


@register_block(kind="base")
class FoldableConv(nn.Module):
    """A plain conv then its own BatchNorm, which ``fuse()`` folds into the conv (counting the calls)."""

    def __init__(self, c1: int, c2: int):
        super().__init__()
        self.conv, self.bn, self.fuse_calls = nn.Conv2d(c1, c2, 3, 1, 1), nn.BatchNorm2d(c2), 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))

    def fuse(self) -> None:
        self.fuse_calls += 1
        if isinstance(self.bn, nn.BatchNorm2d):
            self.conv = torch.nn.utils.fusion.fuse_conv_bn_eval(self.conv, self.bn)
            self.bn = nn.Identity()


@register_block(kind="head", name="MaxPoolClassify")
class MaxPoolHead(nn.Module):
    """Global max pool then a linear layer to nc classes (softmax at inference, as Ultralytics' Classify)."""

    def __init__(self, c1: int, c2: int, hidden: int = 64):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(c1, hidden), nn.SiLU(), nn.Linear(hidden, c2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.fc(x.amax((2, 3)))
        return x if self.training else x.softmax(1)


@register_block(kind="base")
class Picky(nn.Module):
    """A block whose own check fails: the error must still name the YAML file and layer."""

    def __init__(self, c1: int, c2: int, groups: int = 1):
        super().__init__()
        if c2 % groups:
            raise ValueError(f"c2={c2} is not divisible by groups={groups}")
        self.conv = Conv(c1, c2, 1, g=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)
