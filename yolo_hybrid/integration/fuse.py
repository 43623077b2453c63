"""Ultralytics' ``fuse()`` also folds our blocks (``yolo_hybrid.nn.fold``): one call, as users and exporters make it.

``BaseModel.fuse`` is what ``YOLO.fuse()``, predictors (AutoBackend) and every exporter call before inference. It
only knows Ultralytics' modules, so it is wrapped (once) to call first the ``fuse()`` method of every module whose
class comes from yolo_hybrid or was registered with ``register_block`` (a user's block folds like ours), once per
module, then the original. A ``fuse`` that Ultralytics defines (a registered subclass of one of its modules) is left
to Ultralytics. A quantisation-aware model (``tasks.is_qat``, 8.4) keeps our blocks as trained, as Ultralytics keeps
its own merged branches: a fold would change the weight ranges its fake-quantisers learned.
"""

from __future__ import annotations

import functools

import torch.nn as nn

__all__ = ["fuse_blocks", "patch_fuse"]


def fuse_blocks(model: nn.Module) -> int:
    """Call ``fuse()`` once on every yolo_hybrid or registered module of ``model`` that has one; returns the count."""
    from yolo_hybrid.registry import live_blocks

    registered = {entry.cls for entry in live_blocks().values()}
    count = 0
    for module in model.modules():
        method = getattr(type(module), "fuse", None)
        if module is model or not callable(method) or module.__dict__.get("_yolo_hybrid_fused"):
            continue
        ours = type(module).__module__.startswith("yolo_hybrid.")
        if ours or (type(module) in registered and not getattr(method, "__module__", "").startswith("ultralytics.")):
            module.fuse()
            module.__dict__["_yolo_hybrid_fused"] = True
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
