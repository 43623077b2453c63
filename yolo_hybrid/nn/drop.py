"""Stochastic depth (Huang et al. 2016): drop a residual branch for whole samples while training.

Layers:
    DropPath: per-sample drop of its input with probability ``rate``, survivors scaled by ``1 / (1 - rate)``.
    stage_rates: the papers' linear schedule, applied within one YAML stage.
"""

from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["DropPath", "drop_path_or_identity", "stage_rates"]


class DropPath(nn.Module):
    """Zero a residual branch for a random ``rate`` of the samples in training; identity in eval.

    Args:
        rate (float): Drop probability in [0, 1).

    Shapes:
        x: (B, ...) -> (B, ...).
    """

    def __init__(self, rate: float):
        super().__init__()
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"DropPath rate must be in [0, 1), got {rate}")
        self.rate = float(rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0.0:
            return x
        keep = 1.0 - self.rate
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f"rate={self.rate:g}"


def drop_path_or_identity(rate: float) -> nn.Module:
    """``DropPath(rate)``, or ``nn.Identity()`` at rate 0 (no module state: outputs and state dicts as without it)."""
    return DropPath(rate) if rate > 0 else nn.Identity()


def stage_rates(rate: float, n: int) -> list[float]:
    """Drop rates of a stage's ``n`` blocks: rising linearly to ``rate`` at the last block, ``rate * (j + 1) / n``.

    The papers (SMT, CMT) schedule ``linspace(0, rate, all blocks)`` over the whole network; a YAML stage does not
    know its place in the network, so the same linear rise is applied within the stage.
    """
    return [rate * (j + 1) / n for j in range(n)]
