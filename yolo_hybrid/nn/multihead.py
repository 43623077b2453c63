"""Splitting a (B, C, H, W) map into attention heads and merging them back, shared by BoT, SMT and CMT.

Every step keeps the batch dynamic under ``torch.export`` traced from a batch of one (the dynamo ONNX exporter,
LiteRT, ExecuTorch): there a reshape of a strided tensor that is a view only when B == 1 (or an op on a tensor whose
layout is channels-last only when B == 1) adds the guard B == 1 and fixes the exported batch to 1
(``tests/nn/test_dynamic_batch.py``). Eager execution and TorchScript-traced graphs (ONNX, OpenVINO, NCNN, ...) are
unchanged by these forms.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from yolo_hybrid.nn.tracing import is_exporting

__all__ = ["split_projection", "split_heads", "merge_heads"]


def split_projection(conv: nn.Conv2d, x: torch.Tensor, parts: int) -> tuple[torch.Tensor, ...]:
    """``conv(x)`` cut into ``parts`` equal channel groups (e.g. q, k, v of one ``qkv`` projection).

    Under ``torch.export`` each group comes from its part of the weight (one conv per group) instead of a channel
    slice of the whole output: folding the heads of such a slice into the batch is a view only when B == 1.

    Args:
        conv (nn.Conv2d): An ungrouped projection with ``parts`` dividing its output channels.
        x (torch.Tensor): Its input (B, C_in, H, W).
        parts (int): Number of groups.

    Returns:
        (tuple[torch.Tensor, ...]): ``parts`` maps (B, C_out / parts, H', W').
    """
    width = conv.out_channels // parts  # a module constant: a traced graph slices at fixed channels
    cuts = [slice(i * width, (i + 1) * width) for i in range(parts)]
    if not is_exporting():
        out = conv(x)
        return tuple(out[:, cut] for cut in cuts)
    bias = conv.bias
    return tuple(
        F.conv2d(x, conv.weight[cut], None if bias is None else bias[cut], conv.stride, conv.padding, conv.dilation)
        for cut in cuts
    )


def split_heads(t: torch.Tensor, batch, tokens, heads: int, dim_head: int) -> torch.Tensor:
    """(B, heads*dim_head, H, W) -> (B*heads, N = H*W, dim_head): heads folded into the batch, each head's channels
    contiguous. ``batch`` and ``tokens`` are B and N, read once by the caller from its input.

    Flattened to (B, C, H*W) first, a view here: Paddle Inference's oneDNN matmul is wrong on a conv output reshaped
    straight to (B*heads, d, N) (by up to the logits' size; exact after the flatten).
    """
    return t.flatten(2).reshape(batch * heads, dim_head, tokens).transpose(1, 2)


def merge_heads(out: torch.Tensor, batch, channels: int, height, width) -> torch.Tensor:
    """Attention output (B*heads, H*W, d) or (B, heads, H*W, d) -> (B, channels = heads*d, H, W), contiguous.

    Contiguous: with one head the merge is a view with channels-last strides, on which ``torch.export``'s next conv
    guards the batch to 1 (a copy in eager only then; a no-op in a TorchScript-traced graph).
    """
    return out.transpose(-1, -2).reshape(batch, channels, height, width).contiguous()
