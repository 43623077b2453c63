"""Allow registered blocks in weights-only checkpoint loading (``ULTRALYTICS_SAFE_LOAD=1``, ``weights_only=True``).

A checkpoint pickles every module class it contains by import path, helpers included (the attention inside a block,
not just the YAML-level block). For each registered block we allow-list every ``nn.Module`` subclass defined in the
block's package (the modules already imported under the package holding the block's module; just the module itself
for a top-level one): its helpers live there. Classes from torch and Ultralytics are Ultralytics' own business.
"""

from __future__ import annotations

import inspect
import sys

import torch.nn as nn

__all__ = ["package_module_classes", "yolo_hybrid_module_classes", "allow_in_safe_load"]

_allowed: set = set()
# (package, its imported modules and their sizes) -> classes: our 13 blocks share one scan; a module still executing
# (a plugin registering its blocks one by one at import) grows, so it is scanned again.
_scanned: dict = {}


def package_module_classes(cls: type) -> list[type]:
    """Every ``nn.Module`` subclass defined in an imported module of ``cls``'s package, sorted by import path."""
    module_name = cls.__module__
    package = module_name.rpartition(".")[0]
    modules = [
        module
        for name, module in list(sys.modules.items())
        if module is not None and (name == module_name or package and name.startswith(package + "."))
    ]
    key = (package or module_name, tuple(sorted((m.__name__, len(vars(m))) for m in modules)))
    if key not in _scanned:
        _scanned[key] = _module_classes(modules)
    return list(_scanned[key])


def _module_classes(modules) -> list[type]:
    found = {}
    for module in modules:
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, nn.Module) and obj.__module__ == module.__name__:
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[key] for key in sorted(found)]


def yolo_hybrid_module_classes() -> list[type]:
    """Every ``nn.Module`` subclass defined in ``yolo_hybrid.nn`` (what our own blocks allow-list)."""
    from yolo_hybrid.nn import BoT3

    return package_module_classes(BoT3)


def allow_in_safe_load(cls: type) -> list[type]:
    """Register ``cls``'s package classes as safe globals for weights-only loading; returns the ones not registered
    before ([] if this torch has no weights-only allow-list)."""
    import torch.serialization as serialization

    if not hasattr(serialization, "add_safe_globals"):
        return []
    # cls itself explicitly: a decorator runs before its class is bound in the module, so no scan can see it yet.
    classes = [c for c in dict.fromkeys([cls, *package_module_classes(cls)]) if c not in _allowed]
    if classes:
        serialization.add_safe_globals(classes)
        _allowed.update(classes)
    return classes
