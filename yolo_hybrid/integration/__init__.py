"""Everything that touches Ultralytics internals lives in this package: one place to fix when Ultralytics changes.

Modules:
    version: the supported Ultralytics range and its guard.
    parser: teaching ``parse_model`` our blocks (AST patch, alias fallback) and naming the YAML layer in errors.
    batchnorm: Ultralytics' BatchNorm settings for our BatchNorm subclasses too (one convention per model).
    heads: task guessing ("classify") for YAMLs ending in one of our classification heads.
    configs: bare-name lookup of our bundled model YAMLs through ``ultralytics.utils.checks.check_file``.
    flops: FLOP-counter rules a registered block brings for operations thop cannot see (CoT's local aggregation).
    safe_load: allow-listing a registered block's classes for ``ULTRALYTICS_SAFE_LOAD`` / weights-only loading.
    register: the idempotent, thread-safe sequence of the above, binding every block of ``yolo_hybrid.registry``
        (ours and plugins') into ``ultralytics.nn.tasks``, now and whenever one is registered later.
"""
