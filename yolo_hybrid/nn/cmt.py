"""CMT: Convolutional Neural Networks Meet Vision Transformers (Guo et al., CVPR 2022, arXiv 2107.06263).

A CMT block is a local perception unit (depthwise 3x3 conv with a residual), lightweight multi-head self-attention
(keys and values from a map reduced by a strided depthwise conv + BN, plus a relative position bias) and an
inverted-residual FFN, each with a residual. The official relative bias is a full (heads, N, N / sr^2) table tied to
one input size. Here the bias is indexed by offset, Swin-style: query pixel (y_q, x_q) and key cell (y_k, x_k) of the
reduced map (covering query pixels y_k*sr ... y_k*sr + sr - 1) get ``table[head, y_k*sr - y_q, x_k*sr - x_q]``, from a
table sized for a maximum map extent ``P``. That works at any size; at a size where the official table applies it is
that table with the values the offsets select (tested), and offsets beyond ``P - 1`` are clipped.

Layers:
    LightweightMHSA: CMT's attention (spatial reduction ``sr``, offset-indexed relative position bias).
    IRFFN: inverted residual FFN, official op order.
    CMTLayer: one CMT block (LPU, LMHSA, IRFFN).
    CMTBlock: YAML-level stack of ``n`` CMT layers, channel-preserving.
    C3k2CMT: CMT layers in YOLO11's C3k2 layout (a drop-in for a C3k2 row).
    C2CMT: CMT layers in YOLO11's C2PSA layout (a drop-in for a C2PSA row: CMT's attention for Ultralytics').
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from yolo_hybrid.errors import check_divisible, hidden_width
from yolo_hybrid.nn.attention_budget import check_attention_budget
from yolo_hybrid.nn.conv_gelu import conv_gelu
from yolo_hybrid.nn.csp import C3K2_ARGS, C2Layout, C3k2Layout, StackLayout, c3k2_width
from yolo_hybrid.nn.drop import drop_path_or_identity, stage_rates
from yolo_hybrid.nn.fold import fold_bn_after, fold_bn_before_pointwise, fold_identity_into_depthwise
from yolo_hybrid.nn.init import init_as_linear_, init_kaiming_fan_out_
from yolo_hybrid.nn.multihead import merge_heads
from yolo_hybrid.nn.norm import LayerNorm2d, SingleValueBatchNorm2d
from yolo_hybrid.nn.pad import ZeroPad2d
from yolo_hybrid.nn.query_blocks import query_row_blocks
from yolo_hybrid.nn.tracing import is_capturing, is_compiling, needs_grad
from yolo_hybrid.spec import (
    HEADS,
    POSITIVE,
    POSITIVE_INT,
    PROBABILITY,
    RATIO,
    Arg,
    divides,
    has_hidden,
    head_count,
    yaml_block,
)

_HEADS_FIX = 'choose heads dividing both widths, or "d64" (one head per 64 channels), or change the width'

_FUSED_ATTENTION = torch.__version__ >= "2.1"  # scaled_dot_product_attention(scale=...)

__all__ = ["LightweightMHSA", "IRFFN", "CMTLayer", "CMTBlock", "C3k2CMT", "C2CMT", "reduced_offsets", "export_anchor"]


def reduced_offsets(length, reduced_length, sr: int, max_size: int, device=None, anchor=None) -> torch.Tensor:
    """Table row (or column) for every (query pixel, key cell) pair on one axis: ``clamp(k*sr - q, +-(P-1)) + P - 1``.

    Args:
        anchor (torch.Tensor | None): A long scalar equal to 0 that is computed from the input; adding it makes the
            offsets (and everything gathered with them) depend on the input, so a graph exporter cannot fold the
            gathered bias into a constant.

    Returns:
        (torch.Tensor): Long tensor (length, reduced_length).
    """
    q = torch.arange(length, device=device)
    k = torch.arange(reduced_length, device=device) * sr
    offsets = k[None, :] - q[:, None]
    if anchor is not None:
        offsets = offsets + anchor
    return offsets.clamp(-(max_size - 1), max_size - 1) + (max_size - 1)


def export_anchor(x: torch.Tensor) -> torch.Tensor:
    """A long scalar 0 computed from ``x`` (``x != x`` at one element; 1 only for NaN, which the clamp then absorbs).

    At a static export size every index is otherwise a constant, and exporters and ONNX simplifiers fold the
    gathered (heads, N, N_k) bias of every layer into the file: a 640 px yolov8n-cmt grew from 17 to 82 MB.
    """
    corner = x[:1, :1, :1, :1].reshape(())
    return torch.ne(corner, corner).long()


class LightweightMHSA(nn.Module):
    """CMT's lightweight MHSA: ``proj(softmax(q k^T * scale + B) v)`` with k, v from a spatially reduced map.

    * q = 1x1 conv to ``C / qk_ratio``; k = 1x1 conv to ``C / qk_ratio``, v = 1x1 conv to C (biases, as CMT's
      ``qkv_bias=True`` models), both on ``BN(dwconv_{sr x sr, stride sr}(x))`` when ``sr > 1``;
      the reduction pads the right/bottom edge by ``sr - 1`` so any H, W >= 1 works (ceil(H / sr) key rows; with H
      divisible by sr this is exactly the official reduction), and its BN also trains on a 1 x 1 reduced map with a
      batch of one (``SingleValueBatchNorm2d``).
    * scale = ``(C / heads) ** -0.5`` (the official code uses C / heads even when qk_ratio != 1).
    * B: offset-indexed relative position bias per head (see module docstring), added after scaling.

    Args:
        dim (int): Channels.
        heads (int | str): Attention heads (CMT stages: 1, 2, 4, 8), or ``"d<N>"``: one per N channels of ``dim``,
            at least one (CMT-S has 64 channels per head in every stage), or ``"d<N><=<K>"``: that, at most K.
        sr (int): Spatial reduction of keys/values (CMT stages: 8, 4, 2, 1).
        qk_ratio (int): Query/key width divisor.
        max_size (int): Maximum map extent with exact relative offsets.

    Examples:
        >>> LightweightMHSA(64, heads=2, sr=2)(torch.randn(1, 64, 9, 6)).shape
        torch.Size([1, 64, 9, 6])
    """

    yaml_layer: str | None = None  # "file.yaml, layer 8 (CMTBlock)", set by the integration; names it in warnings

    def __init__(self, dim: int, heads: int | str = 1, sr: int = 1, qk_ratio: int = 1, max_size: int = 64):
        super().__init__()
        name = type(self).__name__
        HEADS.check(name, "heads", heads, 'use a positive number of heads, e.g. 4, or "d64" (one per 64 channels)')
        heads = head_count(heads, dim)
        for arg, value, fix in (
            ("sr", sr, "use a spatial reduction of 1, 2, 4 or 8"),
            ("qk_ratio", qk_ratio, "use 1 (CMT's default)"),
            ("max_size", max_size, "give the largest expected map extent, e.g. 64"),
        ):
            POSITIVE_INT.check(name, arg, value, fix)
        check_divisible(name, "channels", dim, heads, "heads", f"choose CMT heads dividing {dim}, or change the width")
        check_divisible(
            name,
            f"query/key channels {dim}//qk_ratio",
            dim // qk_ratio,
            heads,
            "heads",
            "choose qk_ratio and heads so that heads divide dim // qk_ratio",
        )
        self.dim, self.heads, self.sr, self.max_size = dim, heads, sr, max_size
        self.qk_dim = dim // qk_ratio
        self.scale = (dim // heads) ** -0.5
        self.q = nn.Conv2d(dim, self.qk_dim, 1)
        self.k = nn.Conv2d(dim, self.qk_dim, 1)
        self.v = nn.Conv2d(dim, dim, 1)
        self.reduce = (
            nn.Sequential(
                ZeroPad2d((0, sr - 1, 0, sr - 1)), nn.Conv2d(dim, dim, sr, sr, groups=dim), SingleValueBatchNorm2d(dim)
            )
            if sr > 1
            else nn.Identity()
        )
        self.rel_bias = nn.Parameter(torch.randn(heads, (2 * max_size - 1) ** 2))  # official init: randn
        self.proj = nn.Conv2d(dim, dim, 1)
        init_as_linear_(self.q, self.k, self.v, self.proj)  # Linears in the official code
        if sr > 1:
            init_kaiming_fan_out_(self.reduce[1])

    def relative_bias(self, height, width, key_height, key_width, anchor=None) -> torch.Tensor:
        """The bias (heads, H*W, Wk*Hk) for this map size, gathered from the offset table; keys x-major (see forward).

        Built from whole rows, never element by element (a per-element gather of the (heads, N, N_k) result was the
        slowest op of the model in ONNX Runtime): ``row_bias`` takes the table's rows for every (head, query row, key
        row), then one gather over the column offsets copies a Hk-vector per (head, query pixel, key column). Both
        gathers index only the leading axis of a flattened table, with the head folded into a flat index that a
        reshape follows at once: X2Paddle (Paddle export) cannot convert a slice before the index (``table[:, idx]``),
        and its gather prepends a unit axis that only a reshape absorbs. The output comes out in the logits' order
        with no transpose. Ranks stay <= 3: onnx2tf (TF SavedModel) lays out every 4-D tensor as an image, and a 4-D
        index tensor came out of it wrong.
        """
        return self.query_bias(self.row_bias(height, key_height, anchor), height, width, key_height, key_width, anchor)

    def row_bias(self, height, key_height, anchor=None) -> torch.Tensor:
        """The table's rows for every (head, query row, key row), as (heads * H * span, Hk): one Hk-vector per (head,
        query row, column offset)."""
        span = 2 * self.max_size - 1
        device = self.rel_bias.device
        rows = reduced_offsets(height, key_height, self.sr, self.max_size, device, anchor)  # (H, Hk)
        head = torch.arange(self.heads, device=device)[:, None]
        row_index = head * span + rows.reshape(1, -1)  # (heads, H*Hk) into the (heads * span) table rows
        by_row = self.rel_bias.reshape(self.heads * span, span)[row_index.reshape(-1)]  # (heads * H * Hk, span)
        return by_row.reshape(self.heads * height, key_height, span).transpose(1, 2).reshape(-1, key_height)

    def query_bias(self, by_row, height, width, key_height, key_width, anchor=None, rows=None) -> torch.Tensor:
        """The column gather from ``row_bias``'s output: the bias (heads, R*W, Wk*Hk) of the query rows
        ``rows = (start, stop)`` (ints, R = stop - start; default all H)."""
        span = 2 * self.max_size - 1
        device = by_row.device
        cols = reduced_offsets(width, key_width, self.sr, self.max_size, device, anchor)  # (W, Wk)
        head = torch.arange(self.heads, device=device)[:, None]
        if rows is None:  # H * W as a product of the traced sizes: a dynamic export keeps its static output channels
            query_rows, queries = torch.arange(height, device=device), height * width
        else:
            query_rows, queries = torch.arange(*rows, device=device), (rows[1] - rows[0]) * width
        head_row = (head * height + query_rows).reshape(-1, 1) * span  # (heads * R, 1)
        col_index = head_row + cols.reshape(1, -1)  # (heads * R, W*Wk) into the (heads * H * span) rows
        return by_row[col_index.reshape(-1)].reshape(self.heads, queries, key_width * key_height)

    def cached_bias(self, height, width, key_height, key_width) -> torch.Tensor:
        """``relative_bias``, kept per size while nothing needs its gradient (eval under no_grad / inference_mode).

        Rebuilt when the table changes (an optimizer or EMA update bumps its version, ``.to()`` moves it), never
        pickled (``__getstate__``); one size at a time, so memory is one (heads, N, N_k) tensor per layer.
        """
        table = self.rel_bias
        if table.is_inference():  # made under inference_mode (an exporter's dry run): no version counter to key on
            return self.relative_bias(height, width, key_height, key_width)
        key = (height, width, key_height, key_width, table.device, table.dtype, table._version, table.data_ptr())
        cached = self.__dict__.get("_bias_cache")
        if cached is None or cached[0] != key:
            cached = (key, self.relative_bias(height, width, key_height, key_width))
            self.__dict__["_bias_cache"] = cached
        return cached[1]

    def bias_for(self, x: torch.Tensor, key_height: int, key_width: int) -> torch.Tensor:
        height, width = x.shape[-2:]
        if is_capturing():
            # ONNX only: PNNX (NCNN) cannot convert the data-dependent index, and folds its constants on its own
            anchor = export_anchor(x) if torch.onnx.is_in_onnx_export() else None
            return self.relative_bias(height, width, key_height, key_width, anchor=anchor)
        if self.training or torch.is_grad_enabled() or is_compiling():
            return self.relative_bias(height, width, key_height, key_width)
        return self.cached_bias(height, width, key_height, key_width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, height, width = x.shape
        reduced = self.reduce(x)
        key_height, key_width = reduced.shape[-2:]
        n, nk = height * width, key_height * key_width
        check_attention_budget(self, x, self.heads, nk)
        d_qk, d_v = self.qk_dim // self.heads, self.dim // self.heads
        # flatten(2) before each split into heads: a view, but Paddle Inference's oneDNN matmul is wrong without it
        q = (self.q(x) * self.scale).flatten(2).reshape(b, self.heads, d_qk, n).transpose(-1, -2)
        # keys x-major (Wk, Hk): the bias then comes out of its gather in the logits' order, with no transpose
        k = self.k(reduced).transpose(-1, -2).flatten(2).reshape(b, self.heads, d_qk, nk)
        v = self.v(reduced).transpose(-1, -2).flatten(2).reshape(b, self.heads, d_v, nk).transpose(-1, -2)
        blocks = query_row_blocks(x, self.heads, nk)
        if blocks is None:
            out = self.attend(q, k, v, self.bias_for(x, key_height, key_width))
        else:  # a static CPU ONNX export: each block of query rows with its bias, gathered next to its use
            anchor = export_anchor(x)
            by_row = self.row_bias(height, key_height, anchor)
            out = torch.cat(
                [
                    self.attend(
                        q[:, :, start * width : stop * width],
                        k,
                        v,
                        self.query_bias(by_row, height, width, key_height, key_width, anchor, (start, stop)),
                    )
                    for start, stop in blocks
                ],
                2,
            )
        return self.proj(merge_heads(out, b, self.dim, height, width))

    @staticmethod
    def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """``softmax(q k + bias) v``: q (B, heads, N, d), k (B, heads, d, N_k), v (B, heads, N_k, d_v),
        bias (heads, N, N_k).

        * Half precision (autocast or a ``.half()`` model) computes it in float32: fp16 logits overflow (> 65504)
          once activations grow, and CMT's residual stream, which no norm closes, does grow under AMP training.
        * Eager CPU inference runs PyTorch's fused attention kernel, which adds the bias tile by tile and never holds
          the (N, N_k) logits (1.3-1.4x faster than cache-sized query blocks of plain ops at 640 px); it needs a unit
          stride in d, hence the copies of q, k and v (small next to the logits).
        * Everything else (training, GPUs, exports) computes the whole map with plain ops. Training must not loop over
          query blocks: each block's slice of the bias back-propagates through a full-size zero tensor (2x slower at
          640 px).
        """
        if is_capturing():
            return torch.matmul((torch.matmul(q, k) + bias).softmax(-1), v)
        if q.dtype in (torch.float16, torch.bfloat16):
            with torch.autocast(q.device.type, enabled=False):
                return LightweightMHSA.attend(q.float(), k.float(), v.float(), bias.float()).to(q.dtype)
        if q.device.type == "cpu" and _FUSED_ATTENTION and not needs_grad(q, k, v, bias):
            return F.scaled_dot_product_attention(
                q.contiguous(), k.transpose(-1, -2).contiguous(), v.contiguous(), attn_mask=bias.unsqueeze(0), scale=1.0
            )
        # in place: matmul's backward needs its inputs, not its output
        return torch.matmul(torch.matmul(q, k).add_(bias).softmax(-1), v)

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state.pop("_bias_cache", None)
        return state

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        reduce = self._modules.get("reduce")
        if isinstance(reduce, nn.Sequential) and isinstance(reduce[0], nn.ConstantPad2d):  # pickled by <= 0.2.0
            reduce[0] = ZeroPad2d(reduce[0].padding)


class IRFFN(nn.Module):
    """CMT's inverted residual FFN, official op order.

    ``h = BN(GELU(conv1x1(x)))``; ``h = BN(GELU(h + dwconv3x3(h)))``; ``out = BN(conv1x1(h))`` (convs with bias;
    note conv -> act -> BN, not conv -> BN -> act).

    Args:
        dim (int): Channels in and out.
        mlp_ratio (float): Hidden width ratio.
    """

    def __init__(self, dim: int, mlp_ratio: float = 4.0):
        super().__init__()
        hidden = hidden_width(type(self).__name__, dim, mlp_ratio)
        self.conv1 = nn.Conv2d(dim, hidden, 1)
        self.act1 = nn.GELU()
        self.bn1 = nn.BatchNorm2d(hidden)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.act2 = nn.GELU()
        self.bn2 = nn.BatchNorm2d(hidden)
        self.conv2 = nn.Conv2d(hidden, dim, 1)
        self.bn3 = nn.BatchNorm2d(dim)
        init_kaiming_fan_out_(self.conv1, self.dwconv, self.conv2)  # Conv2d in the official code too

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.bn1(self.act1(self.conv1(x)))
        h = self.bn2(self.act2(h + self.dwconv(h)))
        return self.bn3(self.conv2(h))

    def forward_fuse(self, x: torch.Tensor) -> torch.Tensor:
        """``forward`` after ``fuse()``: the shortcut is in ``dwconv``, bn2 and bn3 are in ``conv2``; GELUs fused."""
        return self.conv2(conv_gelu(self.dwconv, self.bn1(conv_gelu(self.conv1, x))))

    def fuse(self) -> None:
        """Fold the ``h + dwconv(h)`` shortcut into ``dwconv`` and bn2 (before it) and bn3 (after it) into ``conv2``.

        Exact up to float rounding, for inference (eval statistics), idempotent. bn1 stays: ``dwconv`` pads its
        input with zeros, which bn1's shift would have to reach too.
        """
        if "bn2" not in self._modules:
            return
        fold_identity_into_depthwise(self.dwconv)
        fold_bn_before_pointwise(self.bn2, self.conv2)
        fold_bn_after(self.conv2, self.bn3)
        del self.bn2, self.bn3
        self.forward = self.forward_fuse


class CMTLayer(nn.Module):
    """One CMT block: ``x = x + LPU(x)``; ``x = x + drop(LMHSA(LN(x)))``; ``x = x + drop(IRFFN(LN(x)))``.

    LPU is a depthwise 3x3 conv (bias); LayerNorms over channels with eps 1e-6; stochastic depth on the attention and
    FFN branches (not the LPU), as CMT.

    Args:
        dim (int): Channels.
        heads (int | str): Attention heads, or ``"d<N>"``: one per N channels (see ``LightweightMHSA``).
        sr (int): Key/value spatial reduction.
        mlp_ratio (float): IRFFN hidden ratio.
        qk_ratio (int): Query/key width divisor.
        max_size (int): Maximum map extent with exact relative offsets.
        drop_path (float): Stochastic depth rate of the attention and FFN branches (0: none).
    """

    def __init__(
        self,
        dim: int,
        heads: int | str = 1,
        sr: int = 1,
        mlp_ratio: float = 4.0,
        qk_ratio: int = 1,
        max_size: int = 64,
        drop_path: float = 0.0,
    ):
        super().__init__()
        self.lpu = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
        init_kaiming_fan_out_(self.lpu)
        self.norm1 = LayerNorm2d(dim)
        self.attn = LightweightMHSA(dim, heads, sr, qk_ratio, max_size)
        self.norm2 = LayerNorm2d(dim)
        self.ffn = IRFFN(dim, mlp_ratio)
        self.drop_path = drop_path_or_identity(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.lpu(x)
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.ffn(self.norm2(x)))

    def forward_fuse(self, x: torch.Tensor) -> torch.Tensor:
        """``forward`` after ``fuse()``: the LPU's shortcut is in ``lpu``."""
        x = self.lpu(x)
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.ffn(self.norm2(x)))

    def fuse(self) -> None:
        """Fold the LPU's shortcut ``x + dwconv(x)`` into its conv (exact up to float rounding; idempotent)."""
        if self.forward == self.forward_fuse:
            return
        fold_identity_into_depthwise(self.lpu)
        self.forward = self.forward_fuse

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self._modules.setdefault("drop_path", nn.Identity())  # pickled by yolo_hybrid 0.1.0


_CMT_ARGS = (
    Arg(
        "heads",
        HEADS,
        'attention heads, or "d<N>": one per N channels of the layer (at least one), or "d<N><=<K>": that, at most K',
        'use e.g. 2, 4 or 8 (CMT: 1, 2, 4, 8 by stage), "d64" (CMT-S: 64 channels per head) or "d64<=8" (at most 8)',
    ),
    Arg("sr", POSITIVE_INT, "key/value spatial reduction", "use 8 at stride 4, 4 at 8, 2 at 16, 1 at 32 (CMT)"),
    Arg("mlp_ratio", POSITIVE, "IRFFN hidden ratio", "use e.g. 4 (CMT-S)"),
    Arg("qk_ratio", POSITIVE_INT, "query/key width divisor", "use 1 (CMT's default)"),
    Arg("max_size", POSITIVE_INT, "largest map extent with exact relative offsets", "use imgsz / stride, e.g. 64"),
    Arg(
        "drop_path",
        PROBABILITY,
        "stochastic depth: the last block's rate, rising linearly over the stage (CMT-S: 0.1)",
        "use 0 (off) or a rate such as 0.1",
    ),
)


def _cmt_rules(width, formula: str) -> tuple:
    """heads divides the layer width ``width(a)`` and its query/key width; the IRFFN keeps a hidden channel."""
    return (
        divides("heads", width, formula, _HEADS_FIX),
        divides(
            "heads",
            lambda a: width(a) // a.qk_ratio,
            f"the query/key width {formula} // qk_ratio",
            _HEADS_FIX,
            per=width,
        ),
        has_hidden(width, formula, "use mlp_ratio >= 1"),
    )


@yaml_block(
    "repeat",
    *_CMT_ARGS,
    rules=_cmt_rules(lambda a: a.c2, "c2"),
    summary="`n` CMT blocks (LPU, lightweight MHSA, IRFFN), channel-preserving.",
)
class CMTBlock(StackLayout):
    """``n`` CMT layers at ``c2`` channels (YAML ``[-1, 3, CMTBlock, [512, 4, 2]]``); a 1x1 Conv first if c1 != c2.

    Args:
        c1 (int): Input channels.
        c2 (int): Channels of the layers (and output).
        n (int): Number of CMT layers.
        heads (int | str): Attention heads, or ``"d<N>"``: one per N channels (see ``LightweightMHSA``).
        sr (int): Key/value spatial reduction (CMT: 8 at stride 4, 4 at 8, 2 at 16, 1 at 32).
        mlp_ratio (float): IRFFN hidden ratio (CMT-S: 4).
        qk_ratio (int): Query/key width divisor.
        max_size (int): Maximum map extent with exact relative offsets (imgsz / stride of the placement).
        drop_path (float): Stochastic depth of the last layer; layer j gets ``drop_path * (j + 1) / n``.

    Examples:
        >>> CMTBlock(64, 64, n=2, heads=2, sr=2)(torch.randn(1, 64, 7, 10)).shape
        torch.Size([1, 64, 7, 10])
    """

    def __init__(
        self,
        c1: int,
        c2: int,
        n: int = 1,
        heads: int | str = 1,
        sr: int = 1,
        mlp_ratio: float = 4.0,
        qk_ratio: int = 1,
        max_size: int = 64,
        drop_path: float = 0.0,
    ):
        rates = stage_rates(drop_path, n)
        super().__init__(c1, c2, n, lambda j: CMTLayer(c2, heads, sr, mlp_ratio, qk_ratio, max_size, rates[j]))


@yaml_block(
    "repeat",
    *C3K2_ARGS,
    *_CMT_ARGS,
    rules=_cmt_rules(
        lambda a: c3k2_width(a.c2, a.c3k, a.e, a.attn), "the width of each block (int(c2*e), halved if c3k)"
    ),
    summary="YOLO11's C3k2 layout with CMT blocks: a drop-in for a C3k2 row (`c3k, e, attn` as C3k2).",
)
class C3k2CMT(C3k2Layout):
    """YOLO11's C3k2 layout with CMT layers (YAML ``[-1, 2, C3k2CMT, [512, True, 0.5, False, 4, 2]]``).

    Args:
        c1 (int): Input channels.
        c2 (int): Output channels.
        n (int): Number of inner blocks.
        c3k (bool): Inner blocks are C3s of two CMT layers at half width (Ultralytics' C3k).
        e (float): Hidden channel ratio.
        attn (bool): Each CMT layer is followed by Ultralytics' PSABlock (YOLO26's ``attn``).
        heads (int | str): Attention heads, or ``"d<N>"``: one per N channels (see ``LightweightMHSA``).
        sr (int): Key/value spatial reduction.
        mlp_ratio (float): IRFFN hidden ratio.
        qk_ratio (int): Query/key width divisor.
        max_size (int): Maximum map extent with exact relative offsets.
        drop_path (float): Stochastic depth of the last inner block; inner block j gets ``drop_path * (j + 1) / n``.

    Examples:
        >>> C3k2CMT(64, 128, n=2, heads=2, sr=2)(torch.randn(1, 64, 8, 6)).shape
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
        heads: int | str = 1,
        sr: int = 1,
        mlp_ratio: float = 4.0,
        qk_ratio: int = 1,
        max_size: int = 64,
        drop_path: float = 0.0,
    ):
        rates = stage_rates(drop_path, n)
        super().__init__(
            c1, c2, n, c3k, e, attn, lambda c, j: CMTLayer(c, heads, sr, mlp_ratio, qk_ratio, max_size, rates[j])
        )


@yaml_block(
    "repeat",
    Arg("e", RATIO, "hidden channel ratio (C2PSA: 0.5)", "pass e as a ratio such as 0.5"),
    *_CMT_ARGS,
    rules=_cmt_rules(lambda a: int(a.c2 * a.e), "int(c2*e)"),
    summary="YOLO11's C2PSA layout with CMT blocks: a drop-in for a C2PSA row.",
)
class C2CMT(C2Layout):
    """YOLO11's C2PSA layout with CMT layers in place of PSABlocks (YAML ``[-1, 2, C2CMT, [1024]]``).

    Args:
        c1 (int): Input channels.
        c2 (int): Output channels.
        n (int): Number of CMT layers.
        e (float): Hidden channel ratio.
        heads (int | str): Attention heads, or ``"d<N>"``: one per N channels (see ``LightweightMHSA``); by
            default one per 64 channels, as Ultralytics' C2PSA (CMT's last stage: 8 heads of 64 channels).
        sr (int): Key/value spatial reduction (1 at stride 32, as CMT).
        mlp_ratio (float): IRFFN hidden ratio.
        qk_ratio (int): Query/key width divisor.
        max_size (int): Maximum map extent with exact relative offsets.
        drop_path (float): Stochastic depth of the last layer; layer j gets ``drop_path * (j + 1) / n``.

    Examples:
        >>> C2CMT(256, 256, n=2)(torch.randn(1, 256, 5, 7)).shape
        torch.Size([1, 256, 5, 7])
    """

    def __init__(
        self,
        c1: int,
        c2: int,
        n: int = 1,
        e: float = 0.5,
        heads: int | str = "d64",
        sr: int = 1,
        mlp_ratio: float = 4.0,
        qk_ratio: int = 1,
        max_size: int = 64,
        drop_path: float = 0.0,
    ):
        rates = stage_rates(drop_path, n)
        super().__init__(c1, c2, n, e, lambda c, j: CMTLayer(c, heads, sr, mlp_ratio, qk_ratio, max_size, rates[j]))
