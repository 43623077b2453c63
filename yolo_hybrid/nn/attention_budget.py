"""A guard for global attention on large maps: warn once when it gets expensive, refuse before an impossible allocation.

Global attention over ``N = H * W`` positions costs ``B * heads * N * N_keys`` logits. At P5 of a 640 px image that is
nothing (N = 400); the same block at P3 of a 2048 px image (N = 65536) needs a 64 GiB logit matrix for four heads and
fails inside the allocator with a raw error. Attention layers call ``check_attention_budget`` at the start of an
eager forward (a few integer products; nothing while tracing or exporting, where sizes are symbolic).

The message names the layer: integration code labels attention modules with their YAML file and layer
(``module.yaml_layer``); unlabelled modules are named by class.
"""

from __future__ import annotations

import os
import warnings
import weakref

import torch

from yolo_hybrid.errors import YoloHybridError
from yolo_hybrid.nn.tracing import is_capturing, is_compiling

__all__ = ["AttentionBudgetError", "WARN_BYTES", "attention_bytes", "available_bytes", "check_attention_budget"]

WARN_BYTES = 1 << 30  # one logit matrix of 1 GiB: far beyond any usual placement (P5 at 640 px: 2.5 MB for B=16)
FIX = (
    "Fix: place global attention where the map is small (P5, stride 32), use key/value spatial reduction (CMT's sr), "
    "or a smaller imgsz."
)
_warned: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # module -> sizes it has warned about


class AttentionBudgetError(YoloHybridError, MemoryError):
    """Global attention would need more memory than the device has; raised before allocating."""


def attention_bytes(batch: int, heads: int, n_query: int, n_key: int, dtype: torch.dtype) -> int:
    """Bytes of one (batch, heads, n_query, n_key) logit matrix (float ``dtype``)."""
    return batch * heads * n_query * n_key * (torch.finfo(dtype).bits // 8)


def available_bytes(device: torch.device) -> int | None:
    """Free memory of ``device`` (CUDA: free device memory; CPU: the kernel's MemAvailable), or None if unknown."""
    try:
        if device.type == "cuda":
            return torch.cuda.mem_get_info(device)[0]
        if device.type == "cpu":
            with open("/proc/meminfo") as meminfo:
                for line in meminfo:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, RuntimeError, AttributeError):
        return None
    return None


def _gib(n: int) -> str:
    return f"{n / (1 << 30):.1f} GiB"


def check_attention_budget(module, x: torch.Tensor, heads: int, n_key: int, materialized: bool = True) -> None:
    """Warn once (per layer and size) above ``WARN_BYTES``; raise AttentionBudgetError if it cannot fit.

    Args:
        module: The attention layer (its ``yaml_layer`` label, if set, names it).
        x (torch.Tensor): The layer input (B, C, H, W).
        heads (int): Attention heads.
        n_key (int): Keys per query (``H * W``, or fewer with spatial reduction).
        materialized (bool): Whether the logits are held as one tensor. False for kernels that stream them
            (PyTorch's fused SDPA without a mask): then only the cost is reported, never refused.
    """
    if is_capturing() or is_compiling():
        return  # sizes are symbolic; the check belongs to eager runs
    b, _, height, width = x.shape
    need = attention_bytes(b, heads, height * width, n_key, x.dtype)
    if need < WARN_BYTES:
        return
    where = getattr(module, "yaml_layer", None) or type(module).__name__
    what = (
        f"{where}: global attention over N = {height}x{width} = {height * width} positions x {n_key} keys, "
        f"B = {b}, {heads} heads"
    )
    if materialized:
        available = available_bytes(x.device)
        if available is not None and need > available:
            raise AttentionBudgetError(
                f"{what} needs a {_gib(need)} logit matrix, more than the {_gib(available)} free on {x.device}. {FIX}"
            )
        cost = f"needs a {_gib(need)} logit matrix"
    else:
        cost = f"computes {need // x.element_size():,} logits per forward (streamed, but quadratic in N)"
    sizes = _warned.setdefault(module, set())  # by the module itself: a freed module's id() is reused by new ones
    if (height, width, n_key, b) not in sizes:
        sizes.add((height, width, n_key, b))
        warnings.warn(f"{what} {cost}. {FIX}", RuntimeWarning, stacklevel=3)
