"""Normalisation layers shared by the block families."""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.modules.batchnorm import _BatchNorm

from yolo_hybrid.nn.tracing import is_capturing

__all__ = ["LayerNorm2d", "SingleValueBatchNorm2d", "SingleValueSyncBatchNorm2d", "convert_sync_batchnorm"]


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


def _synchronises(norm: nn.SyncBatchNorm) -> bool:
    """Whether ``norm``'s training forward gathers batch statistics across processes (SyncBatchNorm's own test)."""
    if not (dist.is_available() and dist.is_initialized()):
        return False
    return dist.get_world_size(norm.process_group or dist.group.WORLD) > 1


class SingleValueSyncBatchNorm2d(nn.SyncBatchNorm):
    """``SyncBatchNorm`` for (B, C, H, W) maps that keeps ``SingleValueBatchNorm2d``'s single-value rule.

    Across two or more processes the statistics come from the batches of all of them, which together hold at least two
    values per channel (one image per rank is enough): this is plain ``SyncBatchNorm`` there, single values included,
    as torch's own synchronised batch norm accepts them. Without synchronisation (no process group, or a group of
    one) a training batch with a single value per channel is normalised with the running statistics, which stay
    unchanged, as ``SingleValueBatchNorm2d`` does; every other batch is ``SyncBatchNorm``'s own local fallback. The
    choice depends only on the world size, never on a rank's batch, so all ranks enter the same collectives.

    Built by ``convert_sync_batchnorm``. Like ``SyncBatchNorm`` it synchronises GPU (CUDA, XPU, HPU) tensors only: on
    CPU inside a process group, torch 2.14 refuses training batches (``ValueError``) except the single-value ones
    handled here without synchronising.
    """

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() != 4:
            raise ValueError(f"expected 4D input (B, C, H, W), got {input.dim()}D input of shape {tuple(input.shape)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input_dim(x)
        if self.training and x.shape[0] * x.shape[2] * x.shape[3] == 1 and not _synchronises(self):
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        return super().forward(x)


def _sync_copy(
    norm: _BatchNorm, cls: type[nn.SyncBatchNorm], process_group: dist.ProcessGroup | None
) -> nn.SyncBatchNorm:
    """A ``cls`` sharing ``norm``'s parameters and statistics tensors, as ``SyncBatchNorm.convert_sync_batchnorm``."""
    out = cls(
        norm.num_features,
        norm.eps,
        norm.momentum,
        norm.affine,
        norm.track_running_stats,
        process_group,
        bias=norm.bias is not None,
    )
    if norm.affine:
        out.weight, out.bias = norm.weight, norm.bias  # the same Parameter objects: optimizers built before still work
    out.running_mean, out.running_var, out.num_batches_tracked = (
        norm.running_mean,
        norm.running_var,
        norm.num_batches_tracked,
    )
    out.training = norm.training
    if hasattr(norm, "qconfig"):
        out.qconfig = norm.qconfig
    return out


def convert_sync_batchnorm(module: nn.Module, process_group: dist.ProcessGroup | None = None) -> nn.Module:
    """Replace every BatchNorm in ``module`` by a SyncBatchNorm, keeping the single-value rule of ours.

    ``torch.nn.SyncBatchNorm.convert_sync_batchnorm`` turns every ``_BatchNorm`` into a plain ``SyncBatchNorm``, so
    the ``SingleValueBatchNorm2d`` of CoT's fusion, CMT's reduction and the attention-pooling head would raise again on
    a single-process training batch of one image. This function converts those to ``SingleValueSyncBatchNorm2d`` and
    every other ``_BatchNorm`` (``SyncBatchNorm`` included, re-scoped to ``process_group``) exactly as torch does. The
    new modules share the original parameters and running-statistics tensors; the module tree is changed in place.

    Args:
        module (nn.Module): A model, e.g. ``YOLO("yolov8n-cot.yaml").model``, before it is wrapped in
            ``DistributedDataParallel``.
        process_group (torch.distributed.ProcessGroup | None): The group to synchronise over (None: the whole world).

    Returns:
        (nn.Module): ``module``, or a new norm when ``module`` itself is a BatchNorm.

    Examples:
        >>> from yolo_hybrid.nn.cot import CoT3
        >>> block = convert_sync_batchnorm(CoT3(16, 16))
        >>> sorted({type(m).__name__ for m in block.modules() if "BatchNorm" in type(m).__name__})
        ['SingleValueSyncBatchNorm2d', 'SyncBatchNorm']
    """
    if not isinstance(module, nn.Module):
        raise TypeError(
            f"convert_sync_batchnorm expects an nn.Module, got {type(module).__name__}; pass the torch model, e.g. "
            "YOLO(...).model"
        )
    out = module
    if isinstance(module, (SingleValueBatchNorm2d, SingleValueSyncBatchNorm2d)):
        out = _sync_copy(module, SingleValueSyncBatchNorm2d, process_group)
    elif isinstance(module, _BatchNorm):
        out = _sync_copy(module, nn.SyncBatchNorm, process_group)
    for name, child in module.named_children():
        out.add_module(name, convert_sync_batchnorm(child, process_group))
    return out
