"""Container layouts with the inner block supplied by a family: Ultralytics' C3, YOLOv8's C2f, and a plain stack.

Each family's ``BoT3``/``CoT3``, ``C2fBoT``/``C2fCoT``/``C2fSAM`` and ``SAMBlock``/``MSABlock``/``SMTStage``/
``CMTBlock`` is one of these layouts plus its block factory, with the attribute names of Ultralytics' own C3/C2f
(``cv1``, ``cv2``, ``cv3``, ``m``).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn
from ultralytics.nn.modules import Conv

__all__ = ["C3Layout", "C2fLayout", "StackLayout"]


class C3Layout(nn.Module):
    """``cv3(cat(m(cv1(x)), cv2(x)))`` with ``n`` blocks ``make_block(c_)`` in sequence, ``c_ = int(c2 * e)``.

    Args:
        c1 (int): Input channels.
        c2 (int): Output channels.
        n (int): Number of inner blocks.
        e (float): Hidden channel ratio.
        make_block (Callable[[int], nn.Module]): Builds one channel-preserving block of the given width.
    """

    def __init__(self, c1: int, c2: int, n: int, e: float, make_block: Callable[[int], nn.Module]):
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 1)
        self.cv2 = Conv(c1, c_, 1)
        self.cv3 = Conv(2 * c_, c2, 1)
        self.m = nn.Sequential(*(make_block(c_) for _ in range(n)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class C2fLayout(nn.Module):
    """Split ``cv1(x)`` in two, chain ``n`` blocks ``make_block(c)`` on the second half, ``cv2`` of all outputs.

    Args:
        c1 (int): Input channels.
        c2 (int): Output channels.
        n (int): Number of inner blocks.
        e (float): Hidden channel ratio (``c = int(c2 * e)``).
        make_block (Callable[[int], nn.Module]): Builds one channel-preserving block of the given width.
    """

    def __init__(self, c1: int, c2: int, n: int, e: float, make_block: Callable[[int], nn.Module]):
        super().__init__()
        self.c = int(c2 * e)
        self.cv1 = Conv(c1, 2 * self.c, 1)
        self.cv2 = Conv((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(make_block(self.c) for _ in range(n))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = list(self.cv1(x).chunk(2, 1))
        y.extend(m(y[-1]) for m in self.m)
        return self.cv2(torch.cat(y, 1))


class StackLayout(nn.Module):
    """``n`` channel-preserving blocks ``make_block(j)`` (j = 0..n-1) at c2 channels; a 1x1 Conv first if c1 != c2;
    optionally a norm after the last block (a transformer stage's closing norm).

    For stages that keep their width, like a transformer stage: a YAML row writes the previous layer's c2.

    Args:
        c1 (int): Input channels.
        c2 (int): Channels of the blocks and of the output.
        n (int): Number of blocks.
        make_block (Callable[[int], nn.Module]): Builds block j (c2 channels in and out).
        norm (nn.Module | None): Applied to the stage output (None: identity).
    """

    def __init__(self, c1: int, c2: int, n: int, make_block: Callable[[int], nn.Module], norm: nn.Module | None = None):
        super().__init__()
        self.proj = nn.Identity() if c1 == c2 else Conv(c1, c2, 1)
        self.m = nn.Sequential(*(make_block(j) for j in range(n)))
        self.norm = norm if norm is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.m(self.proj(x)))

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self._modules.setdefault("norm", nn.Identity())  # pickled by yolo_hybrid 0.1.0, before stage norms
