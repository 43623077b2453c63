"""Task guessing for models whose last layer is one of our classification heads.

Ultralytics guesses a YAML model's task from the lower-cased name of its last head module and accepts only
``classify``, ``classifier``, ``cls`` and ``fc`` for classification, so ``AttnPoolClassify`` would be taken for a
detector. ``guess_model_task`` is wrapped (in ``ultralytics.nn.tasks`` and wherever it was already imported by name)
to answer ``classify`` for such YAMLs; built models are recognised by Ultralytics itself (our heads subclass Classify).
"""

from __future__ import annotations

import functools
import sys

__all__ = ["patch_guess_model_task"]


def patch_guess_model_task(tasks, head_names, check=None) -> None:
    """Wrap ``tasks.guess_model_task`` (once) so YAML dicts ending in one of ``head_names()`` are ``classify``.

    ``head_names`` is called at every guess: heads registered later count too. ``check(d)``, if given, runs first on
    every YAML dict: guessing is the first thing ``YOLO("x.yaml")`` does with it, before ``parse_model`` (an older
    release guesses no task from YOLO26's ``Segment26`` and fails with "'YOLO' model does not support '_new' mode
    for 'None' task" unless the dict's requirement is reported here).
    """
    original = tasks.guess_model_task
    if getattr(original, "__yolo_hybrid__", False):
        return

    @functools.wraps(original)
    def guess_model_task(model):
        if isinstance(model, dict):
            if check is not None:
                check(model)
            try:
                if model["head"][-1][-2] in head_names():
                    return "classify"
            except (KeyError, IndexError, TypeError):
                pass
        return original(model)

    guess_model_task.__yolo_hybrid__ = True
    tasks.guess_model_task = guess_model_task
    for name in ("ultralytics.nn", "ultralytics.engine.model"):  # modules that imported it by name already
        module = sys.modules.get(name)
        if module is not None and getattr(module, "guess_model_task", None) is original:
            module.guess_model_task = guess_model_task
