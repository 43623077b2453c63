"""Container layouts with the inner block supplied by a family: Ultralytics' C3, YOLOv8's C2f, YOLO11's C3k2 and
C2PSA, and a plain stack.

Each family's ``BoT3``/``CoT3``, ``C2fBoT``/``C2fCoT``/``C2fSAM``, ``C3k2BoT``/``C3k2CoT``/``C3k2SAM``/``C3k2CMT``,
``C2BoT``/``C2MSA``/``C2CMT`` and ``SAMBlock``/``MSABlock``/``SMTStage``/``CMTBlock`` is one of these layouts plus its
block factory, with the attribute names of Ultralytics' own C3/C2f/C3k2/C2PSA (``cv1``, ``cv2``, ``cv3``, ``m``), so
the convolutions around the blocks have the stock shapes and names (a stock checkpoint's weights transfer into them).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn as nn
from ultralytics.nn.modules import Conv

from yolo_hybrid.errors import ConfigError
from yolo_hybrid.spec import FLAG, RATIO, Arg

__all__ = ["C3Layout", "C2fLayout", "C3k2Layout", "C2Layout", "StackLayout", "C3K2_ARGS", "c3k2_width"]


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


def _psa_block(c: int) -> nn.Module:
    """Ultralytics' PSABlock as C3k2(attn=True) builds it (YOLO26); Ultralytics 8.3+ only."""
    try:
        from ultralytics.nn.modules.block import PSABlock
    except ImportError:
        raise ConfigError(
            "attn=True adds Ultralytics' PSABlock, which needs ultralytics>=8.3. Fix: write attn false, "
            "or upgrade Ultralytics"
        ) from None
    return PSABlock(c, attn_ratio=0.5, num_heads=max(c // 64, 1))


class C3k2Layout(C2fLayout):
    """YOLO11's C3k2: the C2f layout whose ``n`` inner blocks are a family block, or (``c3k``) a C3 of two family
    blocks at half width, or (``attn``) a family block followed by Ultralytics' PSABlock -- the three forms of
    Ultralytics' ``C3k2(c1, c2, n, c3k, e, attn)`` with its Bottleneck replaced.

    Args:
        c1 (int): Input channels.
        c2 (int): Output channels.
        n (int): Number of inner blocks.
        c3k (bool): Each inner block is a C3 of two family blocks (Ultralytics' C3k) at ``int(c * 0.5)`` channels.
        e (float): Hidden channel ratio (``c = int(c2 * e)``).
        attn (bool): Each inner block is a family block then a PSABlock (YOLO26's last neck C3k2); wins over c3k,
            as in Ultralytics.
        make_block (Callable[[int, int], nn.Module]): ``make_block(width, j)`` builds a channel-preserving block for
            inner block j (j = 0..n-1; both blocks of a C3k get the same j).
    """

    def __init__(
        self, c1: int, c2: int, n: int, c3k: bool, e: float, attn: bool, make_block: Callable[[int, int], nn.Module]
    ):
        index = iter(range(n))

        def inner(c: int) -> nn.Module:
            j = next(index)
            if attn:
                return nn.Sequential(make_block(c, j), _psa_block(c))
            if c3k:
                return C3Layout(c, c, 2, 0.5, lambda c_: make_block(c_, j))
            return make_block(c, j)

        super().__init__(c1, c2, n, e, inner)


def c3k2_width(c2: int, c3k: bool, e: float, attn: bool = False) -> int:
    """Channels of one family block inside ``C3k2Layout(c1, c2, n, c3k, e, attn)``."""
    c = int(c2 * e)
    return int(c * 0.5) if c3k and not attn else c


# The arguments every C3k2 form shares, in Ultralytics' C3k2 order (a stock row keeps working after a name swap).
C3K2_ARGS = (
    Arg(
        "c3k",
        FLAG,
        "inner blocks as C3k: a C3 of two family blocks at half width (Ultralytics forces it at m/l/x; "
        "we do not: attention is costly)",
        "write true or false, as in a C3k2 row",
    ),
    Arg("e", RATIO, "hidden channel ratio", "pass e as a ratio such as 0.5 (C3k2 rows write 0.25 or 0.5)"),
    Arg(
        "attn", FLAG, "follow each family block by Ultralytics' PSABlock, as YOLO26's C3k2 attn", "write true or false"
    ),
)


class C2Layout(nn.Module):
    """YOLO11's C2PSA layout: ``cv2(cat(a, m(b)))`` with ``a, b`` the two halves of ``cv1(x)`` and ``n`` blocks
    ``make_block(c, j)`` in sequence, ``c = int(c2 * e)``.

    Ultralytics' C2PSA takes ``c = int(c1 * e)`` and requires c1 == c2; here c1 may differ (the width follows c2).

    Args:
        c1 (int): Input channels.
        c2 (int): Output channels.
        n (int): Number of blocks.
        e (float): Hidden channel ratio.
        make_block (Callable[[int, int], nn.Module]): ``make_block(width, j)`` builds channel-preserving block j.
    """

    def __init__(self, c1: int, c2: int, n: int, e: float, make_block: Callable[[int, int], nn.Module]):
        super().__init__()
        self.c = int(c2 * e)
        self.cv1 = Conv(c1, 2 * self.c, 1)
        self.cv2 = Conv(2 * self.c, c2, 1)
        self.m = nn.Sequential(*(make_block(self.c, j) for j in range(n)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.cv1(x).split((self.c, self.c), 1)
        return self.cv2(torch.cat((a, self.m(b)), 1))


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
