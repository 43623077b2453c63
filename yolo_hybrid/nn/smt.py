"""SMT: Scale-Aware Modulation meets Transformer (Lin et al., ICCV 2023, arXiv 2307.08579), on NCHW maps.

SMT's scale-aware modulation (SAM) builds a modulator from multi-head depthwise convolutions of growing kernel size
(MHMC), mixes the scales with a grouped 1x1 "scale-aware aggregation" (SAA), and multiplies the values by it. Its
"evolutionary hybrid network" uses SAM in the shallow stages, alternates SAM and multi-head self-attention (MSA) in
the penultimate stage and uses MSA in the last. The official code works on (B, N, C) tokens; here every per-token
Linear is the equivalent 1x1 convolution, so blocks take and return (B, C, H, W) maps of any size.

Unlike the official ``models/smt.py``, nothing is stored on a module during forward (the official SAM keeps
``self.modulator``, which breaks Ultralytics' EMA deep copy after the build-time forward).

Layers:
    ScaleAwareModulation: the SAM mixer (MHMC + channel shuffle + SAA, modulator * value, projection).
    SMTAttention: SMT's MSA mixer (multi-head attention + depthwise 3x3 conv of the values).
    DetailFFN: SMT's detail-specific FFN (1x1, GELU(x + DWConv3x3(x)), 1x1).
    SMTBlock: pre-norm block, mixer + FFN, each with a residual (and optional layer scale).
    SAMBlock, MSABlock, SMTStage: YAML-level stacks of SMT blocks (SAM only, MSA only, alternating).
    C2fSAM: YOLOv8's C2f layout with SAM blocks, channel-changing, for the neck.
    C3k2SAM: SAM blocks in YOLO11's C3k2 layout (a drop-in for a C3k2 row).
    C2MSA: MSA blocks in YOLO11's C2PSA layout (a drop-in for a C2PSA row: SMT's attention for Ultralytics').
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from yolo_hybrid.errors import check_divisible, hidden_width
from yolo_hybrid.nn.attention_budget import check_attention_budget
from yolo_hybrid.nn.conv_gelu import conv_gelu
from yolo_hybrid.nn.csp import C3K2_ARGS, C2fLayout, C2Layout, C3k2Layout, StackLayout, c3k2_width
from yolo_hybrid.nn.drop import drop_path_or_identity, stage_rates
from yolo_hybrid.nn.fold import fold_bn_after, fold_identity_into_depthwise
from yolo_hybrid.nn.init import init_as_linear_, init_fan_out_
from yolo_hybrid.nn.multihead import merge_heads, split_heads, split_projection
from yolo_hybrid.nn.norm import LayerNorm2d
from yolo_hybrid.nn.query_blocks import query_row_blocks
from yolo_hybrid.nn.tracing import is_capturing
from yolo_hybrid.spec import (
    FLAG,
    HEADS,
    POSITIVE,
    POSITIVE_INT,
    PROBABILITY,
    RATIO,
    Arg,
    Maybe,
    Rule,
    divides,
    has_hidden,
    head_count,
    yaml_block,
)

__all__ = [
    "ScaleAwareModulation",
    "SMTAttention",
    "DetailFFN",
    "SMTBlock",
    "SAMBlock",
    "MSABlock",
    "SMTStage",
    "C2fSAM",
    "C3k2SAM",
    "C2MSA",
]


class ScaleAwareModulation(nn.Module):
    """SAM mixer: ``proj(SAA(shuffle(MHMC(s(x)))) * v(x))``.

    * ``v``, ``s``: 1x1 projections (the official two Linears, with bias).
    * MHMC: ``s`` split into ``heads`` contiguous channel blocks; head i is a depthwise conv with kernel ``3 + 2i``
      (3, 5, 7, 9 for 4 heads), padding ``1 + i``, bias.
    * Shuffle: output channel ``j * heads + i`` is channel j of head i, so every run of ``heads`` channels holds one
      channel of each scale.
    * SAA: grouped 1x1 conv with ``C / heads`` groups (each sees one run: one channel per scale) to
      ``expand_ratio * C``, BN, GELU, dense 1x1 conv back to C: the modulator.
    * Output: ``proj(modulator * v)``, ``proj`` a 1x1 conv with bias.

    Args:
        dim (int): Channels.
        heads (int): MHMC heads (the paper's ``ca_num_heads``, 4).
        expand_ratio (int): SAA expansion (2).

    Shapes:
        x: (B, dim, H, W) -> (B, dim, H, W).

    Examples:
        >>> ScaleAwareModulation(64)(torch.randn(2, 64, 9, 7)).shape
        torch.Size([2, 64, 9, 7])
    """

    def __init__(self, dim: int, heads: int = 4, expand_ratio: int = 2):
        super().__init__()
        name = type(self).__name__
        POSITIVE_INT.check(name, "heads", heads, "use a positive number of heads, e.g. 4")
        check_divisible(name, "channels", dim, heads, "heads", f"choose SAM heads dividing {dim}, or change the width")
        POSITIVE_INT.check(name, "expand_ratio", expand_ratio, "use an integer expansion, e.g. 2")
        self.dim, self.heads = dim, heads
        self.split = dim // heads
        self.v = nn.Conv2d(dim, dim, 1)
        self.s = nn.Conv2d(dim, dim, 1)
        self.local_convs = nn.ModuleList(
            nn.Conv2d(self.split, self.split, 3 + 2 * i, padding=1 + i, groups=self.split) for i in range(heads)
        )
        self.proj0 = nn.Conv2d(dim, dim * expand_ratio, 1, groups=self.split)
        self.bn = nn.BatchNorm2d(dim * expand_ratio)
        self.act = nn.GELU()
        self.proj1 = nn.Conv2d(dim * expand_ratio, dim, 1)
        self.proj = nn.Conv2d(dim, dim, 1)
        init_as_linear_(self.v, self.s, self.proj)  # Linears in the official code
        init_fan_out_(*self.local_convs, self.proj0, self.proj1)

    def multi_scale(self, s: torch.Tensor) -> torch.Tensor:
        """MHMC and shuffle: (B, C, H, W) -> (B, C, H, W) with channel ``j * heads + i`` = head i's channel j."""
        b, _, height, width = s.shape
        scales = [conv(part) for conv, part in zip(self.local_convs, s.split(self.split, dim=1), strict=False)]
        return torch.stack(scales, dim=2).reshape(b, self.dim, height, width)

    def modulator(self, x: torch.Tensor) -> torch.Tensor:
        """SAA over the shuffled multi-scale map."""
        s = self.s(x)
        mixed = self.mix_scales(s) if torch.onnx.is_in_onnx_export() else self.proj0(self.multi_scale(s))
        return self.proj1(self.act(self.bn(mixed)))

    def mix_scales(self, s: torch.Tensor) -> torch.Tensor:
        """``proj0(multi_scale(s))`` without the shuffle: a sum over heads of grouped 1x1 convs (ONNX export).

        ``proj0``'s group g reads channel g of every head, head i at input position i, so it is the sum over heads
        of head i's map convolved with column i of its weight (``split`` groups of one channel). No reshape then
        reaches the converter: onnx2tf (TF SavedModel) lays the shuffled map out wrongly when its side equals the
        channels per head (yolov8n-smt at 128 px, yolo11n-smt at 64; yolov8x-smt at 640 by the same arithmetic), and
        the grouped conv after it fails.
        """
        parts = s.split(self.split, dim=1)
        weight = self.proj0.weight  # (expand_ratio * dim, heads, 1, 1)
        out = None
        for i, (conv, part) in enumerate(zip(self.local_convs, parts, strict=False)):
            term = F.conv2d(conv(part), weight[:, i : i + 1], groups=self.split)
            out = term if out is None else out + term
        return out + self.proj0.bias.view(1, -1, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.modulator(x) * self.v(x))

    def fuse(self) -> None:
        """Fold the SAA's BN into ``proj0`` (exact up to float rounding, eval statistics; idempotent)."""
        if isinstance(self.bn, nn.modules.batchnorm._BatchNorm):  # SyncBatchNorm too (convert_sync_batchnorm)
            fold_bn_after(self.proj0, self.bn)
            self.bn = nn.Identity()


class SMTAttention(nn.Module):
    """SMT's MSA mixer: multi-head self-attention over all positions plus a depthwise 3x3 conv of the values.

    ``out = proj(softmax(q k^T / sqrt(d)) v + dwconv3x3(v))`` with q = 1x1 conv, [k | v] = one 1x1 conv to 2C (bias),
    heads of d = C / heads contiguous channels. No position table: any H, W (cost quadratic in H*W).

    Args:
        dim (int): Channels.
        heads (int | str): Attention heads (the paper's ``sa_num_heads``: 8 in stage 3, 16 in stage 4), or
            ``"d<N>"``: one per N channels of ``dim``, at least one (SMT: 32 channels per head in both stages), or
            ``"d<N><=<K>"``: that, at most K.

    Examples:
        >>> SMTAttention(64, heads=8)(torch.randn(1, 64, 5, 6)).shape
        torch.Size([1, 64, 5, 6])
    """

    yaml_layer: str | None = None  # "file.yaml, layer 8 (MSABlock)", set by the integration; names it in warnings

    def __init__(self, dim: int, heads: int | str = 8):
        super().__init__()
        name = type(self).__name__
        HEADS.check(name, "heads", heads, 'use a positive number of heads, e.g. 8, or "d32" (one per 32 channels)')
        heads = head_count(heads, dim)
        check_divisible(name, "channels", dim, heads, "heads", f"choose MSA heads dividing {dim}, or change the width")
        self.dim, self.heads = dim, heads
        self.dim_head = dim // heads
        self.scale = self.dim_head**-0.5
        self.q = nn.Conv2d(dim, dim, 1)
        self.kv = nn.Conv2d(dim, 2 * dim, 1)
        self.local_conv = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
        self.proj = nn.Conv2d(dim, dim, 1)
        init_as_linear_(self.q, self.kv, self.proj)  # Linears in the official code
        init_fan_out_(self.local_conv)
        self.use_sdpa = hasattr(F, "scaled_dot_product_attention")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, height, width = x.shape
        n = height * width
        k_map, v_map = split_projection(self.kv, x, 2)  # one kv projection, as the official single Linear
        q, k, v = (split_heads(t, b, n, self.heads, self.dim_head) for t in (self.q(x), k_map, v_map))
        fused = self.use_sdpa and not is_capturing()
        check_attention_budget(self, x, self.heads, n, materialized=not fused)  # fused SDPA streams the logits
        if fused:  # contiguous: PyTorch's fused kernels need a unit stride in d, else SDPA materialises the logits
            out = F.scaled_dot_product_attention(q.contiguous(), k.contiguous(), v.contiguous())
        else:  # plain ops under any export: every converter and ONNX opset maps MatMul/Softmax
            q, k = q * self.scale, k.transpose(-1, -2)
            blocks = query_row_blocks(x, self.heads, n)
            if blocks is None:
                out = torch.matmul(torch.matmul(q, k).softmax(-1), v)
            else:  # a static CPU ONNX export (query_blocks)
                out = torch.cat(
                    [
                        torch.matmul(torch.matmul(q[:, start * width : stop * width], k).softmax(-1), v)
                        for start, stop in blocks
                    ],
                    1,
                )
        return self.proj(merge_heads(out, b, self.dim, height, width) + self.local_conv(v_map))


class DetailFFN(nn.Module):
    """SMT's detail-specific FFN: ``fc2(GELU(h + dwconv3x3(h)))`` with ``h = fc1(x)`` (1x1 convs, bias).

    Args:
        dim (int): Channels in and out.
        mlp_ratio (float): Hidden width ratio.
    """

    def __init__(self, dim: int, mlp_ratio: float = 4.0):
        super().__init__()
        hidden = hidden_width(type(self).__name__, dim, mlp_ratio)
        self.fc1 = nn.Conv2d(dim, hidden, 1)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Conv2d(hidden, dim, 1)
        init_as_linear_(self.fc1, self.fc2)  # Linears in the official code
        init_fan_out_(self.dwconv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc1(x)
        return self.fc2(self.act(h + self.dwconv(h)))

    def forward_fuse(self, x: torch.Tensor) -> torch.Tensor:
        """``forward`` after ``fuse()``: the shortcut is in ``dwconv``; the GELU fused into it."""
        return self.fc2(conv_gelu(self.dwconv, self.fc1(x)))

    def fuse(self) -> None:
        """Fold the ``h + dwconv(h)`` shortcut into ``dwconv`` (exact up to float rounding; idempotent)."""
        if self.forward == self.forward_fuse:
            return
        fold_identity_into_depthwise(self.dwconv)
        self.forward = self.forward_fuse


class SMTBlock(nn.Module):
    """Pre-norm SMT block: ``x + drop(g1 * mixer(LN(x)))``, then ``x + drop(g2 * FFN(LN(x)))``.

    Args:
        dim (int): Channels.
        mixer (nn.Module): ``ScaleAwareModulation`` or ``SMTAttention`` of ``dim`` channels.
        mlp_ratio (float): FFN hidden ratio.
        layer_scale (float | None): Initial per-channel layer scale (SMT-L uses 1e-4); None: plain residuals.
        drop_path (float): Stochastic depth rate of both residual branches (0: none).
    """

    def __init__(
        self,
        dim: int,
        mixer: nn.Module,
        mlp_ratio: float = 4.0,
        layer_scale: float | None = None,
        drop_path: float = 0.0,
    ):
        super().__init__()
        self.drop_path = drop_path_or_identity(drop_path)
        self.norm1 = LayerNorm2d(dim)
        self.mixer = mixer
        self.norm2 = LayerNorm2d(dim)
        self.ffn = DetailFFN(dim, mlp_ratio)
        if layer_scale is None:
            self.gamma1 = self.gamma2 = None
        else:
            self.gamma1 = nn.Parameter(torch.full((dim, 1, 1), float(layer_scale)))
            self.gamma2 = nn.Parameter(torch.full((dim, 1, 1), float(layer_scale)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.mixer(self.norm1(x))
        x = x + self.drop_path(y if self.gamma1 is None else self.gamma1 * y)
        y = self.ffn(self.norm2(x))
        return x + self.drop_path(y if self.gamma2 is None else self.gamma2 * y)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self._modules.setdefault("drop_path", nn.Identity())  # pickled by yolo_hybrid 0.1.0


def sam_block(
    dim: int, heads: int = 4, mlp_ratio: float = 4.0, expand_ratio: int = 2, layer_scale=None, drop_path: float = 0.0
) -> SMTBlock:
    """An SMT block with the SAM mixer."""
    return SMTBlock(dim, ScaleAwareModulation(dim, heads, expand_ratio), mlp_ratio, layer_scale, drop_path)


def msa_block(
    dim: int, heads: int | str = 8, mlp_ratio: float = 4.0, layer_scale=None, drop_path: float = 0.0
) -> SMTBlock:
    """An SMT block with the MSA mixer."""
    return SMTBlock(dim, SMTAttention(dim, heads), mlp_ratio, layer_scale, drop_path)


def _stage_norm(dim: int, norm: bool) -> nn.Module | None:
    """SMT closes every stage with a LayerNorm (eps 1e-6)."""
    return LayerNorm2d(dim) if norm else None


def _has_hidden(width, formula: str) -> Rule:
    return has_hidden(width, formula, "use mlp_ratio >= 1 (SMT: 4, and 2 in its last stage)")


_HEADS_FIX = 'choose heads dividing that width (e.g. 4 or 8; for attention heads also "d32"), or change the width'
MLP_RATIO = Arg("mlp_ratio", POSITIVE, "FFN hidden ratio", "use e.g. 4 (SMT: 4 in stages 1-3, 2 in stage 4)")
EXPAND_RATIO = Arg("expand_ratio", POSITIVE_INT, "SAA expansion", "use an integer expansion, e.g. 2")
LAYER_SCALE = Arg(
    "layer_scale",
    Maybe(POSITIVE),
    "initial layer scale, or null for plain residuals",
    "use null or a small positive number such as 1e-4",
)
NORM = Arg("norm", FLAG, "close the stage with a LayerNorm, as SMT does", "write true (SMT) or false")
MSA_HEADS = Arg(
    "heads",
    HEADS,
    'attention heads, or "d<N>": one per N channels of the layer (at least one), or "d<N><=<K>": that, at most K',
    'use e.g. 8, "d32" (SMT: 32 channels per attention head) or "d32<=8" (at most 8)',
)
DROP_PATH = Arg(
    "drop_path",
    PROBABILITY,
    "stochastic depth: the last block's rate, rising linearly over the stage (SMT-T: 0.1)",
    "use 0 (off) or a rate such as 0.1",
)


@yaml_block(
    "repeat",
    Arg("heads", POSITIVE_INT, "SAM heads (kernels 3, 5, ..., 1 + 2 * heads)", "use e.g. 4"),
    MLP_RATIO,
    EXPAND_RATIO,
    LAYER_SCALE,
    NORM,
    DROP_PATH,
    rules=(divides("heads", lambda a: a.c2, "c2", _HEADS_FIX), _has_hidden(lambda a: a.c2, "c2")),
    summary="`n` SMT blocks with the scale-aware modulation mixer, channel-preserving, closing LayerNorm.",
)
class SAMBlock(StackLayout):
    """``n`` SMT blocks with the SAM mixer (SMT's shallow stages). YAML: ``[-1, 3, SAMBlock, [256]]``.

    Channel-preserving like the paper's stages: write the previous layer's c2; a different c2 adds a 1x1 Conv first.

    Args:
        c1 (int): Input channels.
        c2 (int): Channels of the blocks (and output).
        n (int): Number of blocks.
        heads (int): SAM heads (kernels 3, 5, ..., 1 + 2 * heads).
        mlp_ratio (float): FFN hidden ratio (SMT-T/S: 4 in stages 1-3, 2 in stage 4).
        expand_ratio (int): SAA expansion.
        layer_scale (float | None): Initial layer scale, or None.
        norm (bool): Close the stage with a LayerNorm (as every SMT stage).
        drop_path (float): Stochastic depth of the last block; block j gets ``drop_path * (j + 1) / n``.

    Examples:
        >>> SAMBlock(64, 64, n=2)(torch.randn(1, 64, 10, 7)).shape
        torch.Size([1, 64, 10, 7])
    """

    def __init__(
        self,
        c1: int,
        c2: int,
        n: int = 1,
        heads: int = 4,
        mlp_ratio: float = 4.0,
        expand_ratio: int = 2,
        layer_scale=None,
        norm: bool = True,
        drop_path: float = 0.0,
    ):
        rates = stage_rates(drop_path, n)
        super().__init__(
            c1,
            c2,
            n,
            lambda j: sam_block(c2, heads, mlp_ratio, expand_ratio, layer_scale, rates[j]),
            _stage_norm(c2, norm),
        )


@yaml_block(
    "repeat",
    MSA_HEADS,
    MLP_RATIO,
    LAYER_SCALE,
    NORM,
    DROP_PATH,
    rules=(divides("heads", lambda a: a.c2, "c2", _HEADS_FIX), _has_hidden(lambda a: a.c2, "c2")),
    summary="`n` SMT blocks with SMT's self-attention mixer, channel-preserving, closing LayerNorm.",
)
class MSABlock(StackLayout):
    """``n`` SMT blocks with the MSA mixer (SMT's last stage). YAML: ``[-1, 1, MSABlock, [1024, 16, 2]]``.

    Args:
        c1 (int): Input channels.
        c2 (int): Channels of the blocks (and output).
        n (int): Number of blocks.
        heads (int | str): Attention heads, or ``"d<N>"``: one per N channels (see ``SMTAttention``).
        mlp_ratio (float): FFN hidden ratio.
        layer_scale (float | None): Initial layer scale, or None.
        norm (bool): Close the stage with a LayerNorm (as every SMT stage).
        drop_path (float): Stochastic depth of the last block; block j gets ``drop_path * (j + 1) / n``.

    Examples:
        >>> MSABlock(64, 64, n=1, heads=8)(torch.randn(1, 64, 4, 5)).shape
        torch.Size([1, 64, 4, 5])
    """

    def __init__(
        self,
        c1: int,
        c2: int,
        n: int = 1,
        heads: int | str = 8,
        mlp_ratio: float = 4.0,
        layer_scale=None,
        norm: bool = True,
        drop_path: float = 0.0,
    ):
        rates = stage_rates(drop_path, n)
        super().__init__(
            c1, c2, n, lambda j: msa_block(c2, heads, mlp_ratio, layer_scale, rates[j]), _stage_norm(c2, norm)
        )


@yaml_block(
    "repeat",
    Arg("sam_heads", POSITIVE_INT, "SAM heads", "use e.g. 4"),
    Arg("msa_heads", HEADS, MSA_HEADS.doc, MSA_HEADS.fix),
    MLP_RATIO,
    EXPAND_RATIO,
    LAYER_SCALE,
    NORM,
    DROP_PATH,
    rules=(
        divides("sam_heads", lambda a: a.c2, "c2", _HEADS_FIX),
        divides("msa_heads", lambda a: a.c2, "c2", _HEADS_FIX),  # checked even when depth scaling leaves no MSA
        _has_hidden(lambda a: a.c2, "c2"),
    ),
    summary="SMT's penultimate stage: `n` blocks alternating SAM, MSA, SAM, ...",
)
class SMTStage(StackLayout):
    """SMT's penultimate stage: ``n`` blocks alternating SAM (even j) and MSA (odd j), the evolutionary hybrid layout.

    Args:
        c1 (int): Input channels.
        c2 (int): Channels of the blocks (and output).
        n (int): Number of blocks (SAM, MSA, SAM, ...).
        sam_heads (int): SAM heads.
        msa_heads (int | str): Attention heads, or ``"d<N>"`` (see ``SMTAttention``).
        mlp_ratio (float): FFN hidden ratio.
        expand_ratio (int): SAA expansion.
        layer_scale (float | None): Initial layer scale, or None.
        norm (bool): Close the stage with a LayerNorm (as every SMT stage).
        drop_path (float): Stochastic depth of the last block; block j gets ``drop_path * (j + 1) / n``.

    Examples:
        >>> [type(b.mixer).__name__ for b in SMTStage(64, 64, n=3).m]
        ['ScaleAwareModulation', 'SMTAttention', 'ScaleAwareModulation']
    """

    def __init__(
        self,
        c1: int,
        c2: int,
        n: int = 2,
        sam_heads: int = 4,
        msa_heads: int | str = 8,
        mlp_ratio: float = 4.0,
        expand_ratio: int = 2,
        layer_scale=None,
        norm: bool = True,
        drop_path: float = 0.0,
    ):
        rates = stage_rates(drop_path, n)
        super().__init__(
            c1,
            c2,
            n,
            lambda j: (
                sam_block(c2, sam_heads, mlp_ratio, expand_ratio, layer_scale, rates[j])
                if j % 2 == 0
                else msa_block(c2, msa_heads, mlp_ratio, layer_scale, rates[j])
            ),
            _stage_norm(c2, norm),
        )


@yaml_block(
    "repeat",
    Arg("e", RATIO, "hidden channel ratio", "C2fSAM takes (c2, e, heads, mlp_ratio): pass e as e.g. 0.5"),
    Arg("heads", POSITIVE_INT, "SAM heads", "use e.g. 4"),
    MLP_RATIO,
    DROP_PATH,
    rules=(
        divides("heads", lambda a: int(a.c2 * a.e), "int(c2*e)", _HEADS_FIX),
        _has_hidden(lambda a: int(a.c2 * a.e), "int(c2*e)"),
    ),
    summary="YOLOv8's C2f layout with SAM blocks, channel-changing, for necks.",
)
class C2fSAM(C2fLayout):
    """YOLOv8's C2f layout (split, chained blocks, concatenate every output) with SAM blocks; changes channels.

    SAM is convolutional (linear in H*W), so it suits the high-resolution neck where global attention would not.

    Args:
        c1 (int): Input channels.
        c2 (int): Output channels.
        n (int): Number of SAM blocks.
        e (float): Hidden channel ratio (``c = int(c2 * e)``).
        heads (int): SAM heads.
        mlp_ratio (float): FFN hidden ratio.
        drop_path (float): Stochastic depth of the last block; block j gets ``drop_path * (j + 1) / n``.

    Examples:
        >>> C2fSAM(128, 64, n=2)(torch.randn(1, 128, 8, 6)).shape
        torch.Size([1, 64, 8, 6])
    """

    def __init__(
        self,
        c1: int,
        c2: int,
        n: int = 1,
        e: float = 0.5,
        heads: int = 4,
        mlp_ratio: float = 2.0,
        drop_path: float = 0.0,
    ):
        rates = iter(stage_rates(drop_path, n))
        super().__init__(c1, c2, n, e, lambda c: sam_block(c, heads, mlp_ratio, drop_path=next(rates)))


@yaml_block(
    "repeat",
    *C3K2_ARGS,
    Arg("heads", POSITIVE_INT, "SAM heads", "use e.g. 4"),
    MLP_RATIO,
    DROP_PATH,
    rules=(
        divides(
            "heads",
            lambda a: c3k2_width(a.c2, a.c3k, a.e, a.attn),
            "the width of each block (int(c2*e), halved if c3k)",
            _HEADS_FIX,
        ),
        _has_hidden(lambda a: c3k2_width(a.c2, a.c3k, a.e, a.attn), "block width"),
    ),
    summary="YOLO11's C3k2 layout with SAM blocks: a drop-in for a C3k2 row (`c3k, e, attn` as C3k2).",
)
class C3k2SAM(C3k2Layout):
    """YOLO11's C3k2 layout with SMT blocks of the SAM mixer (YAML ``[-1, 2, C3k2SAM, [512, False, 0.25]]``).

    Args:
        c1 (int): Input channels.
        c2 (int): Output channels.
        n (int): Number of inner blocks.
        c3k (bool): Inner blocks are C3s of two SAM blocks at half width (Ultralytics' C3k).
        e (float): Hidden channel ratio.
        attn (bool): Each SAM block is followed by Ultralytics' PSABlock (YOLO26's ``attn``).
        heads (int): SAM heads.
        mlp_ratio (float): FFN hidden ratio.
        drop_path (float): Stochastic depth of the last inner block; inner block j gets ``drop_path * (j + 1) / n``.

    Examples:
        >>> C3k2SAM(64, 128, n=2, c3k=True)(torch.randn(1, 64, 8, 6)).shape
        torch.Size([1, 128, 8, 6])
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
        mlp_ratio: float = 2.0,
        drop_path: float = 0.0,
    ):
        rates = stage_rates(drop_path, n)
        super().__init__(c1, c2, n, c3k, e, attn, lambda c, j: sam_block(c, heads, mlp_ratio, drop_path=rates[j]))


@yaml_block(
    "repeat",
    Arg("e", RATIO, "hidden channel ratio (C2PSA: 0.5)", "pass e as a ratio such as 0.5"),
    MSA_HEADS,
    MLP_RATIO,
    DROP_PATH,
    rules=(
        divides("heads", lambda a: int(a.c2 * a.e), "int(c2*e)", _HEADS_FIX),
        _has_hidden(lambda a: int(a.c2 * a.e), "int(c2*e)"),
    ),
    summary="YOLO11's C2PSA layout with SMT's MSA blocks: a drop-in for a C2PSA row.",
)
class C2MSA(C2Layout):
    """YOLO11's C2PSA layout with SMT blocks of the MSA mixer in place of PSABlocks (YAML ``[-1, 2, C2MSA, [1024]]``).

    Args:
        c1 (int): Input channels.
        c2 (int): Output channels.
        n (int): Number of MSA blocks.
        e (float): Hidden channel ratio.
        heads (int | str): Attention heads, or ``"d<N>"``: one per N channels (see ``SMTAttention``).
        mlp_ratio (float): FFN hidden ratio (SMT's last stage and PSA: 2).
        drop_path (float): Stochastic depth of the last block; block j gets ``drop_path * (j + 1) / n``.

    Examples:
        >>> C2MSA(256, 256, n=2)(torch.randn(1, 256, 5, 7)).shape
        torch.Size([1, 256, 5, 7])
    """

    def __init__(
        self,
        c1: int,
        c2: int,
        n: int = 1,
        e: float = 0.5,
        heads: int | str = 8,
        mlp_ratio: float = 2.0,
        drop_path: float = 0.0,
    ):
        rates = stage_rates(drop_path, n)
        super().__init__(c1, c2, n, e, lambda c, j: msa_block(c, heads, mlp_ratio, drop_path=rates[j]))
