"""``GELU(conv(x))`` in one pass for eager CPU inference.

SMT's and CMT's FFNs apply an exact GELU to 4C-wide maps straight after a convolution. Run apart, the GELU is one more
trip through memory per map (about 1.5 ms for a (1, 256, 80, 80) map on one core). oneDNN applies it as the
convolution's post-op instead, through the fused kernel PyTorch's own compiler emits for this pattern
(``torch.ops.mkldnn._convolution_pointwise``). That kernel is internal to PyTorch, so it is used only where it was
proven to give ``F.gelu(conv(x))`` on first use in this process, and only while no hook watches the conv (a FLOP
counter's module hooks would miss it); everything else (training, GPUs, half precision, exports, ``torch.compile``)
runs the two ops.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from yolo_hybrid.nn.tracing import is_capturing, is_compiling, needs_grad

__all__ = ["conv_gelu"]

_fused_kernel_works: bool | None = None  # decided on first use, then fixed for the process


def _fused(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    return torch.ops.mkldnn._convolution_pointwise(
        x,
        conv.weight,
        conv.bias,
        list(conv.padding),
        list(conv.stride),
        list(conv.dilation),
        conv.groups,
        "gelu",
        [None],
        "none",
    )


def _probe() -> bool:
    """Whether this build has the kernel and it matches the two ops (a depthwise and a pointwise conv)."""
    try:
        if not (torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled):
            return False
        g = torch.Generator().manual_seed(0)
        x = torch.randn(1, 4, 5, 6, generator=g)
        for conv in (nn.Conv2d(4, 4, 3, padding=1, groups=4), nn.Conv2d(4, 8, 1)):
            if not torch.allclose(_fused(x, conv), F.gelu(conv(x)), atol=1e-5, rtol=1e-5):
                return False
        return True
    except Exception:  # noqa: BLE001 (absent or changed internal op: the two ops then run)
        return False


def _observed(conv: nn.Conv2d) -> bool:
    """Forward hooks watch the conv (FLOP counters such as Ultralytics' thop, profilers, feature taps): run it."""
    hooks = nn.modules.module
    return bool(
        conv._forward_hooks or conv._forward_pre_hooks or hooks._global_forward_hooks or hooks._global_forward_pre_hooks
    )


def conv_gelu(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """``F.gelu(conv(x))`` (exact GELU), fused on the CPU in float32 inference.

    Args:
        conv (nn.Conv2d): A convolution with zero padding.
        x (torch.Tensor): Input (B, C_in, H, W).

    Returns:
        (torch.Tensor): (B, C_out, H', W').
    """
    global _fused_kernel_works
    eager_cpu_inference = (
        x.device.type == "cpu"
        and x.dtype == torch.float32
        and conv.padding_mode == "zeros"
        and isinstance(conv.padding, tuple)
        and not needs_grad(x, conv.weight, conv.bias)
        and not is_capturing()
        and not is_compiling()
        and not _observed(conv)
    )
    if eager_cpu_inference:
        if _fused_kernel_works is None:
            with torch.no_grad():
                _fused_kernel_works = _probe()
        if _fused_kernel_works:
            return _fused(x, conv)
    return F.gelu(conv(x))
