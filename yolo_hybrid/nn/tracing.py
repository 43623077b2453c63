"""How a block tells eager execution from a graph capture, and how it keeps a capture from inlining large tables.

Every exporter Ultralytics drives captures the model in one of three ways: TorchScript tracing (TorchScript, ONNX,
OpenVINO, NCNN, CoreML, PaddlePaddle), or ``torch.export`` (LiteRT, ExecuTorch). Blocks use plain, widely mapped ops
(MatMul/Softmax instead of fused attention, out-of-place arithmetic) under any of them.
"""

from __future__ import annotations

import torch

__all__ = ["is_capturing", "input_anchor"]


def is_capturing() -> bool:
    """True while the model is traced, scripted, exported to ONNX or captured by ``torch.export`` (not ``torch.compile``)."""
    compiler = getattr(torch, "compiler", None)
    return (
        torch.jit.is_tracing()
        or torch.jit.is_scripting()
        or torch.onnx.is_in_onnx_export()
        or bool(compiler is not None and getattr(compiler, "is_exporting", lambda: False)())
    )


def input_anchor(x: torch.Tensor) -> torch.Tensor:
    """An int64 zero computed from ``x``'s values (``x > x`` is False for every float, NaN and inf included).

    Adding it to an index built from the map size makes everything downstream depend on the graph input, so an
    exporter's constant folding (onnxslim, OpenVINO) cannot replace a position-bias gather by its (heads, N, N_k)
    result at a static input size: the exported file keeps the small table and computes the bias at run time.

    Args:
        x (torch.Tensor): Any floating tensor with at least one element per dimension (B, C, H, W).

    Returns:
        (torch.Tensor): Scalar-shaped (1,) int64 zero on ``x``'s device.
    """
    corner = x.flatten()[:1]
    return (corner > corner).long()
