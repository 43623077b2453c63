"""Registration of every yolo_hybrid block into Ultralytics: idempotent, thread-safe, safe on module reload.

Steps, in order: version guard; ``parse_model`` extended (see ``parser``); task guessing, BatchNorm convention and
bare-name config lookup patched; then every block of ``yolo_hybrid.registry`` (ours, plugins', users') bound into
``ultralytics.nn.tasks`` with its safe-load allow-list and FLOP rules, now and whenever one is registered later. The
report is stored on the wrapped ``parse_model`` itself, so a reloaded ``tasks`` module (fresh ``parse_model``) is
registered again while a repeated call on the same module is a no-op.
"""

from __future__ import annotations

import os
import sys
import threading
import time

__all__ = ["register", "register_into", "registration_report"]

_lock = threading.RLock()


def _ultralytics_version() -> str:
    version = getattr(sys.modules.get("ultralytics"), "__version__", None)
    if version is None:
        from importlib.metadata import version as distribution_version

        version = distribution_version("ultralytics")
    return version


def _strategy(strategy: str | None) -> str:
    from yolo_hybrid.errors import ConfigError
    from yolo_hybrid.integration.parser import STRATEGIES

    chosen = (strategy or os.environ.get("YOLO_HYBRID_STRATEGY") or "auto").strip().lower()
    if chosen not in (*STRATEGIES, "auto"):
        raise ConfigError(f"unknown registration strategy {chosen!r}. Fix: use one of {[*STRATEGIES, 'auto']}.")
    return chosen


def registration_report(tasks=None) -> dict | None:
    """The report of the registration into ``tasks`` (default: the imported ``ultralytics.nn.tasks``), or None."""
    tasks = tasks if tasks is not None else sys.modules.get("ultralytics.nn.tasks")
    return getattr(getattr(tasks, "parse_model", None), "__yolo_hybrid__", None)


def register_into(tasks, trigger: str = "register()", strategy: str | None = None) -> dict:
    """Register our blocks into the given ``ultralytics.nn.tasks`` module (no-op if already done for it).

    Returns:
        (dict): ``{"strategy", "blocks", "ultralytics", "seconds", "trigger"}``.

    Raises:
        UnsupportedUltralyticsError: Unsupported version, or neither parser strategy applies.
    """
    chosen = _strategy(strategy)
    with _lock:
        done = registration_report(tasks)
        if done is not None:
            _check_same_strategy(done, strategy, chosen)
            return done
        start = time.perf_counter()
        from yolo_hybrid.errors import UnsupportedUltralyticsError
        from yolo_hybrid.integration.version import check_ultralytics_version

        version = _ultralytics_version()
        try:
            check_ultralytics_version(version)
        except UnsupportedUltralyticsError as error:
            _explain_later(tasks, str(error))
            raise

        from yolo_hybrid import registry
        from yolo_hybrid.integration import batchnorm, configs, export, fuse, heads, parser

        report = {"blocks": [], "ultralytics": version, "trigger": trigger, "safe_globals": 0, "flop_rules": False}
        try:
            parser.extend_parse_model(tasks, chosen, report, registry.live_blocks())
        except UnsupportedUltralyticsError as error:
            _explain_later(tasks, f"ultralytics {version}: {error}")
            raise UnsupportedUltralyticsError(f"ultralytics {version}: {error}") from error
        heads.patch_guess_model_task(
            tasks,
            lambda: frozenset(n for n, e in registry.live_blocks().items() if e.kind == "head"),
            check=lambda d: parser.check_requirement(d, version),
        )
        batchnorm.patch_initialize_weights(tasks)
        fuse.patch_fuse(tasks)
        export.add_export_probe()
        import ultralytics.utils.checks as checks  # already imported by tasks itself

        configs.patch_check_file(checks)
        attacher = _Attacher(tasks, report)
        registry.subscribe(attacher)
        registry.discover()
        attacher.rescan()  # plugin modules have finished executing now: helpers defined after a block count too
        report["seconds"] = time.perf_counter() - start
        if os.environ.get("YOLO_HYBRID_DEBUG"):
            print(
                f"[yolo_hybrid] registered {report['blocks']} via {report['strategy']} "
                f"({trigger}) in {report['seconds'] * 1e3:.1f} ms",
                file=sys.stderr,
            )
        return report


class _Attacher:
    """Registry listener for one ``tasks`` module: binds each registered block into it, allow-lists its classes for
    weights-only loading and adds its FLOP rules. ``report["blocks"]`` lists what it bound."""

    def __init__(self, tasks, report: dict):
        self.tasks, self.report, self.attached = tasks, report, {}

    def __call__(self, entry) -> None:
        from yolo_hybrid.integration import flops, parser, safe_load

        parser.attach_block(self.tasks, entry, self.report["strategy"], self.attached)
        self.report["blocks"] = sorted(self.attached)
        self.report["safe_globals"] += len(safe_load.allow_in_safe_load(entry.cls))
        if entry.flops:
            self.report["flop_rules"] = flops.add_flop_rules(entry.flops)

    def rescan(self) -> None:
        from yolo_hybrid import registry
        from yolo_hybrid.integration import safe_load

        for entry in registry.registered_blocks().values():
            self.report["safe_globals"] += len(safe_load.allow_in_safe_load(entry.cls))


def _check_same_strategy(done: dict, requested: str | None, chosen: str) -> None:
    """An explicit strategy that differs from the one registered cannot take effect: say so instead of ignoring it."""
    from yolo_hybrid.errors import ConfigError

    if requested is not None and chosen != "auto" and chosen != done.get("strategy"):
        raise ConfigError(
            f"yolo_hybrid is already registered into this Ultralytics with strategy {done.get('strategy')!r} (by "
            f"{done.get('trigger')}); strategy={requested!r} cannot take effect in this process. Fix: set "
            f"YOLO_HYBRID_STRATEGY={chosen} in the environment before Python starts."
        )


def _explain_later(tasks, reason: str) -> None:
    """Registration failed: YAML rows and bare config names of ours should repeat ``reason`` where they fail."""
    try:
        import ultralytics.utils.checks as checks

        from yolo_hybrid import registry
        from yolo_hybrid.integration import configs, parser
        from yolo_hybrid.nn import YAML_BLOCKS

        parser.explain_unregistered(tasks, frozenset(YAML_BLOCKS) | frozenset(registry.live_blocks()), reason)
        configs.patch_check_file(checks)
    except Exception:  # best effort: the original error is what the caller sees first
        pass


def register(strategy: str | None = None) -> dict:
    """Import ``ultralytics.nn.tasks`` and register into it; see ``yolo_hybrid.register``."""
    from yolo_hybrid.errors import UnsupportedUltralyticsError

    try:
        import ultralytics.nn.tasks as tasks
    except ImportError as error:
        raise UnsupportedUltralyticsError(
            f"Ultralytics cannot be imported ({error}). Fix: pip install 'ultralytics{_supported()}'."
        ) from error
    return register_into(tasks, trigger="register()", strategy=strategy)


def _supported() -> str:
    from yolo_hybrid.integration.version import SUPPORTED_ULTRALYTICS

    return SUPPORTED_ULTRALYTICS
