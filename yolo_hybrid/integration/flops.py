"""FLOP counting rules for operations Ultralytics' counter cannot see.

``model.info()`` counts with ``ultralytics-thop``: module rules (convs, norms, ...) plus functional matmul/einsum/SDPA.
Element-wise products are not counted, so the CoT layer's local aggregation (k^2 multiply-adds per output element)
would be missing. ``get_flops`` passes no ``custom_ops``, so the rule is added to thop's own module-rule table.
"""

from __future__ import annotations

__all__ = ["count_local_aggregation", "register_flop_rules"]


def count_local_aggregation(module, inputs, output) -> None:
    """k^2 multiply-accumulates per output element (thop counts MACs; Ultralytics reports 2 x MACs as FLOPs)."""
    module.total_ops += int(output.numel()) * module.kernel_size**2


def register_flop_rules() -> bool:
    """Add our rules to thop's table (idempotent). Returns False when thop is not installed."""
    import importlib

    try:
        thop_profile = importlib.import_module("thop.profile")  # the module: `from thop import profile` is a function
    except ImportError:
        return False
    from yolo_hybrid.nn.cot import LocalAggregation

    table = getattr(thop_profile, "register_hooks", None)
    if not isinstance(table, dict):
        return False
    table.setdefault(LocalAggregation, count_local_aggregation)
    return True
