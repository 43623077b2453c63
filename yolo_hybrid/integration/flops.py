"""FLOP counting rules for operations Ultralytics' counter cannot see.

``model.info()`` counts with ``ultralytics-thop``: module rules (convs, norms, ...) plus functional matmul/einsum/SDPA.
Element-wise products are not counted (CoT's local aggregation: k^2 multiply-adds per output element), so a registered
block may bring rules for its inner modules (``register_block(..., flops={Module: rule})``). ``get_flops`` passes no
``custom_ops``, so the rules go into thop's own module-rule table.
"""

from __future__ import annotations

import importlib

__all__ = ["add_flop_rules"]


def add_flop_rules(rules: dict) -> bool:
    """Add ``{module class: rule}`` to thop's table (an existing rule for a class is kept). False without thop."""
    try:
        thop_profile = importlib.import_module("thop.profile")  # the module: `from thop import profile` is a function
    except ImportError:
        return False
    table = getattr(thop_profile, "register_hooks", None)
    if not isinstance(table, dict):
        return False
    for module_class, rule in rules.items():
        table.setdefault(module_class, rule)
    return True
