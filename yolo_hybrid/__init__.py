"""yolo_hybrid: hybrid CNN-Transformer blocks for Ultralytics YOLO model YAMLs.

Importing this package (the installed start-up hook does it in every Python process) arranges for our blocks to be
registered into Ultralytics' model parser the moment ``ultralytics.nn.tasks`` is imported. The import itself stays
cheap: it touches neither torch nor Ultralytics. Block classes are reachable lazily as attributes
(``yolo_hybrid.BoT3``).

Examples:
    >>> import yolo_hybrid
    >>> from ultralytics import YOLO
    >>> model = YOLO("yolov8n-bot3.yaml")
"""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: importing this package stays torch-free
    import torch

__version__ = "0.2.0"

from yolo_hybrid import _autoload

__all__ = ["__version__", "register", "register_block", "config_path", "convert_sync_batchnorm", "YAML_BLOCKS"]

_autoload.install()


def register(strategy: "str | None" = None) -> dict:
    """Import Ultralytics and register every yolo_hybrid block into its model parser now.

    Idempotent and thread-safe. Needed only where ``.pth`` files are not processed (``python -S``, ``pip --target``
    installs); otherwise the start-up hook already does this.

    Args:
        strategy (str | None): ``"ast"``, ``"alias"`` or ``None``/``"auto"`` (AST patch, alias fallback).

    Returns:
        (dict): What was registered: ``{"strategy", "blocks", "ultralytics", "seconds"}``.
    """
    from yolo_hybrid.integration.register import register as _register

    return _register(strategy=strategy)


def register_block(
    cls: "type | None" = None, kind: "str | None" = None, name: "str | None" = None, flops: "dict | None" = None
):
    """Make an ``nn.Module`` usable by name in Ultralytics model YAMLs, treated like C3/C2f, Conv or Classify.

    Also a decorator (``@register_block`` or ``@register_block(kind="base")``). See ``yolo_hybrid.registry``: kinds,
    name collisions, and how plugins are discovered in every process (entry points, ``YOLO_HYBRID_BLOCKS``).

    Examples:
        >>> import torch.nn as nn
        >>> @register_block(kind="base")
        ... class Gate(nn.Module):
        ...     def __init__(self, c1, c2): ...
    """
    from yolo_hybrid.registry import register_block as _register_block

    return _register_block(cls, kind=kind, name=name, flops=flops)


def config_path(name: str):
    """Return the absolute path of a bundled model YAML (e.g. ``"yolov8-bot3.yaml"``), or raise FileNotFoundError."""
    from yolo_hybrid.integration.configs import config_path as _config_path

    return _config_path(name)


def convert_sync_batchnorm(
    module: "torch.nn.Module", process_group: "torch.distributed.ProcessGroup | None" = None
) -> "torch.nn.Module":
    """Turn a model's BatchNorms into SyncBatchNorms for multi-GPU training, keeping yolo_hybrid's single-value rule.

    Use it instead of ``torch.nn.SyncBatchNorm.convert_sync_batchnorm``: torch makes the ``SingleValueBatchNorm2d`` of
    CoT, CMT and the attention-pooling head plain ``SyncBatchNorm`` modules, which raise again on a training batch of
    one image in a single process. Ours become ``yolo_hybrid.nn.norm.SingleValueSyncBatchNorm2d``; every other
    BatchNorm becomes ``SyncBatchNorm`` as torch converts it. Parameters and running statistics are shared with the
    originals. Call it before wrapping the model in ``DistributedDataParallel``.

    Args:
        module (nn.Module): The model, e.g. ``YOLO("yolov8n-cot.yaml").model``; changed in place.
        process_group (torch.distributed.ProcessGroup | None): The group to synchronise over (None: the whole world).

    Returns:
        (nn.Module): ``module`` (a new norm when ``module`` itself is a BatchNorm).

    Examples:
        >>> from ultralytics import YOLO
        >>> model = convert_sync_batchnorm(YOLO("yolov8n-cot.yaml").model)
        >>> sorted({type(m).__name__ for m in model.modules() if "BatchNorm" in type(m).__name__})
        ['SingleValueSyncBatchNorm2d', 'SyncBatchNorm']
    """
    from yolo_hybrid.nn.norm import convert_sync_batchnorm as _convert

    return _convert(module, process_group)


def __getattr__(name: str):
    # Block classes import torch; resolve them only when asked for. Submodule names are left to the import system
    # (raising here lets ``import yolo_hybrid.nn`` fall back to sys.modules while that package is mid-import).
    if name.startswith("_") or name in ("nn", "integration", "data", "errors") or f"{__name__}.{name}" in sys.modules:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    blocks = import_module(f"{__name__}.nn")
    if hasattr(blocks, name):
        return getattr(blocks, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
