"""Normalisation layers shared by the block families."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from yolo_hybrid.nn.tracing import is_capturing

__all__ = ["LayerNorm2d", "SingleValueBatchNorm2d"]


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channel dimension of a (B, C, H, W) map: per position, as a token LayerNorm would.

    Args:
        channels (int): C.
        eps (float): Epsilon (SMT, CMT and PatchConvNet use 1e-6).
    """

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__(channels, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if is_capturing():
            return self.channel_moments(x)
        return F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps).permute(
            0, 3, 1, 2
        )

    def channel_moments(self, x: torch.Tensor) -> torch.Tensor:
        """The same normalisation from channel moments, without leaving NCHW.

        Exported graphs use it: a Transpose -> LayerNormalization -> Transpose chain defeats the symbolic shape
        inference of ONNX simplifiers, and the model's outputs then lose their static channel dimension.
        """
        centred = x - x.mean(1, keepdim=True)
        var = (centred * centred).mean(1, keepdim=True)  # not pow(2): wrong in Paddle Inference's oneDNN kernels
        return centred * torch.rsqrt(var + self.eps) * self.weight[:, None, None] + self.bias[:, None, None]


class SingleValueBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d that also trains when a batch holds a single value per channel.

    Globally pooled (B, C, 1, 1) features, or a map reduced to 1 x 1, have no batch variance in a training batch of
    one, and ``nn.BatchNorm2d`` raises (Ultralytics' last batch of an epoch can hold one image). Such a batch is
    normalised with the running statistics instead, leaving them unchanged; every other batch is plain batch norm.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.shape[0] * x.shape[2] * x.shape[3] == 1:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        return super().forward(x)
