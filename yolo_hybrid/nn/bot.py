"""BoTNet: Bottleneck Transformers (Srinivas et al., CVPR 2021, arXiv 2101.11605), resolution-agnostic.

The paper replaces the 3x3 convolution of the last ResNet bottlenecks by global multi-head self-attention with 2-D
relative position logits. Its tables are tied to one feature-map size; here they are sized for a *maximum extent*
``P`` and indexed by offset at run time, which is exact for every map up to ``P x P`` (``P`` per axis) and clips
offsets to ``+-(P-1)`` beyond it (the nearest learned offset is reused, as in Shaw et al.'s clipped relative positions).

Layers:
    RelPosMHSA2d: MHSA over an NCHW map, logits ``q.k + q.r_w[dx] + q.r_h[dy]`` (no output projection).
    BottleneckTransformer: the paper's block (1x1 conv, MHSA, 2x2 avg-pool if strided, BN-act, 1x1 conv, + shortcut).
    BoTStage: a ResNet stage of BottleneckTransformers (BoTNet-50's c5).
    BoT3: a C3 of BottleneckTransformers (YAML ``[-1, 3, BoT3, [1024]]``).
    C2fBoT: the same blocks in YOLOv8's C2f layout.
    C3k2BoT: the same blocks in YOLO11's C3k2 layout (a drop-in for a C3k2 row).
    C2BoT: the same blocks in YOLO11's C2PSA layout (a drop-in for a C2PSA row: the paper's attention for Ultralytics').
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import torch
import torch.nn as nn
import torch.nn.functional as F
from ultralytics.nn.modules import Conv

from yolo_hybrid.errors import check_divisible
from yolo_hybrid.nn.attention_budget import check_attention_budget
from yolo_hybrid.nn.csp import C3K2_ARGS, C2fLayout, C2Layout, C3k2Layout, C3Layout, c3k2_width
from yolo_hybrid.nn.multihead import merge_heads, split_heads, split_projection
from yolo_hybrid.nn.tracing import is_capturing
from yolo_hybrid.spec import FLAG, POSITIVE_INT, RATIO, Arg, Choice, Maybe, Pair, Rule, divides, yaml_block

__all__ = [
    "RelPosMHSA2d",
    "BottleneckTransformer",
    "BoTStage",
    "BoT3",
    "C2fBoT",
    "C3k2BoT",
    "C2BoT",
    "DEFAULT_MAX_SIZE",
]

DEFAULT_MAX_SIZE = 64  # P5 of a 2048 px image, P4 of 1024 px: exact relative offsets for every usual imgsz


SIZE = Pair(POSITIVE_INT)


def _pair(value, block: str, arg: str) -> tuple[int, int]:
    SIZE.check(block, arg, value, f"give {arg} as a positive int, e.g. 64")
    return tuple(value) if isinstance(value, (list, tuple)) else (value, value)


def _heads_divide(width: Callable[[SimpleNamespace], int], formula: str) -> Rule:
    """Rule: ``heads`` divides the attention width computed by ``width``."""
    return divides(
        "heads",
        width,
        f"the attention width {formula}",
        "choose heads dividing that width (e.g. 4 or 8), or change the width ratio",
    )


HEADS = Arg("heads", POSITIVE_INT, "attention heads", "use a positive number of heads, e.g. 4")
MAX_SIZE = Arg(
    "max_size",
    Maybe(SIZE),
    "largest map extent with exact relative offsets (null: 64)",
    "give the largest expected map extent, e.g. 64, or null",
)


def relative_offsets(length, max_size: int, device=None) -> torch.Tensor:
    """Table row of every (query, key) pair along one axis: ``clamp(k - q, -(P-1), P-1) + P - 1``.

    Args:
        length (int | SymInt): Map extent along the axis; may be a traced size so exports keep it dynamic.
        max_size (int): Maximum extent ``P`` the table was built for (table rows ``2P - 1``).
        device (torch.device | str | None): Device of the returned index.

    Returns:
        (torch.Tensor): Long tensor of shape (length, length), indexed ``[q, k]``.
    """
    pos = torch.arange(length, device=device)
    offset = pos[None, :] - pos[:, None]
    return offset.clamp(-(max_size - 1), max_size - 1) + (max_size - 1)


class RelPosMHSA2d(nn.Module):
    """Multi-head self-attention over all H*W positions with BoTNet's factorised 2-D relative position logits.

    For query ``i = (y_q, x_q)`` and key ``j = (y_k, x_k)`` of head ``h`` with head dim ``d``:
    ``logit[i, j] = (q_i . k_j + q_i . r_w[x_k - x_q] + q_i . r_h[y_k - y_q]) / sqrt(d)``; softmax over ``j``;
    ``out_i = sum_j a[i, j] v_j``; heads concatenated. The 1/sqrt(d) on the position term follows the official
    TensorFlow gist (q is scaled before both products). q, k, v come from one bias-free 1x1 conv; there is no output
    projection, as in the paper.

    Args:
        dim (int): Channels in and out; split evenly across heads.
        heads (int): Number of heads (paper: 4).
        max_size (int | tuple[int, int]): Maximum map extent ``P`` (or ``(P_h, P_w)``) with exact offsets.

    Shapes:
        x: (B, dim, H, W) -> (B, dim, H, W), any H, W >= 1.

    Examples:
        >>> attn = RelPosMHSA2d(64, heads=4, max_size=16)
        >>> attn(torch.randn(2, 64, 5, 7)).shape
        torch.Size([2, 64, 5, 7])
    """

    yaml_layer: str | None = None  # "file.yaml, layer 8 (BoT3)", set by the integration; names it in warnings

    def __init__(self, dim: int, heads: int = 4, max_size: int | tuple[int, int] = DEFAULT_MAX_SIZE):
        super().__init__()
        name = type(self).__name__
        POSITIVE_INT.check(name, "heads", heads, "use a positive number of heads, e.g. 4")
        check_divisible(name, "channels", dim, heads, "heads", f"choose heads dividing {dim}, or change the width")
        self.dim, self.heads = dim, heads
        self.dim_head = dim // heads
        self.scale = self.dim_head**-0.5
        self.max_size = _pair(max_size, name, "max_size")
        self.qkv = nn.Conv2d(dim, 3 * dim, 1, bias=False)
        self.rel_h = nn.Parameter(torch.randn(2 * self.max_size[0] - 1, self.dim_head) * self.scale)
        self.rel_w = nn.Parameter(torch.randn(2 * self.max_size[1] - 1, self.dim_head) * self.scale)
        self.use_sdpa = hasattr(F, "scaled_dot_product_attention")

    def rel_logits(self, q: torch.Tensor, height, width) -> torch.Tensor:
        """Relative position logits ``q_i . r_w[dx] + q_i . r_h[dy]`` for every (query, key) pair.

        Heads stay folded into the batch and no intermediate exceeds rank 4, so every converter maps the graph.

        Args:
            q (torch.Tensor): Queries (B*heads, H*W, d), already scaled.

        Returns:
            (torch.Tensor): Logits (B*heads, H*W, H*W).
        """
        bh, d = q.shape[0], self.dim_head
        q = q.reshape(bh, height, width, d)
        r_h = F.embedding(relative_offsets(height, self.max_size[0], q.device), self.rel_h)  # (H_q, H_k, d)
        r_w = F.embedding(relative_offsets(width, self.max_size[1], q.device), self.rel_w)  # (W_q, W_k, d)
        # rel_logits_w[bh, y_q, x_q, x_k] = q[bh, y_q, x_q] . r_w[x_q, x_k]: one matmul per query column x_q
        q_by_column = q.permute(2, 0, 1, 3).reshape(width, bh * height, d)
        rel_logits_w = torch.matmul(q_by_column, r_w.transpose(1, 2)).reshape(width, bh, height, width)
        rel_logits_w = rel_logits_w.permute(1, 2, 0, 3)
        # rel_logits_h[bh, y_q, x_q, y_k] = q[bh, y_q, x_q] . r_h[y_q, y_k]: one matmul per query row y_q
        q_by_row = q.transpose(0, 1).reshape(height, bh * width, d)
        rel_logits_h = torch.matmul(q_by_row, r_h.transpose(1, 2)).reshape(height, bh, width, height).transpose(0, 1)
        # a copy that reshape would make anyway for B*heads > 1, made unconditionally: under torch.export the reshape's
        # view-or-copy choice (a view when B*heads == 1) guards a one-head model's batch to 1; contiguous() guards too
        rel_logits_h = rel_logits_h.clone(memory_format=torch.contiguous_format)
        n = height * width
        logits = rel_logits_h.reshape(bh * n, height, 1) + rel_logits_w.reshape(bh * n, 1, width)  # [i, y_k, x_k]
        return logits.reshape(bh, n, n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, height, width = x.shape
        n = height * width
        check_attention_budget(self, x, self.heads, n)  # the position logits are (B*heads, N, N) in every path
        q, k, v = (split_heads(t, b, n, self.heads, self.dim_head) for t in split_projection(self.qkv, x, 3))
        rel = self.rel_logits(q * self.scale, height, width)
        if self.use_sdpa and not is_capturing():  # contiguous: PyTorch's fused kernels need a unit stride in d
            q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=rel.to(q.dtype))
        else:  # plain ops under any export: every converter and ONNX opset maps MatMul/Softmax
            attn = (torch.matmul(q * self.scale, k.transpose(-1, -2)) + rel).softmax(dim=-1)
            out = torch.matmul(attn, v)
        return merge_heads(out, b, self.dim, height, width)

    def extra_repr(self) -> str:
        return f"heads={self.heads}, dim_head={self.dim_head}, max_size={self.max_size}"


@yaml_block(
    "base",
    Arg("s", Choice((1, 2)), "stride", "use stride 1, or 2 to halve the map"),
    HEADS,
    Arg("e", RATIO, "bottleneck width ratio", "use e=0.25 (ResNet bottleneck) or e=1.0"),
    Arg("max_size", SIZE, "largest map extent with exact relative offsets", "give the largest map extent, e.g. 64"),
    Arg("shortcut", FLAG, "residual connection", "write true or false"),
    rules=(_heads_divide(lambda a: int(a.c2 * a.e), "int(c2*e)"),),
    summary="One BoTNet block (1x1 conv, relative-position MHSA, 1x1 conv, shortcut), stride 1 or 2.",
)
class BottleneckTransformer(nn.Module):
    """The BoTNet block: a ResNet bottleneck whose 3x3 conv is relative-position MHSA.

    ``act(conv1x1_bn(act(bn(pool(mhsa(conv1x1(x)))))) + shortcut(x))``: pooling is a 2x2 average (stride 2, ceil mode
    so odd maps match the strided shortcut) only when ``s=2``; the last BN starts at zero so the block starts as its
    shortcut. Convolutions are Ultralytics ``Conv`` (so ``fuse()`` folds their BN); the activation is Ultralytics'
    default (SiLU; the paper uses ReLU), and follows a YAML's ``activation:``.

    Args:
        c1 (int): Input channels.
        c2 (int): Output channels.
        s (int): Stride, 1 or 2.
        heads (int): Attention heads.
        e (float): Bottleneck width ``c_ = int(c2 * e)`` (0.25 in ResNet stages, 1.0 inside C3/C2f).
        max_size (int | tuple): Maximum map extent with exact relative offsets (see module docstring).
        shortcut (bool): Residual connection (projection when the shape changes).

    Shapes:
        x: (B, c1, H, W) -> (B, c2, ceil(H/s), ceil(W/s)).

    Examples:
        >>> block = BottleneckTransformer(64, 128, s=2)
        >>> block(torch.randn(1, 64, 9, 12)).shape
        torch.Size([1, 128, 5, 6])
    """

    def __init__(
        self,
        c1: int,
        c2: int,
        s: int = 1,
        heads: int = 4,
        e: float = 0.25,
        max_size: int | tuple[int, int] = DEFAULT_MAX_SIZE,
        shortcut: bool = True,
    ):
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 1)
        self.attn = RelPosMHSA2d(c_, heads, max_size)
        self.pool = nn.AvgPool2d(2, 2, ceil_mode=True) if s == 2 else nn.Identity()
        self.bn = nn.BatchNorm2d(c_)
        self.act = Conv.default_act
        self.cv2 = Conv(c_, c2, 1, act=False)
        self.add = shortcut
        if self.add:
            nn.init.zeros_(self.cv2.bn.weight)
        self.shortcut = nn.Identity() if (s == 1 and c1 == c2) or not self.add else Conv(c1, c2, 1, s, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.cv2(self.act(self.bn(self.pool(self.attn(self.cv1(x))))))
        return self.act(y + self.shortcut(x) if self.add else y)


def _max_size(block: str, max_size, w=None, h=None) -> tuple[int, int]:
    """Table extent from ``max_size`` and the community ``(w, h)`` size hint: the larger of the two per axis."""
    p_h, p_w = _pair(DEFAULT_MAX_SIZE if max_size is None else max_size, block, "max_size")
    return max(p_h, h or 0), max(p_w, w or 0)


@yaml_block(
    "repeat",
    Arg("s", Choice((1, 2)), "stride of the first block", "use stride 1, or 2 to halve the map"),
    Arg("e", RATIO, "bottleneck width ratio (ResNet: 0.25)", "use e.g. 0.25"),
    HEADS,
    MAX_SIZE,
    rules=(_heads_divide(lambda a: int(a.c2 * a.e), "int(c2*e)"),),
    summary="A ResNet stage of `n` Bottleneck Transformers (first one strided); BoTNet-50's c5 stage.",
    n=Arg(
        "n",
        POSITIVE_INT,
        "blocks in the stage (the row's repeats column)",
        "write at least 1 in the row's repeats column (a stage without blocks cannot change c1 to c2)",
    ),
)
class BoTStage(nn.Module):
    """A ResNet stage of ``n`` BottleneckTransformers: the first changes channels and stride, the rest keep them.

    BoTNet-50 is ResNet-50 with its c5 stage replaced by ``BoTStage(1024, 2048, n=3, s=2)``.

    Args:
        c1 (int): Input channels.
        c2 (int): Output channels (the bottleneck width is ``c2 * e``).
        n (int): Number of blocks.
        s (int): Stride of the first block (1 or 2).
        e (float): Bottleneck width ratio (ResNet: 0.25).
        heads (int): Attention heads.
        max_size (int | tuple | None): Maximum map extent with exact relative offsets (None: 64).

    Examples:
        >>> BoTStage(256, 512, n=2, s=2)(torch.randn(1, 256, 14, 14)).shape
        torch.Size([1, 512, 7, 7])
    """

    def __init__(self, c1: int, c2: int, n: int = 1, s: int = 1, e: float = 0.25, heads: int = 4, max_size=None):
        super().__init__()
        size = _max_size(type(self).__name__, max_size)
        self.m = nn.Sequential(
            *(BottleneckTransformer(c1 if i == 0 else c2, c2, s if i == 0 else 1, heads, e, size) for i in range(n))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.m(x)


@yaml_block(
    "repeat",
    Arg("e", RATIO, "C3 hidden channel ratio", "BoT3 takes (c2, e, e2, w, h): pass e as a ratio such as 0.5"),
    Arg("e2", RATIO, "bottleneck width ratio inside each block", "pass e2 as a ratio such as 1.0"),
    Arg(
        "w",
        Maybe(POSITIVE_INT),
        "community size hint (map width); only enlarges the position table",
        "give the expected map width, e.g. 20, or null",
    ),
    Arg("h", Maybe(POSITIVE_INT), "community size hint (map height)", "give the expected map height, e.g. 20, or null"),
    HEADS,
    MAX_SIZE,
    rules=(_heads_divide(lambda a: int(int(a.c2 * a.e) * a.e2), "int(int(c2*e)*e2)"),),
    summary="C3 whose inner blocks are Bottleneck Transformers; the YOLO community's positional `(e, e2, w, h)`.",
)
class BoT3(C3Layout):
    """CSP bottleneck with 3 convolutions (Ultralytics C3) whose inner blocks are BottleneckTransformers.

    Accepts the positional arguments of the YOLO community's BoT3, ``(c1, c2, n, e, e2, w, h)``, so existing YAMLs
    keep working; ``w`` and ``h`` (the feature-map size those implementations were tied to) only enlarge the relative
    position tables here, which work at any size anyway.

    Args:
        c1 (int): Input channels.
        c2 (int): Output channels.
        n (int): Number of BottleneckTransformers.
        e (float): Hidden channel ratio of the C3 (``c_ = int(c2 * e)``).
        e2 (float): Bottleneck width ratio inside each BottleneckTransformer.
        w (int | None): Community size hint: expected map width (lower bound of the table extent).
        h (int | None): Community size hint: expected map height.
        heads (int): Attention heads.
        max_size (int | tuple | None): Maximum map extent with exact relative offsets (None: 64).

    Examples:
        >>> BoT3(256, 256, n=1)(torch.randn(1, 256, 20, 15)).shape
        torch.Size([1, 256, 20, 15])
    """

    def __init__(
        self,
        c1: int,
        c2: int,
        n: int = 1,
        e: float = 0.5,
        e2: float = 1.0,
        w=None,
        h=None,
        heads: int = 4,
        max_size=None,
    ):
        size = _max_size(type(self).__name__, max_size, w, h)
        super().__init__(c1, c2, n, e, lambda c_: BottleneckTransformer(c_, c_, 1, heads, e2, size))


@yaml_block(
    "repeat",
    Arg("shortcut", FLAG, "residual connection inside each block", "C2fBoT takes (c2, shortcut, e): write true/false"),
    Arg("e", RATIO, "hidden channel ratio", "pass e as a ratio such as 0.5"),
    HEADS,
    MAX_SIZE,
    rules=(_heads_divide(lambda a: int(a.c2 * a.e), "int(c2*e)"),),
    summary="YOLOv8's C2f layout (split, chained blocks, concatenate all) with Bottleneck Transformers.",
)
class C2fBoT(C2fLayout):
    """YOLOv8's C2f layout (split, chained blocks, concatenate every output) with BottleneckTransformer blocks.

    Args:
        c1 (int): Input channels.
        c2 (int): Output channels.
        n (int): Number of BottleneckTransformers.
        shortcut (bool): Residual connection inside each block (as C2f's ``shortcut``).
        e (float): Hidden channel ratio (``c = int(c2 * e)``).
        heads (int): Attention heads.
        max_size (int | tuple | None): Maximum map extent with exact relative offsets (None: 64).

    Examples:
        >>> C2fBoT(128, 256, n=2)(torch.randn(1, 128, 8, 6)).shape
        torch.Size([1, 256, 8, 6])
    """

    def __init__(
        self, c1: int, c2: int, n: int = 1, shortcut: bool = True, e: float = 0.5, heads: int = 4, max_size=None
    ):
        size = _max_size(type(self).__name__, max_size)
        super().__init__(c1, c2, n, e, lambda c: BottleneckTransformer(c, c, 1, heads, 1.0, size, shortcut))


@yaml_block(
    "repeat",
    *C3K2_ARGS,
    HEADS,
    MAX_SIZE,
    rules=(_heads_divide(lambda a: c3k2_width(a.c2, a.c3k, a.e, a.attn), "of each block (int(c2*e), halved if c3k)"),),
    summary="YOLO11's C3k2 layout with Bottleneck Transformers: a drop-in for a C3k2 row (`c3k, e, attn` as C3k2).",
)
class C3k2BoT(C3k2Layout):
    """YOLO11's C3k2 layout with BottleneckTransformer blocks (YAML ``[-1, 2, C3k2BoT, [1024, True]]``).

    Args:
        c1 (int): Input channels.
        c2 (int): Output channels.
        n (int): Number of inner blocks.
        c3k (bool): Inner blocks are C3s of two BottleneckTransformers at half width (Ultralytics' C3k).
        e (float): Hidden channel ratio.
        attn (bool): Each BottleneckTransformer is followed by Ultralytics' PSABlock (YOLO26's ``attn``).
        heads (int): Attention heads.
        max_size (int | tuple | None): Maximum map extent with exact relative offsets (None: 64).

    Examples:
        >>> C3k2BoT(128, 256, n=2, c3k=True)(torch.randn(1, 128, 8, 6)).shape
        torch.Size([1, 256, 8, 6])
    """

    def __init__(
        self,
        c1: int,
        c2: int,
        n: int = 1,
        c3k: bool = False,
        e: float = 0.5,
        attn: bool = False,
        heads: int = 4,
        max_size=None,
    ):
        size = _max_size(type(self).__name__, max_size)
        super().__init__(c1, c2, n, c3k, e, attn, lambda c, j: BottleneckTransformer(c, c, 1, heads, 1.0, size))


@yaml_block(
    "repeat",
    Arg("e", RATIO, "hidden channel ratio (C2PSA: 0.5)", "pass e as a ratio such as 0.5"),
    HEADS,
    MAX_SIZE,
    rules=(_heads_divide(lambda a: int(a.c2 * a.e), "int(c2*e)"),),
    summary="YOLO11's C2PSA layout with Bottleneck Transformers: a drop-in for a C2PSA row.",
)
class C2BoT(C2Layout):
    """YOLO11's C2PSA layout with BottleneckTransformer blocks in place of PSABlocks (YAML ``[-1, 2, C2BoT, [1024]]``).

    Args:
        c1 (int): Input channels.
        c2 (int): Output channels.
        n (int): Number of BottleneckTransformers.
        e (float): Hidden channel ratio.
        heads (int): Attention heads.
        max_size (int | tuple | None): Maximum map extent with exact relative offsets (None: 64).

    Examples:
        >>> C2BoT(256, 256, n=2)(torch.randn(1, 256, 5, 7)).shape
        torch.Size([1, 256, 5, 7])
    """

    def __init__(self, c1: int, c2: int, n: int = 1, e: float = 0.5, heads: int = 4, max_size=None):
        size = _max_size(type(self).__name__, max_size)
        super().__init__(c1, c2, n, e, lambda c, j: BottleneckTransformer(c, c, 1, heads, 1.0, size))
