"""The papers' weight initialisations, for layers PyTorch would otherwise leave at its own defaults.

Ultralytics' ``initialize_weights`` only adjusts BatchNorm settings, so these are what a freshly built model starts
from. Our 1x1 convolutions often stand for the papers' per-token ``nn.Linear`` layers (same weights, NCHW layout);
those get the Linear rule, real convolutions the conv rule of the same paper.
"""

from __future__ import annotations

import math

import torch.nn as nn

__all__ = ["init_as_linear_", "init_fan_out_", "init_kaiming_fan_out_"]


def init_as_linear_(*layers: nn.Module, std: float = 0.02) -> None:
    """ViT/SMT/CMT/PatchConvNet Linear rule: weight ~ trunc_normal(0, std) cut at +-2 (absolute), bias 0."""
    for layer in layers:
        nn.init.trunc_normal_(layer.weight, std=std, a=-2.0, b=2.0)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)


def init_fan_out_(*convs: nn.Conv2d) -> None:
    """SMT's conv rule: weight ~ N(0, sqrt(2 / fan_out)), fan_out = k_h * k_w * C_out / groups; bias 0."""
    for conv in convs:
        fan_out = conv.kernel_size[0] * conv.kernel_size[1] * conv.out_channels // conv.groups
        nn.init.normal_(conv.weight, 0.0, math.sqrt(2.0 / fan_out))
        if conv.bias is not None:
            nn.init.zeros_(conv.bias)


def init_kaiming_fan_out_(*convs: nn.Conv2d) -> None:
    """CMT's conv rule (``kaiming_normal_(mode="fan_out")``): N(0, sqrt(2 / (k_h * k_w * C_out))), bias 0.

    Unlike SMT's rule the fan-out is not divided by the groups, as in PyTorch's ``kaiming_normal_``.
    """
    for conv in convs:
        nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
        if conv.bias is not None:
            nn.init.zeros_(conv.bias)
