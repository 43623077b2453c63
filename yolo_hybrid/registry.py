"""The public block registry: any ``nn.Module`` usable by name in an Ultralytics model YAML, ours and yours alike.

``register_block`` records a class and the parser treatment it needs (``kind``); every ``ultralytics.nn.tasks`` that
yolo_hybrid has registered into learns it at once, and one imported later learns it on import. Our own families go
through the same function (``discover`` registers ``yolo_hybrid.nn.YAML_BLOCKS`` first), so a user block gets exactly
what ours get: width/``max_channels``/depth scaling, errors naming the YAML file and layer, the argument checks of its
``yaml_spec`` (see ``yolo_hybrid.spec``), safe-load allow-listing and FLOP rules.

Discovery (``discover``, run once per process when Ultralytics' ``tasks`` is first imported, never at interpreter
start) imports, in order: ``yolo_hybrid.nn``; every module named by an entry point of the group ``yolo_hybrid.blocks``
(how an installed package plugs in: the stock ``yolo`` CLI and DDP workers see its blocks with no import anywhere);
every module or ``.py`` file listed in ``YOLO_HYBRID_BLOCKS`` (comma-separated; how a local module plugs in). A plugin
that fails to import is reported with a warning and skipped: it never breaks Ultralytics' import or ours. A block
registered during discovery that a listener refuses (its name is one ``ultralytics.nn.tasks`` defines) is dropped
alone, with the listener's warning: the other blocks, ours and plugins', still register.

This module imports only the standard library; torch and Ultralytics are touched when a block is registered.

Examples:
    >>> import torch.nn as nn
    >>> from yolo_hybrid import register_block
    >>> @register_block(kind="base")
    ... class Gate(nn.Module):
    ...     def __init__(self, c1, c2):
    ...         super().__init__()
    ...         self.proj = nn.Conv2d(c1, c2, 1)
    ...     def forward(self, x):
    ...         return self.proj(x) * self.proj(x).sigmoid()
    >>> # YAML row: [-1, 1, Gate, [256]]  -> Gate(c1, int(256 * width) capped by max_channels)
"""

from __future__ import annotations

import inspect
import os
import sys
import threading
import warnings
from collections.abc import Callable, Mapping
from types import MappingProxyType

__all__ = [
    "KINDS",
    "ENTRY_POINT_GROUP",
    "MODULES_ENV",
    "BlockEntry",
    "register_block",
    "registered_blocks",
    "declined_blocks",
    "live_blocks",
    "subscribe",
    "discover",
]

KINDS = ("repeat", "base", "head")
ENTRY_POINT_GROUP = "yolo_hybrid.blocks"
MODULES_ENV = "YOLO_HYBRID_BLOCKS"
# How the parser builds each kind: the call a class must accept.
_CALLS = {
    "repeat": ("(c1, c2, n, *args)", 3),
    "base": ("(c1, c2, *args)", 2),
    "head": ("(c1, nc, *args)", 2),
}

_lock = threading.RLock()
_entries: dict[str, BlockEntry] = {}
_listeners: list[Callable[[BlockEntry], None]] = []
_discovered = False
_discovering = False  # inside discover(): a refused block is dropped with a warning instead of raising
_declined: dict[str, BlockEntry] = {}  # discovery blocks a listener refused, offered again to later listeners
_source = threading.local()  # who is registering right now (a plugin being loaded), for messages


class BlockEntry:
    """One registered YAML name.

    Attributes:
        name (str): The name YAML rows use.
        cls (type): The ``nn.Module`` subclass built for it.
        kind (str): ``"repeat"`` (built like C3/C2f), ``"base"`` (like Conv) or ``"head"`` (like Classify).
        flops (dict): ``{module class: thop rule}`` for operations thop cannot count inside the block.
        source (str): Who registered it (``"yolo_hybrid"``, ``"entry point cbam (yolo-cbam 0.1)"``, ...).
        discovered (bool): Registered by ``discover`` (ours, or a plugin's at import), not by a user's own call
            afterwards: only these may take a name ``ultralytics.nn.tasks`` defines, and only when the user says so
            (``YOLO_HYBRID_OVERRIDE``, see ``yolo_hybrid.integration.register``).
    """

    __slots__ = ("name", "cls", "kind", "flops", "source", "discovered")

    def __init__(self, name: str, cls: type, kind: str, flops: dict, source: str, discovered: bool = False):
        self.name, self.cls, self.kind, self.flops, self.source = name, cls, kind, flops, source
        self.discovered = discovered

    @property
    def spec(self):
        """The class's own ``yaml_spec`` (argument checks, docs table row), or None."""
        spec = getattr(self.cls, "yaml_spec", None)
        return spec if getattr(spec, "cls", None) is self.cls else None

    def __repr__(self) -> str:
        return f"BlockEntry({self.name!r}, {_path(self.cls)}, kind={self.kind!r}, source={self.source!r})"


def _path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _check_class(cls, kind: str | None, name: str | None) -> tuple[str, str]:
    """(name, kind) for ``cls``, or TypeError/ValueError saying what is wrong and how to fix it."""
    import torch.nn as nn

    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise TypeError(f"register_block: {cls!r} is not a torch.nn.Module subclass. Fix: register the block's class.")
    spec = getattr(cls, "yaml_spec", None)
    declared = spec.kind if getattr(spec, "cls", None) is cls else None
    kind = kind if kind is not None else declared or "repeat"
    if kind not in KINDS:
        raise ValueError(f"register_block({cls.__name__}): kind={kind!r} must be one of {KINDS}.")
    if declared is not None and kind != declared:
        raise ValueError(
            f"register_block({cls.__name__}): kind={kind!r} contradicts its @yaml_block kind {declared!r}. "
            "Fix: drop kind= (the yaml_block declaration decides)."
        )
    name = cls.__name__ if name is None else name
    if not (isinstance(name, str) and name.isidentifier()):
        raise ValueError(
            f"register_block({cls.__name__}): name={name!r} must be a Python identifier (YAML rows use it)."
        )
    call, count = _CALLS[kind]
    try:
        inspect.signature(cls.__init__).bind(None, *range(1, count + 1))
    except TypeError as error:
        raise TypeError(
            f"register_block({cls.__name__}, kind={kind!r}): Ultralytics builds it as {cls.__name__}{call}, which its "
            f"__init__ does not accept ({error}). Fix: give __init__ that signature, or choose the kind that matches."
        ) from None
    return name, kind


def _check_flops(cls: type, flops) -> dict:
    if flops is None:
        return {}
    if not isinstance(flops, dict) or not all(isinstance(k, type) and callable(v) for k, v in flops.items()):
        raise TypeError(
            f"register_block({cls.__name__}): flops must be a dict {{module class: thop rule(module, inputs, output)}}."
        )
    return dict(flops)


def _collision(entry: BlockEntry, existing: BlockEntry) -> str | None:
    """Why ``entry`` cannot take ``existing``'s name, or None if registering it again is harmless."""
    if existing.cls is entry.cls:
        if existing.kind != entry.kind:
            return f"{entry.name!r} is already registered with kind={existing.kind!r}, not {entry.kind!r}"
        return None
    if _path(existing.cls) == _path(entry.cls):
        return None  # the same definition, re-executed (a reloaded module): the new class replaces the old one
    return f"{entry.name!r} is already registered to {_path(existing.cls)} (by {existing.source})"


def register_block(
    cls: type | None = None, kind: str | None = None, name: str | None = None, flops: dict | None = None
):
    """Make ``cls`` usable by name in Ultralytics model YAMLs, with the parser treatment of a stock block.

    Usable as a function, a bare decorator (``@register_block``) or a decorator with options
    (``@register_block(kind="base")``). Registering the same class again is a no-op; another class under a taken name
    (ours, another plugin's, or a name ``ultralytics.nn.tasks`` defines) is a ConfigError. Exception: while
    ``discover`` runs (our blocks, plugins loaded at import), a name ``ultralytics.nn.tasks`` defines is not an
    error: that block alone is dropped with a RuntimeWarning saying how to use it, so one clash cannot cost the others.

    Args:
        cls (type | None): The ``nn.Module`` subclass.
        kind (str | None): How ``parse_model`` builds it. ``"repeat"``: like C3/C2f, ``cls(c1, c2, n, *args)`` with c2
            width-scaled and capped by ``max_channels`` and ``n`` depth-scaled. ``"base"``: like Conv,
            ``cls(c1, c2, *args)``. ``"head"``: like Classify, ``cls(c1, nc, *args)``, nc not width-scaled.
            Default: the class's ``@yaml_block`` kind, else ``"repeat"``.
        name (str | None): The YAML name (default: the class name).
        flops (dict | None): ``{module class: rule}`` added to thop's table for what it cannot count (a rule is
            ``rule(module, inputs, output)`` adding multiply-accumulates to ``module.total_ops``).

    Returns:
        (type | Callable): ``cls`` itself, or a decorator when called without it.

    Raises:
        ConfigError: The name is taken by another class.
        TypeError | ValueError: The class, kind, name or flops are unusable (message says why and the fix).
    """
    if cls is None:
        return lambda target: register_block(target, kind=kind, name=name, flops=flops)
    name, kind = _check_class(cls, kind, name)
    source = getattr(_source, "name", None) or "register_block"
    entry = BlockEntry(name, cls, kind, _check_flops(cls, flops), source)
    _ensure_ultralytics_hooked()
    from yolo_hybrid.errors import ConfigError

    with _lock:
        entry.discovered = _discovering
        existing = _entries.get(name)
        if existing is not None:
            problem = _collision(entry, existing)
            if problem:
                raise ConfigError(
                    f"register_block({_path(cls)}): {problem}. Fix: register it under another name, "
                    f"e.g. register_block({cls.__name__}, name='{cls.__name__}2'), and use that name in the YAML."
                )
            if existing.cls is cls:
                return cls
        _entries[name] = entry
        try:
            for listener in list(_listeners):
                listener(entry)
        except BaseException as error:
            if existing is None:
                del _entries[name]
            else:
                _entries[name] = existing
            if not (entry.discovered and isinstance(error, ConfigError)):
                raise
            # Discovery registers many blocks in one go, at Ultralytics' import: one refused name must not abort the
            # rest (the listener's message says what the user can do about it).
            _declined[name] = entry
            warnings.warn(str(error), RuntimeWarning, stacklevel=2)
    return cls


def _ensure_ultralytics_hooked() -> None:
    """Import ``ultralytics.nn.tasks`` (which registers into it) so a clash with a stock name is reported right here.

    A block is registered in order to be used by Ultralytics, so the import is not wasted. Without a usable
    Ultralytics the block is only recorded; registration then happens when (if) tasks is imported.
    """
    if "ultralytics.nn.tasks" in sys.modules:
        return
    import importlib

    try:
        importlib.import_module("ultralytics.nn.tasks")
    except Exception:  # reported by the start-up hook or by the user's own Ultralytics import
        pass


def registered_blocks() -> dict[str, BlockEntry]:
    """Every registered YAML name and its entry (a copy), in registration order."""
    with _lock:
        return dict(_entries)


def declined_blocks() -> dict[str, BlockEntry]:
    """Blocks registered during discovery that were dropped because a listener refused their name (a copy)."""
    with _lock:
        return dict(_declined)


def live_blocks() -> Mapping[str, BlockEntry]:
    """A read-only view of the registry that follows later registrations (the parser reads it at every call)."""
    return MappingProxyType(_entries)


def subscribe(listener: Callable[[BlockEntry], None]) -> None:
    """Call ``listener(entry)`` for every block registered so far and every one registered later.

    Used by the integration layer: one listener per ``ultralytics.nn.tasks`` module registered into. If it refuses an
    existing entry (a name Ultralytics defines), that entry is dropped with a warning, the others still go through;
    for a later entry, the registration is undone and the error raised to the caller of ``register_block`` (a
    discovery entry is dropped with the warning instead, see ``register_block``). Entries dropped that way during
    discovery are offered to a new listener too (a reloaded ``tasks`` module): it records and reports them again, and
    takes them back if it accepts them.
    """
    from yolo_hybrid.errors import ConfigError

    with _lock:
        for entry in list(_entries.values()):
            try:
                listener(entry)
            except ConfigError as error:
                del _entries[entry.name]
                if entry.discovered:  # the listener's message is complete (what the name builds, how to pick)
                    _declined[entry.name] = entry
                    warnings.warn(str(error), RuntimeWarning, stacklevel=2)
                else:
                    warnings.warn(
                        f"yolo_hybrid: block {entry.name!r} ({entry.source}) dropped: {error}",
                        RuntimeWarning,
                        stacklevel=2,
                    )
        for entry in list(_declined.values()):
            if entry.name in _entries:
                continue  # the name was registered again since, by a later call
            try:
                listener(entry)
            except ConfigError as error:
                warnings.warn(str(error), RuntimeWarning, stacklevel=2)
            else:
                _entries[entry.name] = _declined.pop(entry.name)
        _listeners.append(listener)


def discover() -> None:
    """Register our blocks, then every plugin's (entry points, then ``YOLO_HYBRID_BLOCKS``); once per process.

    Raises:
        Exception: Only if our own blocks cannot be imported; plugins' failures are warnings.
    """
    global _discovered, _discovering
    with _lock:
        if _discovered:
            return
        _discovered = True
        from yolo_hybrid.nn import FLOP_RULES, YAML_BLOCKS

        _discovering = True  # read under _lock, which this thread holds throughout: no other registration interleaves
        try:
            with _registering_as("yolo_hybrid"):
                for cls, kind in YAML_BLOCKS.values():
                    register_block(cls, kind=kind, flops=FLOP_RULES)
            for entry_point in _entry_points():
                dist = getattr(getattr(entry_point, "dist", None), "name", None)
                label = f"entry point {entry_point.name!r} = {entry_point.value!r}" + (f" of {dist}" if dist else "")
                _load_plugin(label, entry_point.load)
            for item in _env_modules():
                _load_plugin(f"{MODULES_ENV} entry {item!r}", lambda item=item: _import_module_or_file(item))
        finally:
            _discovering = False


class _registering_as:
    """Context: blocks registered meanwhile are attributed to ``label`` in messages."""

    def __init__(self, label: str):
        self.label = label

    def __enter__(self):
        self.previous = getattr(_source, "name", None)
        _source.name = self.label

    def __exit__(self, *exc):
        _source.name = self.previous


def _entry_points() -> list:
    from importlib.metadata import entry_points

    try:
        found = entry_points(group=ENTRY_POINT_GROUP)
    except TypeError:  # Python < 3.10: a dict of groups
        found = entry_points().get(ENTRY_POINT_GROUP, ())
    return sorted(found, key=lambda ep: ep.name)


def _env_modules() -> list[str]:
    return [item.strip() for item in os.environ.get(MODULES_ENV, "").split(",") if item.strip()]


def _import_module_or_file(item: str):
    """Import ``item``: a dotted module name, or a ``.py`` file (imported under its stem, so pickles can name it)."""
    import importlib

    if not item.endswith(".py"):
        return importlib.import_module(item)
    import importlib.util
    from pathlib import Path

    path = Path(item).expanduser().resolve()
    name = path.stem
    loaded = sys.modules.get(name)
    if loaded is not None and Path(getattr(loaded, "__file__", "") or "").resolve() == path:
        return loaded
    if loaded is not None:
        raise ImportError(f"a different module named {name!r} is already imported ({loaded!r}); rename {path.name}")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None or not path.is_file():
        raise ImportError(f"no Python file at {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _load_plugin(label: str, load: Callable[[], object]) -> None:
    """Import one plugin module (its ``register_block`` calls do the registering); any failure only warns."""
    try:
        with _registering_as(label):
            loaded = load()
        if not inspect.ismodule(loaded):
            raise TypeError(
                f"it names {loaded!r}, not a module. Fix: point the entry point at the module whose import calls "
                "register_block, e.g. my_pkg.blocks"
            )
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # a plugin must never break Ultralytics' import or ours, not even with SystemExit
        warnings.warn(
            f"yolo_hybrid: plugin {label} was not loaded, its blocks are unavailable: {type(error).__name__}: {error}",
            RuntimeWarning,
            stacklevel=2,
        )
