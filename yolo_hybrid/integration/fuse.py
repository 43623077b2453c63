"""Ultralytics' ``fuse()`` also folds our blocks (``yolo_hybrid.nn.fold``): one call, as users and exporters make it.

``BaseModel.fuse`` is what ``YOLO.fuse()``, predictors (AutoBackend) and every exporter call before inference. It
only knows Ultralytics' modules, so it is wrapped (once) to call first the ``fuse()`` method of every module whose
class comes from yolo_hybrid, then the original. A quantisation-aware model (``tasks.is_qat``, 8.4) keeps our blocks
as trained, as Ultralytics keeps its own merged branches: a fold would change the weight ranges its fake-quantisers
learned.
"""

from __future__ import annotations

import functools

import torch.nn as nn

__all__ = ["fuse_blocks", "patch_fuse"]


def fuse_blocks(model: nn.Module) -> int:
    """Call ``fuse()`` on every yolo_hybrid module of ``model`` that has one; returns how many were called."""
    count = 0
    for module in model.modules():
        method = getattr(type(module), "fuse", None)
        if module is not model and callable(method) and type(module).__module__.startswith("yolo_hybrid."):
            module.fuse()
            count += 1
    return count


def patch_fuse(tasks) -> None:
    """Wrap ``tasks.BaseModel.fuse`` (once) so it runs ``fuse_blocks`` before Ultralytics' own folds."""
    base = getattr(tasks, "BaseModel", None)
    original = getattr(base, "fuse", None)
    if original is None or getattr(original, "__yolo_hybrid__", False):
        return
    is_qat = getattr(tasks, "is_qat", None)

    @functools.wraps(original)
    def fuse(self, *args, **kwargs):
        if not (is_qat is not None and is_qat(self)):
            fuse_blocks(self)
        return original(self, *args, **kwargs)

    fuse.__yolo_hybrid__ = True
    base.fuse = fuse
