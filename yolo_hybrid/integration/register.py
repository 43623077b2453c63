"""Registration of every yolo_hybrid block into Ultralytics: idempotent, thread-safe, safe on module reload.

Steps, in order: version guard; ``parse_model`` extended (see ``parser``); task guessing, BatchNorm convention and
bare-name config lookup patched; then every block of ``yolo_hybrid.registry`` (ours, plugins', users') bound into
``ultralytics.nn.tasks`` with its safe-load allow-list and FLOP rules, now and whenever one is registered later. The
report is stored on the wrapped ``parse_model`` itself, so a reloaded ``tasks`` module (fresh ``parse_model``) is
registered again while a repeated call on the same module is a no-op.

Names Ultralytics may take: if ``ultralytics.nn.tasks`` already defines the name of a block registered at import (ours,
or a plugin's), Ultralytics keeps it and that block alone is left out, with one RuntimeWarning per name saying what
the name builds now and the two ways to use ours: ``YOLO_HYBRID_OVERRIDE=BoT3`` (comma-separated YAML names, read
when registering, so set before Python starts) lets ours replace Ultralytics' class under the name, the only way ours
ever shadows a stock one (still with a warning); or ``register_block(cls, name=...)`` under a free name. A bundled
config naming a name Ultralytics kept is refused by the parser (``parser.check_taken_names``) rather than built with
Ultralytics' different module. ``registration_report()`` records ``shadowed``, ``overridden`` and
``override_unused``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import warnings

__all__ = ["OVERRIDE_ENV", "register", "register_into", "registration_report", "override_names"]

OVERRIDE_ENV = "YOLO_HYBRID_OVERRIDE"

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


def override_names() -> tuple[str, ...]:
    """The YAML names listed in ``YOLO_HYBRID_OVERRIDE`` (comma-separated, blanks ignored), in order, once each."""
    items = (item.strip() for item in os.environ.get(OVERRIDE_ENV, "").split(","))
    return tuple(dict.fromkeys(item for item in items if item))


def registration_report(tasks=None) -> dict | None:
    """The report of the registration into ``tasks`` (default: the imported ``ultralytics.nn.tasks``), or None.

    Besides ``strategy``, ``blocks`` (the names bound), ``ultralytics`` (its version), ``trigger`` and ``seconds``:
    ``shadowed`` (names Ultralytics defines and kept: ``{name: {"ours", "ultralytics", "source"}}``, our block left
    out), ``overridden`` (same shape: names where ours replaced Ultralytics' class, by ``YOLO_HYBRID_OVERRIDE``) and
    ``override_unused`` (``{name: why}`` for ``YOLO_HYBRID_OVERRIDE`` names that replaced nothing).
    """
    tasks = tasks if tasks is not None else sys.modules.get("ultralytics.nn.tasks")
    return getattr(getattr(tasks, "parse_model", None), "__yolo_hybrid__", None)


def register_into(tasks, trigger: str = "register()", strategy: str | None = None) -> dict:
    """Register our blocks into the given ``ultralytics.nn.tasks`` module (no-op if already done for it).

    Returns:
        (dict): ``{"strategy", "blocks", "ultralytics", "seconds", "trigger", "shadowed", "overridden",
        "override_unused", ...}`` (see ``registration_report``).

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

        report = {
            "blocks": [],
            "ultralytics": version,
            "trigger": trigger,
            "safe_globals": 0,
            "flop_rules": False,
            "shadowed": {},
            "overridden": {},
            "override_unused": {},
        }
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
        overrides = override_names()
        attacher = _Attacher(tasks, report, frozenset(overrides))
        registry.subscribe(attacher)
        registry.discover()
        attacher.rescan()  # plugin modules have finished executing now: helpers defined after a block count too
        _check_overrides(report, overrides)
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
    weights-only loading and adds its FLOP rules. ``report["blocks"]`` lists what it bound.

    A block registered at import (``entry.discovered``) whose name ``tasks`` already defines is refused with the
    full explanation (the registry drops it alone and warns with it), unless ``overrides`` names it: then ours
    replaces Ultralytics' class, with a warning. A user's own later ``register_block`` gets ``attach_block``'s
    ConfigError unchanged: they choose the name, so there is nothing to override.
    """

    def __init__(self, tasks, report: dict, overrides: frozenset = frozenset()):
        self.tasks, self.report, self.attached, self.overrides = tasks, report, {}, overrides

    def __call__(self, entry) -> None:
        from yolo_hybrid.errors import ConfigError
        from yolo_hybrid.integration import flops, parser, safe_load

        override = entry.discovered and entry.name in self.overrides
        try:
            replaced = parser.attach_block(self.tasks, entry, self.report["strategy"], self.attached, override)
        except parser.NameTakenError as error:
            if not entry.discovered:
                raise
            self.report["shadowed"][entry.name] = _collision(entry, error.existing)
            raise ConfigError(_kept_message(entry, error.existing, self.report["ultralytics"], override)) from None
        if replaced is not None:
            self.report["overridden"][entry.name] = _collision(entry, replaced)
            self.report["shadowed"].pop(entry.name, None)
            warnings.warn(_override_message(entry, replaced, self.report["ultralytics"]), RuntimeWarning, stacklevel=2)
        self.report["blocks"] = sorted(self.attached)
        self.report["safe_globals"] += len(safe_load.allow_in_safe_load(entry.cls))
        if entry.flops:
            self.report["flop_rules"] = flops.add_flop_rules(entry.flops)

    def rescan(self) -> None:
        from yolo_hybrid import registry
        from yolo_hybrid.integration import safe_load

        for entry in registry.registered_blocks().values():
            self.report["safe_globals"] += len(safe_load.allow_in_safe_load(entry.cls))


def _path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _collision(entry, existing) -> dict:
    """The report's record of a name both Ultralytics and a registered block want."""
    from yolo_hybrid.integration.parser import defined_as

    return {"ours": _path(entry.cls), "ultralytics": defined_as(existing), "source": entry.source}


def _kept_message(entry, existing, version: str, override_requested: bool) -> str:
    """The warning for a block left out because Ultralytics defines its name: what the name builds, how to pick ours."""
    from yolo_hybrid.integration import configs, parser

    name, ours, stock = entry.name, _path(entry.cls), parser.defined_as(existing)
    own = entry.source == "yolo_hybrid"
    whose = "yolo_hybrid's block" if own else f"the block registered by {entry.source},"
    text = (
        f"yolo_hybrid: {name!r} is already defined by Ultralytics {version} ({stock}), and is also the name of "
        f"{whose} {ours}. Ultralytics keeps the name: YAML rows naming {name!r} build {stock}, and {ours} is not "
        f"registered (every other block is)."
    )
    if own:
        using = configs.configs_using(name)
        shown = ", ".join(using[:3]) + (f", ... ({len(using)} in all)" if len(using) > 3 else "")
        if using:
            text += (
                f" yolo_hybrid's bundled configs naming it ({shown}) refuse to build rather than build Ultralytics' "
                f"module; option (a) makes them build."
            )
    module = entry.cls.__module__
    flops = ", flops=yolo_hybrid.nn.FLOP_RULES" if own and entry.flops else ""
    snippet = (
        f"import {module}; from yolo_hybrid import register_block; register_block({module}.{entry.cls.__qualname__}, "
        f"name='{name}X', kind='{entry.kind}'{flops})"
    )
    rename = (
        f"register it under a name of your own and use that name in your YAML (for a bundled config: a copy with "
        f"the rows renamed): {snippet}"
    )
    if override_requested:  # only a non-class global can refuse an override
        return (
            f"{text} {OVERRIDE_ENV} names {name!r}, but Ultralytics' {name!r} ({stock}) is not a module class, "
            f"which no block may replace. To use {ours}: {rename}."
        )
    return (
        f"{text} To use {ours} instead: (a) set {OVERRIDE_ENV}={name} in the environment before Python starts "
        f"(comma-separated for several names; read when ultralytics.nn.tasks is imported): it then replaces "
        f"Ultralytics' class under that name in every YAML, Ultralytics' own included; or (b) {rename}."
    )


def _override_message(entry, replaced, version: str) -> str:
    from yolo_hybrid.integration.parser import defined_as

    name = entry.name
    return (
        f"yolo_hybrid: {OVERRIDE_ENV} names {name!r}: {_path(entry.cls)} (registered by {entry.source}) replaced "
        f"Ultralytics' own {name!r} ({defined_as(replaced)}, ultralytics {version}) in ultralytics.nn.tasks. YAML "
        f"rows naming {name!r} now build {_path(entry.cls)}, in Ultralytics' own configs too; no YAML name builds "
        f"Ultralytics' class in this process. Remove {name!r} from {OVERRIDE_ENV} to give the name back to "
        "Ultralytics."
    )


def _check_overrides(report: dict, requested: tuple) -> None:
    """Warn (and record in ``report["override_unused"]``) for each ``YOLO_HYBRID_OVERRIDE`` name that replaced nothing.

    A warning, not an error: registration runs at Ultralytics' import and an unusable override must not cost the
    blocks; the warning says what the value does (nothing) and the fix.
    """
    from yolo_hybrid import registry
    from yolo_hybrid.errors import close_matches

    registered = registry.registered_blocks()
    ours = {n for n, e in registered.items() if e.discovered} | set(report["shadowed"])
    for name in requested:
        if name in report["overridden"] or name in report["shadowed"]:
            continue  # replaced, or refused with its own warning (a name no block may replace)
        if name in ours:
            why = (
                f"{OVERRIDE_ENV} names {name!r}, which Ultralytics {report['ultralytics']} does not define: nothing "
                f"is replaced ({_path(registered[name].cls)} is registered under its name as usual). Fix: remove "
                f"{name!r} from {OVERRIDE_ENV}; left there, it would let ours replace an Ultralytics {name!r} that "
                "a later release adds."
            )
        else:
            close = close_matches(name, sorted(ours), cutoff=0.6)
            hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
            yours = " (a block you register yourself chooses its own name)" if name in registered else ""
            why = (
                f"{OVERRIDE_ENV} names {name!r}, which is not a block registered at import by yolo_hybrid or a "
                f"plugin{yours}: it has no effect. Fix: {hint}{OVERRIDE_ENV} takes YAML block names, comma-separated "
                f"and case-sensitive (yolo_hybrid.registry.registered_blocks() lists them)."
            )
        report["override_unused"][name] = why
        warnings.warn(f"yolo_hybrid: {why}", RuntimeWarning, stacklevel=3)


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
