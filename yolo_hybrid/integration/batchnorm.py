"""One BatchNorm convention per model: Ultralytics' own, for our BatchNorm subclasses too.

Ultralytics' ``initialize_weights`` (run when a detection, segmentation, pose or OBB model is built) sets
``eps``/``momentum`` on modules whose type *is* ``nn.BatchNorm2d`` (1e-3 / 0.03 in 8.1-8.4). Subclasses such as our
``SingleValueBatchNorm2d`` (CoT's fusion, CMT's reduction, the attention-pooling head) would keep PyTorch's
1e-5 / 0.1 beside them. ``tasks.initialize_weights`` is wrapped so they get whatever the installed version gives a
plain ``nn.BatchNorm2d`` (read from a probe, not hard-coded). Classification models, which Ultralytics does not
initialise, keep PyTorch's defaults everywhere: also one convention.
"""

from __future__ import annotations

import functools

import torch.nn as nn

__all__ = ["patch_initialize_weights"]


def _stock_settings(initialize_weights) -> dict:
    """The BN attributes Ultralytics' ``initialize_weights`` leaves on a plain BatchNorm2d."""
    probe = nn.BatchNorm2d(1)
    initialize_weights(nn.Sequential(probe))
    return {"eps": probe.eps, "momentum": probe.momentum}


def patch_initialize_weights(tasks) -> None:
    """Wrap ``tasks.initialize_weights`` (once) so BatchNorm subclasses from yolo_hybrid follow the plain ones."""
    original = getattr(tasks, "initialize_weights", None)
    if original is None or getattr(original, "__yolo_hybrid__", False):
        return
    settings = _stock_settings(original)

    @functools.wraps(original)
    def initialize_weights(model):
        original(model)
        for module in model.modules():
            if (
                isinstance(module, nn.modules.batchnorm._BatchNorm)
                and type(module) is not nn.BatchNorm2d
                and type(module).__module__.startswith("yolo_hybrid.")
            ):
                for name, value in settings.items():
                    setattr(module, name, value)

    initialize_weights.__yolo_hybrid__ = True
    tasks.initialize_weights = initialize_weights
