"""CoTNet: Contextual Transformer networks (Li et al., TPAMI 2022, arXiv 2107.12292), in plain PyTorch.

The CoT layer mines a *static* context with a k x k convolution over the keys, turns [query, static key] into a
*dynamic* k x k filter per pixel (shared across interleaved channel groups), aggregates the values locally with it,
and fuses the static and dynamic keys with a radix-2 selective-kernel attention. The official code runs the local
aggregation in a CUDA-only CuPy kernel (fp32/fp64 only, no CPU, no export); here it is k^2 shifted slices of one
padded tensor: any device, autocast, dynamic-shape ONNX, and no k^2-fold ``unfold`` copy.

Note: most "CoT3" code in YOLO repositories is a different block (kernel logits averaged, softmax over all pixels,
no local aggregation); this module implements the paper's.

Layers:
    local_aggregate / LocalAggregation: out[c, p] = sum over the k x k window of
        w[c mod G, offset, p] * v[c, p + offset].
    CoT: the channel-preserving Contextual Transformer layer (CotLayer of the official code).
    CoTBottleneck: 1x1 conv -> (3x3 avg-pool stride 2 if strided) -> CoT -> 1x1 conv + shortcut.
    CoT3: C3 of CoTBottlenecks (YAML ``[-1, 3, CoT3, [1024]]``).
    C2fCoT: the same blocks in YOLOv8's C2f layout.
    C3k2CoT: the same blocks in YOLO11's C3k2 layout (a drop-in for a C3k2 row).
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint
from ultralytics.nn.modules import Conv

from yolo_hybrid.errors import check_divisible
from yolo_hybrid.nn.csp import C3K2_ARGS, C2fLayout, C3k2Layout, C3Layout, c3k2_width
from yolo_hybrid.nn.norm import SingleValueBatchNorm2d
from yolo_hybrid.nn.pad import zero_pad2d
from yolo_hybrid.nn.tracing import is_capturing, is_compiling, needs_grad
from yolo_hybrid.spec import FLAG, RATIO, Arg, Choice, Rule, yaml_block

__all__ = [
    "local_aggregate",
    "LocalAggregation",
    "count_local_aggregation",
    "ConcatConv",
    "CoT",
    "CoTBottleneck",
    "CoT3",
    "C2fCoT",
    "C3k2CoT",
]

SHARE_PLANES = 8  # channels sharing one dynamic filter (official: share_planes = 8)
KEY_GROUPS = 4  # groups of the static key convolution (official CotLayer)
EMBED_FACTOR = 2  # attention embedding width C / factor (official: factor = 2)


def _shifted_views(value: torch.Tensor, groups: int, kernel_size: int):
    """Zero-padded ``value`` viewed as (B, C/G, G, H+2p, W+2p): channel c = s*G + g, so dim 2 is c mod G."""
    b, c, height, width = value.shape
    pad = kernel_size // 2
    return zero_pad2d(value, pad, pad, pad, pad).reshape(b, c // groups, groups, height + 2 * pad, width + 2 * pad)


def _aggregate_graph(value: torch.Tensor, weight: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """Out-of-place form: plain Pad/Slice/Mul/Add ops, so tracing and ONNX export keep H and W dynamic."""
    b, c, height, width = value.shape
    padded = _shifted_views(value, weight.shape[1], kernel_size)
    out = None
    for i in range(kernel_size):
        for j in range(kernel_size):
            tap = weight[:, :, i * kernel_size + j].unsqueeze(1)  # (B, 1, G, H, W): select the tap, then broadcast
            term = padded[:, :, :, i : i + height, j : j + width] * tap
            out = term if out is None else out + term
    return out.reshape(b, c, height, width)


def _aggregate_inplace(value: torch.Tensor, weight: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """Same result accumulated in place into one output buffer (no graph is recorded)."""
    b, c, height, width = value.shape
    groups = weight.shape[1]
    padded = _shifted_views(value, groups, kernel_size)
    out = value.new_zeros(b, c // groups, groups, height, width)
    for i in range(kernel_size):
        for j in range(kernel_size):
            out.addcmul_(padded[:, :, :, i : i + height, j : j + width], weight[:, None, :, i * kernel_size + j])
    return out.reshape(b, c, height, width)


class _LocalAggregationFunction(torch.autograd.Function):
    """Training path: saves only (value, weight), which the layer keeps anyway, and accumulates in place.

    The graph form would save a padded copy of the values and allocate k^2 products in both passes.
    """

    @staticmethod
    def forward(ctx, value, weight, kernel_size):
        ctx.save_for_backward(value, weight)
        ctx.kernel_size = kernel_size
        return _aggregate_inplace(value, weight, kernel_size)

    @staticmethod
    def backward(ctx, grad_out):
        value, weight = ctx.saved_tensors
        k = ctx.kernel_size
        b, c, height, width = value.shape
        groups, pad = weight.shape[1], k // 2
        grad = grad_out.contiguous().reshape(b, c // groups, groups, height, width)
        grad_value = grad_weight = None
        if ctx.needs_input_grad[0]:  # d out / d value: scatter grad * w back through each shift
            grad_padded = value.new_zeros(b, c // groups, groups, height + 2 * pad, width + 2 * pad)
            for i in range(k):
                for j in range(k):
                    grad_padded[:, :, :, i : i + height, j : j + width].addcmul_(grad, weight[:, None, :, i * k + j])
            grad_value = grad_padded[..., pad : pad + height, pad : pad + width].reshape(b, c, height, width)
        if ctx.needs_input_grad[1]:  # d out / d w[g, tap]: sum over the C/G channels sharing the filter
            padded = _shifted_views(value, groups, k)
            grad_weight = torch.empty_like(weight)
            for i in range(k):
                for j in range(k):
                    shifted = padded[:, :, :, i : i + height, j : j + width]
                    torch.sum(grad * shifted, dim=1, out=grad_weight[:, :, i * k + j])
        return grad_value, grad_weight, None


def local_aggregate(value: torch.Tensor, weight: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """Dynamic local aggregation with zero padding and interleaved channel sharing.

    ``out[b, c, y, x] = sum_{i, j} weight[b, c mod G, i*k + j, y, x] * value[b, c, y + i - k//2, x + j - k//2]``
    (zero outside the map), where ``G = weight.shape[1]``: channels ``c, c + G, c + 2G, ...`` share one filter.
    Computed from k^2 shifted slices of a single padded copy of ``value`` (no unfold): in place with a hand-written
    backward when training, as plain out-of-place ops when traced or exported (dynamic H, W).

    Args:
        value (torch.Tensor): (B, C, H, W), C divisible by G.
        weight (torch.Tensor): (B, G, k*k, H, W) per-pixel filters, the k^2 offsets in row-major order.
        kernel_size (int): Odd k.

    Returns:
        (torch.Tensor): (B, C, H, W).
    """
    if weight.dtype != value.dtype:  # autocast may hand over a float32 GroupNorm output and a low-precision value
        dtype = torch.promote_types(value.dtype, weight.dtype)
        value, weight = value.to(dtype), weight.to(dtype)
    if is_capturing() or is_compiling():  # torch.compile fuses the out-of-place form (and cannot trace `out=` views)
        return _aggregate_graph(value, weight, kernel_size)
    if needs_grad(value, weight):
        return _LocalAggregationFunction.apply(value, weight, kernel_size)
    return _aggregate_inplace(value, weight, kernel_size)


class LocalAggregation(nn.Module):
    """Module form of ``local_aggregate`` (so FLOP counters can attach a rule to it: k^2 MACs per output element).

    Args:
        kernel_size (int): Odd window size k.
    """

    def __init__(self, kernel_size: int = 3):
        super().__init__()
        self.kernel_size = kernel_size

    def forward(self, value: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return local_aggregate(value, weight, self.kernel_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}"


def count_local_aggregation(module: LocalAggregation, inputs, output: torch.Tensor) -> None:
    """FLOP-counter rule (thop's protocol): k^2 multiply-accumulates per output element.

    Counters see convs and matmuls but not element-wise products, so without it CoT's aggregation would cost nothing.
    """
    module.total_ops += int(output.numel()) * module.kernel_size**2


class ConcatConv(Conv):
    """Ultralytics ``Conv`` applied to the channel concatenation of its inputs, without materialising it.

    ``ConcatConv(c1, c2)(a, b) == Conv(c1, c2)(torch.cat((a, b), 1))`` for a 1x1 convolution (the weight is split by
    input channels), so the concatenated tensor is neither allocated nor kept for backward. Same parameters and
    state dict as the plain Conv; ``fuse()`` works as for any Conv.
    """

    def _conv_parts(self, conv: nn.Conv2d, parts) -> torch.Tensor:
        out, start = None, 0
        for part in parts:
            stop = start + part.shape[1]
            y = F.conv2d(part, conv.weight[:, start:stop], None, conv.stride, conv.padding, conv.dilation, conv.groups)
            out = y if out is None else out + y
            start = stop
        return out if conv.bias is None else out + conv.bias.view(1, -1, 1, 1)

    def conv_parts(self, *parts: torch.Tensor) -> torch.Tensor:
        """The convolution alone (before BN and activation)."""
        return self._conv_parts(self.conv, parts)

    def forward(self, *parts: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self._conv_parts(self.conv, parts)))

    def forward_fuse(self, *parts: torch.Tensor) -> torch.Tensor:
        return self.act(self._conv_parts(self.conv, parts))


@contextlib.contextmanager
def frozen_batchnorm_stats(module: nn.Module):
    """Run batch norms in ``module`` on batch statistics without touching their running statistics.

    Used for the recomputation of a checkpointed forward pass, so each training step updates the running statistics
    exactly once, as without checkpointing.
    """
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.momentum, None if m.num_batches_tracked is None else m.num_batches_tracked.clone()) for m in norms]
    try:
        for m in norms:
            m.momentum = 0.0  # running = (1 - 0) * running + 0 * batch
        yield
    finally:
        for m, (momentum, tracked) in zip(norms, saved, strict=False):
            m.momentum = momentum
            if tracked is not None:
                m.num_batches_tracked.copy_(tracked)


KERNEL = Arg("k", Choice((1, 3, 5, 7)), "CoT kernel size (3 in every CoTNet)", "use an odd kernel size; CoTNet uses 3")
CHECKPOINT = Arg("checkpoint", FLAG, "recompute the CoT layers in backward (less memory)", "write true or false")


def _hidden_shares(width, formula: str) -> Rule:
    """Rule: the CoT width computed by ``width`` is a positive multiple of the channel-sharing factor 8."""

    def check(a) -> str | None:
        channels = width(a)
        if channels < SHARE_PLANES or channels % SHARE_PLANES:
            return f"makes the CoT width {formula} = {channels} (c2 = {a.c2} at this scale), not a multiple of 8"
        return None

    return Rule("e", check, "CoT shares one filter per 8 channels: choose e so that width is a multiple of 8")


class CoT(nn.Module):
    """Contextual Transformer layer: static key, dynamic local attention, selective-kernel fusion (C -> C).

    1. Static key ``k1 = ReLU(BN(conv_kxk(x, groups=4)))``.
    2. Dynamic filters ``w = GroupNorm(conv1x1(ReLU(BN(conv1x1([x, k1])))))`` with ``k^2 * C/8`` channels in ``C/8``
       groups of ``k^2`` (each weight-channel's k^2 taps normalised jointly; no softmax, as the official code).
    3. Values ``v = BN(conv1x1(x))``; dynamic key ``k2 = SiLU(BN(local_aggregate(v, w)))``.
    4. Fusion: ``a = softmax_r(conv1x1(ReLU(BN(conv1x1(GAP(k1 + k2))))))`` over the radix r in {k2, k1} per channel;
       ``y = a_0 * k2 + a_1 * k1``.

    Convolutions followed by BN are Ultralytics ``Conv`` (fusable), except in the fusion, which works on pooled
    (B, C, 1, 1) features and uses ``SingleValueBatchNorm2d`` so a training batch of one works; the official fusion
    conv's bias before that BN is dropped since BN absorbs it. Activations are the official ones (ReLU; SiLU after
    aggregation).

    Memory: in training, backward keeps only the convolutions' outputs (static key, value, and the embedding before
    its BN) and the aggregation's output; the BNs, GroupNorm, the 1x1 filter convolution (C/2 -> k^2 C/8), SiLU and
    the fusion are recomputed from them in backward (``torch.utils.checkpoint`` on those two cheap segments, running
    statistics updated once). That keeps about six C x H x W maps instead of eleven (CoT3 n=1: 1.28x a plain C3's
    peak instead of 1.5-1.6x, ``benchmarks/cot_memory.py``). With ``checkpoint=True`` training stores only the layer's
    input and recomputes the whole layer in backward (about one extra forward of the layer). Inference and export
    run the plain composition.

    Args:
        c (int): Channels (divisible by 8).
        k (int): Kernel size of the static key and of the local window (3 in every CoTNet).
        checkpoint (bool): Recompute the layer's intermediates in backward instead of storing them.

    Shapes:
        x: (B, c, H, W) -> (B, c, H, W), any H, W >= 1.

    Examples:
        >>> CoT(64)(torch.randn(2, 64, 9, 7)).shape
        torch.Size([2, 64, 9, 7])
    """

    def __init__(self, c: int, k: int = 3, checkpoint: bool = False):
        super().__init__()
        name = type(self).__name__
        FLAG.check(name, "checkpoint", checkpoint, "write true or false")
        self.checkpoint = checkpoint
        KERNEL.kind.check(name, "k", k, KERNEL.fix)
        check_divisible(
            name,
            "channels",
            c,
            SHARE_PLANES,
            "the channel-sharing factor 8",
            "CoT needs channels divisible by 8: change the width or the hidden ratio e",
        )
        self.k = k
        self.weight_channels = weight_channels = c // SHARE_PLANES
        self.key = Conv(c, c, k, g=KEY_GROUPS, act=nn.ReLU(inplace=True))  # in place: BN keeps its input
        self.embed_in = ConcatConv(2 * c, c // EMBED_FACTOR, 1, act=nn.ReLU(inplace=True))  # on [x, static key]
        self.embed = nn.Sequential(
            nn.Conv2d(c // EMBED_FACTOR, k * k * weight_channels, 1, bias=True),
            nn.GroupNorm(weight_channels, k * k * weight_channels),
        )
        self.value = Conv(c, c, 1, act=False)
        self.aggregate = LocalAggregation(k)
        self.bn = nn.BatchNorm2d(c)
        self.act = nn.SiLU()
        attn_channels = max(c * 2 // 4, 32)  # radix 2, reduction 4, at least 32 (official SK fusion)
        self.select = nn.Sequential(
            nn.Conv2d(c, attn_channels, 1, bias=False),
            SingleValueBatchNorm2d(attn_channels),
            nn.ReLU(),
            nn.Conv2d(attn_channels, 2 * c, 1),
        )

    def filters(self, hidden: torch.Tensor) -> torch.Tensor:
        """Per-pixel k x k filters (B, C/8, k*k, H, W) from the embedding's hidden activations (B, C/2, H, W)."""
        b, _, height, width = hidden.shape
        return self.embed(hidden).reshape(b, self.weight_channels, self.k * self.k, height, width)

    def dynamic_weights(self, x: torch.Tensor, static_key: torch.Tensor) -> torch.Tensor:
        """Per-pixel k x k filters (B, C/8, k*k, H, W) from the query and the static key."""
        return self.filters(self.embed_in(x, static_key))  # 1x1 conv of the concatenation [x, static key]

    def fusion_weights(self, dynamic_key: torch.Tensor, static_key: torch.Tensor) -> torch.Tensor:
        """Selective-kernel weights (B, C, 2): softmax over (dynamic, static) per channel."""
        b, c = dynamic_key.shape[:2]
        pooled = dynamic_key.mean((2, 3), keepdim=True) + static_key.mean((2, 3), keepdim=True)  # GAP(k2 + k1)
        return self.select(pooled).reshape(b, c, 2).softmax(-1)  # conv output 2c + r is channel c, branch r

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.checkpoint and self.training and torch.is_grad_enabled() and not torch.jit.is_tracing():
            return self._recomputed(self.contextual_attention, x)
        return self.contextual_attention(x)

    def contextual_attention(self, x: torch.Tensor) -> torch.Tensor:
        """The layer's computation (``forward`` may checkpoint it)."""
        static_key = self.key(x)
        recompute = self.training and torch.is_grad_enabled() and not self.checkpoint and not is_capturing()
        if recompute and hasattr(self.value, "bn"):  # a fused layer (its BNs folded away) runs the plain composition
            # Backward keeps the convolutions' outputs only: the norms, activations, filters and products after them
            # are elementwise or 1x1 on C/2 channels, cheap to recompute, and would otherwise hold ~4 maps of C x H x W
            hidden = self.embed_in.conv_parts(x, static_key)
            aggregated = self._recomputed(self._aggregate_values, self.value.conv(x), hidden)
            return self._recomputed(self.select_keys, aggregated, static_key)
        return self.select_keys(self.aggregate(self.value(x), self.dynamic_weights(x, static_key)), static_key)

    def _aggregate_values(self, value_logits: torch.Tensor, hidden_logits: torch.Tensor) -> torch.Tensor:
        """``aggregate(value(x), dynamic_weights(x, k1))`` from the two convolutions' outputs before their BN."""
        value = self.value.act(self.value.bn(value_logits))
        return self.aggregate(value, self.filters(self.embed_in.act(self.embed_in.bn(hidden_logits))))

    def select_keys(self, aggregated: torch.Tensor, static_key: torch.Tensor) -> torch.Tensor:
        """Dynamic key ``SiLU(BN(aggregated))``, fused with the static key by the selective-kernel weights."""
        dynamic_key = self.act(self.bn(aggregated))
        a = self.fusion_weights(dynamic_key, static_key)
        return dynamic_key * a[..., 0, None, None] + static_key * a[..., 1, None, None]

    def _recomputed(self, fn, *inputs: torch.Tensor) -> torch.Tensor:
        """``fn(*inputs)``, storing only ``inputs`` for backward (running statistics updated once, as without)."""
        if is_compiling():
            # Compiled, checkpoint becomes a graph region that the backward graph recomputes without replaying buffer
            # updates, so the running statistics move once with no context (which dynamo cannot trace anyway)
            return torch.utils.checkpoint.checkpoint(fn, *inputs, use_reentrant=False, preserve_rng_state=False)
        return torch.utils.checkpoint.checkpoint(
            fn,
            *inputs,
            use_reentrant=False,
            preserve_rng_state=False,  # nothing random in the layer
            context_fn=lambda: (contextlib.nullcontext(), frozen_batchnorm_stats(self)),
        )


@yaml_block(
    "base",
    Arg("s", Choice((1, 2)), "stride (pooling before the CoT layer)", "use stride 1, or 2 to halve the map"),
    Arg("e", RATIO, "hidden width ratio", "use e=0.25 (CoTNet stage) or e=1.0 (inside C3/C2f)"),
    Arg("shortcut", FLAG, "residual connection", "write true or false"),
    KERNEL,
    CHECKPOINT,
    rules=(_hidden_shares(lambda a: int(a.c2 * a.e), "int(c2*e)"),),
    summary="One CoTNet bottleneck, stride 1 or 2.",
)
class CoTBottleneck(nn.Module):
    """CoTNet bottleneck: 1x1 conv -> (3x3 avg-pool, stride 2, if strided) -> CoT -> 1x1 conv-BN, + shortcut -> act.

    With a shortcut, the last BN starts at gamma = 0 (CoTNet's ``zero_init_last_bn``), so a fresh block is its
    shortcut. The bottleneck's own activations (after the first 1x1 conv and after the sum) are Ultralytics' default,
    SiLU, where CoTNet uses ReLU: like every Ultralytics ``Conv`` they follow a YAML's ``activation:`` key
    (``activation: nn.ReLU()`` gives CoTNet's). Inside the CoT layer the activations are CoTNet's own (ReLU, SiLU).

    Args:
        c1 (int): Input channels.
        c2 (int): Output channels.
        s (int): Stride, 1 or 2 (the pooling sits before the CoT layer, as in CoTNet).
        e (float): Hidden width ``int(c2 * e)`` (CoTNet stages: 0.25; inside C3/C2f: 1.0).
        shortcut (bool): Residual connection (1x1 strided Conv-BN projection when the shape changes).
        k (int): CoT kernel size.
        checkpoint (bool): Activation checkpointing of the CoT layer in training (see ``CoT``).

    Examples:
        >>> CoTBottleneck(64, 128, s=2)(torch.randn(1, 64, 9, 12)).shape
        torch.Size([1, 128, 5, 6])
    """

    def __init__(
        self, c1: int, c2: int, s: int = 1, e: float = 0.25, shortcut: bool = True, k: int = 3, checkpoint: bool = False
    ):
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 1)
        self.pool = nn.AvgPool2d(3, 2, 1) if s == 2 else nn.Identity()
        self.cot = CoT(c_, k, checkpoint)
        self.cv2 = Conv(c_, c2, 1, act=False)
        self.act = Conv.default_act
        self.add = shortcut
        if self.add:  # CoTNet's zero_init_last_bn: a fresh block is its shortcut
            nn.init.zeros_(self.cv2.bn.weight)
        self.shortcut = nn.Identity() if (s == 1 and c1 == c2) or not self.add else Conv(c1, c2, 1, s, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.cv2(self.cot(self.pool(self.cv1(x))))
        return self.act(y + self.shortcut(x) if self.add else y)


_C3_ARGS = (
    Arg("shortcut", FLAG, "residual connections in the bottlenecks", "takes (c2, shortcut, g, e): write true/false"),
    Arg("g", Choice((1,)), "accepted for C3/C2f compatibility", "g=1 (CoT's key conv uses 4 groups, as in the paper)"),
    Arg("e", RATIO, "hidden channel ratio", "pass e as a ratio such as 0.5"),
    KERNEL,
    CHECKPOINT,
)


@yaml_block(
    "repeat",
    *_C3_ARGS,
    rules=(_hidden_shares(lambda a: int(a.c2 * a.e), "int(c2*e)"),),
    summary="C3 whose inner blocks are CoTNet bottlenecks; C3's / the community's `(shortcut, g, e)` plus `k`.",
)
class CoT3(C3Layout):
    """CSP bottleneck with 3 convolutions (Ultralytics C3) whose inner blocks are CoTBottlenecks.

    Signature of Ultralytics' C3 and of the YOLO community's CoT3, ``(c1, c2, n, shortcut, g, e)``, so existing
    YAMLs keep working (``g`` must be 1), plus the CoT kernel size ``k``.

    Args:
        c1 (int): Input channels.
        c2 (int): Output channels.
        n (int): Number of CoTBottlenecks.
        shortcut (bool): Residual connections in the bottlenecks.
        g (int): Accepted for compatibility; must be 1.
        e (float): Hidden channel ratio of the C3.
        k (int): CoT kernel size.
        checkpoint (bool): Activation checkpointing of the CoT layers in training (see ``CoT``).

    Examples:
        >>> CoT3(128, 128, n=1)(torch.randn(1, 128, 20, 15)).shape
        torch.Size([1, 128, 20, 15])
    """

    def __init__(
        self,
        c1: int,
        c2: int,
        n: int = 1,
        shortcut: bool = True,
        g: int = 1,
        e: float = 0.5,
        k: int = 3,
        checkpoint: bool = False,
    ):
        super().__init__(c1, c2, n, e, lambda c_: CoTBottleneck(c_, c_, 1, 1.0, shortcut, k, checkpoint))


@yaml_block(
    "repeat",
    *_C3_ARGS,
    rules=(_hidden_shares(lambda a: int(a.c2 * a.e), "int(c2*e)"),),
    summary="YOLOv8's C2f layout with CoTNet bottlenecks: a drop-in for a C2f row.",
)
class C2fCoT(C2fLayout):
    """YOLOv8's C2f layout (split, chained blocks, concatenate every output) with CoTBottleneck blocks.

    Args:
        c1 (int): Input channels.
        c2 (int): Output channels.
        n (int): Number of CoTBottlenecks.
        shortcut (bool): Residual connections in the bottlenecks (as C2f's ``shortcut``).
        g (int): Accepted for compatibility with C2f rows; must be 1.
        e (float): Hidden channel ratio.
        k (int): CoT kernel size.
        checkpoint (bool): Activation checkpointing of the CoT layers in training (see ``CoT``).

    Examples:
        >>> C2fCoT(64, 128, n=2, shortcut=True)(torch.randn(1, 64, 8, 6)).shape
        torch.Size([1, 128, 8, 6])
    """

    def __init__(
        self,
        c1: int,
        c2: int,
        n: int = 1,
        shortcut: bool = False,
        g: int = 1,
        e: float = 0.5,
        k: int = 3,
        checkpoint: bool = False,
    ):
        super().__init__(c1, c2, n, e, lambda c: CoTBottleneck(c, c, 1, 1.0, shortcut, k, checkpoint))


@yaml_block(
    "repeat",
    *C3K2_ARGS,
    KERNEL,
    CHECKPOINT,
    rules=(_hidden_shares(lambda a: c3k2_width(a.c2, a.c3k, a.e, a.attn), "of each block (int(c2*e), halved if c3k)"),),
    summary="YOLO11's C3k2 layout with CoTNet bottlenecks: a drop-in for a C3k2 row (`c3k, e, attn` as C3k2).",
)
class C3k2CoT(C3k2Layout):
    """YOLO11's C3k2 layout with CoTBottleneck blocks (YAML ``[-1, 2, C3k2CoT, [512, False, 0.25]]``).

    Args:
        c1 (int): Input channels.
        c2 (int): Output channels.
        n (int): Number of inner blocks.
        c3k (bool): Inner blocks are C3s of two CoTBottlenecks at half width (Ultralytics' C3k).
        e (float): Hidden channel ratio.
        attn (bool): Each CoTBottleneck is followed by Ultralytics' PSABlock (YOLO26's ``attn``).
        k (int): CoT kernel size.
        checkpoint (bool): Activation checkpointing of the CoT layers in training (see ``CoT``).

    Examples:
        >>> C3k2CoT(64, 128, n=2)(torch.randn(1, 64, 8, 6)).shape
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
        k: int = 3,
        checkpoint: bool = False,
    ):
        super().__init__(c1, c2, n, c3k, e, attn, lambda c, j: CoTBottleneck(c, c, 1, 1.0, True, k, checkpoint))
