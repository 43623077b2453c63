"""How a block tells eager execution from a graph capture (an export).

Every exporter Ultralytics drives captures the model in one of three ways: TorchScript tracing (TorchScript, ONNX,
OpenVINO, NCNN, CoreML, PaddlePaddle), or ``torch.export`` (LiteRT, ExecuTorch). Blocks use plain, widely mapped ops
(MatMul/Softmax instead of fused attention, out-of-place arithmetic) under any of them.
"""

from __future__ import annotations

import torch

__all__ = ["is_capturing", "is_exporting", "is_compiling", "needs_grad"]


def is_exporting() -> bool:
    """True while ``torch.export`` captures the model (LiteRT, ExecuTorch, the dynamo ONNX exporter)."""
    compiler = getattr(torch, "compiler", None)
    return bool(compiler is not None and getattr(compiler, "is_exporting", lambda: False)())


def is_compiling() -> bool:
    """True while ``torch.compile`` (or ``torch.export``) traces the model."""
    compiler = getattr(torch, "compiler", None)
    return bool(compiler is not None and getattr(compiler, "is_compiling", lambda: False)())


def needs_grad(*tensors: torch.Tensor) -> bool:
    """True when autograd records an op on ``tensors``: blocks then take the paths with a backward."""
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def is_capturing() -> bool:
    """True while the model is traced, scripted, exported to ONNX or captured by ``torch.export`` (not
    ``torch.compile``)."""
    return torch.jit.is_tracing() or torch.jit.is_scripting() or torch.onnx.is_in_onnx_export() or is_exporting()
