"""Allow our classes in weights-only checkpoint loading (``ULTRALYTICS_SAFE_LOAD=1``, ``torch.load(weights_only=True)``).

A checkpoint pickles every module class it contains by import path, helpers included (the attention inside a block,
not just the YAML-level block), so every ``nn.Module`` subclass defined in ``yolo_hybrid.nn`` is registered with
``torch.serialization.add_safe_globals`` -- ours only, nothing else.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import torch.nn as nn

__all__ = ["yolo_hybrid_module_classes", "allow_in_safe_load"]


def yolo_hybrid_module_classes() -> list[type]:
    """Every ``nn.Module`` subclass defined in a module of the ``yolo_hybrid.nn`` package, sorted by import path."""
    import yolo_hybrid.nn as package

    found = {}
    for info in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, nn.Module) and obj.__module__ == module.__name__:
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[key] for key in sorted(found)]


def allow_in_safe_load() -> list[type]:
    """Register our module classes as safe globals for weights-only loading; returns them (empty if unsupported)."""
    import torch.serialization as serialization

    classes = yolo_hybrid_module_classes()
    if hasattr(serialization, "add_safe_globals"):
        serialization.add_safe_globals(classes)
        return classes
    return []
