"""Teach Ultralytics' ``parse_model`` our blocks, with the same channel/width/depth treatment stock blocks get.

``parse_model`` resolves a YAML module name through ``ultralytics.nn.tasks`` globals and applies channel scaling only
to classes in two local collections (``base_modules``: c1/c2 from the channel list, c2 width-scaled and capped by
``max_channels``; ``repeat_modules``: the depth-scaled ``n`` inserted as third argument). Those collections are
rebuilt on every call, so nothing can be added to them from outside. Two strategies:

* ``ast`` (preferred): re-compile ``parse_model`` from its own source with ``*_yolo_hybrid_base_modules`` /
  ``*_yolo_hybrid_repeat_modules`` appended to the two collections; line numbers and file name are kept, so
  tracebacks still point into Ultralytics' file. Needs the ``.py`` source and exactly one collection holding
  ``C3, C2f, Conv`` and one holding ``C3, C2f`` without ``Conv`` (true from 8.0 to 8.4).
* ``alias`` (fallback, needs no source): bind each YAML name to a stand-in class that hashes and compares equal to
  ``C3`` (repeat blocks) or ``Conv`` (base blocks) and builds the real class when called. Identity checks
  (``m is C3k2``) stay false; built modules are instances of the real class, so checkpoints never see the stand-in.

Either way ``parse_model`` is finally wrapped so any error raised while building one of our blocks names the YAML
file, the layer index and the row.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import inspect
import marshal
import os
import re
import sys
import textwrap
from pathlib import Path

import torch.nn as nn

from yolo_hybrid.errors import ConfigError, UnsupportedUltralyticsError, YoloHybridError, close_matches
from yolo_hybrid.integration.version import parse_version

__all__ = [
    "BASE_GLOBAL",
    "REPEAT_GLOBAL",
    "HEAD_GLOBAL",
    "STRATEGIES",
    "UnknownModuleError",
    "extend_parse_model",
    "attach_block",
    "NameTakenError",
    "check_taken_names",
    "explain_unregistered",
    "ast_patched_parse_model",
    "make_alias",
]

BASE_GLOBAL = "_yolo_hybrid_base_modules"
REPEAT_GLOBAL = "_yolo_hybrid_repeat_modules"
HEAD_GLOBAL = "_yolo_hybrid_head_modules"
STRATEGIES = ("ast", "alias")
MARKER = "__yolo_hybrid__"
UNREGISTERED_MARKER = "__yolo_hybrid_unregistered__"


class UnknownModuleError(ConfigError, KeyError):
    """A YAML row names a module that neither Ultralytics nor yolo_hybrid defines (a KeyError, as the parser's own)."""

    def __str__(self) -> str:  # KeyError would print the message's repr
        return str(self.args[0]) if self.args else ""


class _PatchError(Exception):
    """The AST strategy does not apply to this parse_model (source missing or of an unexpected shape)."""


def _located(node: ast.AST, like: ast.AST) -> ast.AST:
    """``node`` and its children with ``like``'s source location (cheaper than a whole-tree fix_missing_locations)."""
    for child in ast.walk(node):
        ast.copy_location(child, like)
    return node


def _starred(name: str, like: ast.AST) -> ast.Starred:
    return _located(ast.Starred(value=ast.Name(id=name, ctx=ast.Load()), ctx=ast.Load()), like)


def _is_not_classify(node: ast.AST) -> bool:
    """``m is not Classify`` (8.4 guards the width scaling of c2 with it)."""
    return (
        isinstance(node, ast.Compare)
        and isinstance(node.left, ast.Name)
        and node.left.id == "m"
        and len(node.ops) == 1
        and isinstance(node.ops[0], ast.IsNot)
        and isinstance(node.comparators[0], ast.Name)
        and node.comparators[0].id == "Classify"
    )


def _source_lines(function) -> tuple[list[str], int]:
    """The source lines of ``function`` and its first line number.

    From the code object's own positions (Python 3.11+: the last line any instruction covers) when possible:
    ``inspect.getsourcelines`` tokenizes the whole function, a third of the registration time when bytecode is not
    cached.
    """
    code = function.__code__
    positions = getattr(code, "co_positions", None)
    if positions is not None:
        import linecache

        last = max((end for _, end, _, _ in positions() if end is not None), default=0)
        all_lines = linecache.getlines(code.co_filename)
        first = code.co_firstlineno
        if 0 < first <= last <= len(all_lines) and all_lines[first - 1].lstrip().startswith("def "):
            return all_lines[first - 1 : last], first
    try:
        return inspect.getsourcelines(function)
    except (OSError, TypeError) as error:
        raise _PatchError(f"source of parse_model unavailable ({error})") from error


def patched_code(parse_model, tasks):
    """Code of a module body defining ``parse_model`` with our globals spliced into its base and repeat collections
    (and ``m is not Classify`` widened to our heads).

    Raises:
        _PatchError: If the source cannot be read or does not have exactly one base and one repeat collection.
    """
    lines, first_line = _source_lines(parse_model)
    # Leading newlines keep Ultralytics' line numbers without a pass over the tree (tracebacks point into its file).
    tree = ast.parse("\n" * (first_line - 1) + textwrap.dedent("".join(lines)))
    base, repeat, classify = [], [], []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Set, ast.Tuple)):
            names = {elt.id for elt in node.elts if isinstance(elt, ast.Name)}
            if {"C3", "C2f", "Conv"} <= names:
                base.append(node)
            elif {"C3", "C2f"} <= names:
                repeat.append(node)
        elif _is_not_classify(node):
            classify.append(node)
    if len(base) != 1 or len(repeat) != 1:
        raise _PatchError(
            f"expected 1 base and 1 repeat collection in parse_model, found {len(base)} and {len(repeat)}"
        )
    base[0].elts.append(_starred(BASE_GLOBAL, base[0]))
    repeat[0].elts.append(_starred(REPEAT_GLOBAL, repeat[0]))
    for node in classify:
        node.ops = [ast.NotIn()]
        heads = ast.Tuple(elts=[ast.Name(id="Classify", ctx=ast.Load()), _starred(HEAD_GLOBAL, node)], ctx=ast.Load())
        node.comparators = [_located(heads, node)]
    return compile(tree, filename=getattr(tasks, "__file__", None) or "<ultralytics.nn.tasks>", mode="exec")


def _cache_file(parse_model, tasks) -> Path | None:
    """Where the compiled patch of this exact ``parse_model`` is cached, or None if it cannot be keyed.

    Keyed like bytecode: Ultralytics' file (path, mtime, size), the function's first line, this module's own file
    and the Python version; a new Ultralytics or yolo_hybrid release gets a new file.
    """
    source = getattr(tasks, "__file__", None)
    try:
        ours, theirs = os.stat(__file__), os.stat(source)
    except (OSError, TypeError):
        return None
    key = repr(
        (
            source,
            theirs.st_mtime_ns,
            theirs.st_size,
            parse_model.__code__.co_firstlineno,
            ours.st_mtime_ns,
            ours.st_size,
            sys.version,
        )
    )
    folder = Path(sys.pycache_prefix, "yolo_hybrid") if sys.pycache_prefix else Path(__file__).with_name("__pycache__")
    return folder / f"parse_model.{hashlib.sha256(key.encode()).hexdigest()[:16]}.marshal"


def cached_patched_code(parse_model, tasks, report: dict | None = None):
    """``patched_code``, read from / written to a cache next to our bytecode (Python's own rules: no write under
    ``PYTHONDONTWRITEBYTECODE``; an unwritable folder just means no cache). Compiling costs ~10-25 ms; loading ~0.2."""
    path = _cache_file(parse_model, tasks)
    state = "off"
    if path is not None:
        try:
            code = marshal.loads(path.read_bytes())
            if report is not None:
                report["parse_model_cache"] = "hit"
            return code
        except (OSError, EOFError, ValueError, TypeError):
            state = "miss"
    code = patched_code(parse_model, tasks)
    if path is not None and not sys.dont_write_bytecode:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            for stale in path.parent.glob("parse_model.*.marshal"):
                stale.unlink(missing_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(marshal.dumps(code))
            os.replace(partial, path)
        except OSError:
            state = "unwritable"
    if report is not None:
        report["parse_model_cache"] = state
    return code


def ast_patched_parse_model(parse_model, tasks, report: dict | None = None):
    """Return ``parse_model`` re-compiled with our two globals spliced into its base and repeat collections.

    Raises:
        _PatchError: If the source cannot be read or does not have exactly one base and one repeat collection.
    """
    namespace: dict = {}
    exec(cached_patched_code(parse_model, tasks, report), tasks.__dict__, namespace)  # tasks' globals: same names
    patched = namespace.get(parse_model.__name__)
    if not callable(patched):
        raise _PatchError("re-compiled source did not define parse_model")
    return patched


class _AliasMeta(type):
    """Metaclass of stand-ins: equal to (and hashing like) one stock class, calling builds the real class."""

    def __eq__(cls, other):
        return other is cls or other is cls._yh_stock

    def __ne__(cls, other):
        return not _AliasMeta.__eq__(cls, other)

    def __hash__(cls):
        return hash(cls._yh_stock)

    def __call__(cls, *args, **kwargs):
        if cls._yh_unscaled_c2 and len(args) >= 2:
            args = (args[0], _raw_c2(sys._getframe(1), args[1]), *args[2:])
        return cls._yh_target(*args, **kwargs)


def _raw_c2(frame, scaled):
    """The YAML row's own c2 (a head's class count) from parse_model's frame; ``scaled`` if it cannot be found.

    The alias strategy cannot exempt a class from width scaling (8.4 tests ``m is not Classify``), so the stand-in of
    a head takes the unscaled value back from the row being built.
    """
    try:
        d, i = frame.f_locals["d"], frame.f_locals["i"]
        value = list(d["backbone"] + d["head"])[i][3][0]
        return value if isinstance(value, int) and not isinstance(value, bool) else scaled
    except (KeyError, IndexError, TypeError):
        return scaled


def make_alias(target: type, stock: type, unscaled_c2: bool = False) -> type:
    """A stand-in for ``target`` that ``parse_model``'s membership tests take for ``stock`` (e.g. C3 or Conv)."""
    namespace = {
        "_yh_target": target,
        "_yh_stock": stock,
        "_yh_unscaled_c2": unscaled_c2,
        "__module__": target.__module__,
        "__qualname__": target.__qualname__,
        "__doc__": target.__doc__,
    }
    return _AliasMeta(target.__name__, (nn.Module,), namespace)


def _failing_layer(traceback):
    """(index, row, yaml file) of the layer parse_model was building when the exception was raised, if found."""
    found = None
    while traceback is not None:
        frame = traceback.tb_frame
        if frame.f_code.co_name == "parse_model" and "i" in frame.f_locals and "d" in frame.f_locals:
            found = frame.f_locals
        traceback = traceback.tb_next
    if found is None:
        return None
    d, i = found["d"], found["i"]
    try:
        return i, _rows(d)[i], _yaml_file(d)
    except (TypeError, IndexError):
        return None


def _rows(d) -> list:
    """The model dict's rows, backbone then head (the parser's layer indices)."""
    try:
        return list((d.get("backbone") or []) + (d.get("head") or []))
    except (AttributeError, TypeError):
        return []


def _yaml_file(d) -> str:
    """The YAML file a model dict came from, for messages."""
    return (d.get("yaml_file") if isinstance(d, dict) else None) or "model YAML"


REQUIRES_KEY = "yolo_hybrid_requires"
_REQUIREMENT = re.compile(r"^\s*ultralytics\s*>=\s*(\d+(?:\.\d+)*)\s*$")


def check_requirement(d, installed: str) -> None:
    """UnsupportedUltralyticsError if the model dict's ``yolo_hybrid_requires: ultralytics>=X`` is not met.

    Our YOLO11/YOLO26 configs carry it: on an older Ultralytics their stock rows (C3k2, C2PSA, YOLO26's heads) would
    otherwise fail with a bare KeyError or a TypeError deep in the parser.
    """
    wanted = d.get(REQUIRES_KEY) if isinstance(d, dict) else None
    if wanted is None:
        return
    match = _REQUIREMENT.match(str(wanted))
    if match is None:
        raise ConfigError(f"{_yaml_file(d)}: {REQUIRES_KEY}: {wanted!r} must read 'ultralytics>=X.Y.Z'.")
    if parse_version(installed) < parse_version(match[1]):
        raise UnsupportedUltralyticsError(
            f"{_yaml_file(d)} needs ultralytics>={match[1]} (its stock rows use modules added there); this is "
            f"ultralytics {installed}. Fix: pip install -U 'ultralytics>={match[1]},<8.5', or use a yolov8-* config "
            "(those work from ultralytics 8.1)."
        )


def check_rows(d, specs: dict) -> None:
    """ConfigError for the first row of one of our blocks whose shape the parser would mangle or crash on.

    Runs before ``parse_model``: it scales c2 and n and inserts c1 before our constructors see anything, so a c2 of
    ``True`` or ``2.5`` would silently become 8, and a missing c2 or a string n would fail inside the parser.
    """
    yaml_file = _yaml_file(d)
    for i, row in enumerate(_rows(d)):
        module = row[2] if isinstance(row, (list, tuple)) and len(row) == 4 else None
        spec = specs.get(module) if isinstance(module, str) else None
        problem = spec.row_problem(row) if spec is not None else None
        if problem:
            raise ConfigError(f"{yaml_file}, layer {i} {row}: {problem}")


def module_names(tasks) -> list[str]:
    """Every module name a YAML row may use with this ``tasks`` (nn.Module classes in its globals)."""
    return sorted(
        name
        for name, value in vars(tasks).items()
        if not name.startswith("_") and isinstance(value, type) and issubclass(value, nn.Module)
    )


def _unknown_module(error: KeyError, row, tasks, ours: frozenset) -> str | None:
    """Why the row's module name is unknown and what to write instead, or None if the KeyError is something else."""
    module = row[2] if isinstance(row, (list, tuple)) and len(row) > 2 else None
    if not isinstance(module, str) or not error.args or error.args[0] != module or module in vars(tasks):
        return None
    suggestions = close_matches(module, sorted(set(module_names(tasks)) | ours), cutoff=0.6)
    if not suggestions:
        return None
    return (
        f"unknown module {module!r}: neither Ultralytics nor yolo_hybrid defines it. "
        f"Fix: did you mean {' or '.join(map(repr, suggestions))}? (names are case-sensitive)"
    )


def label_layers(layers, d) -> None:
    """Tell every module that reports by name (a ``yaml_layer`` class attribute) which YAML file and layer it is in."""
    yaml_file = _yaml_file(d)
    for layer in layers if isinstance(layers, nn.Module) else ():
        for module in layer.modules():
            if hasattr(type(module), "yaml_layer"):
                module.yaml_layer = f"{yaml_file}, layer {getattr(layer, 'i', '?')} ({type(layer).__name__})"


def with_layer_context(parse_model, blocks, report: dict, tasks):
    """Wrap ``parse_model`` so errors from registered blocks name the YAML file, layer index and row.

    Also: rows of blocks with a ``yaml_spec`` are checked before parsing (``check_rows``), and a module name that is
    not defined but close to a known one (``BoT4``, ``bot3``, ``C2F``) gets a suggestion instead of a bare KeyError.
    ``blocks`` (YAML name -> ``BlockEntry``) is read at every call: blocks registered later are covered too.
    """

    @functools.wraps(parse_model)
    def parse_model_yolo_hybrid(*args, **kwargs):
        d = args[0] if args else kwargs.get("d")
        entries = dict(blocks)
        our_names = frozenset(entries)
        check_requirement(d, report.get("ultralytics", "0"))
        check_rows(d, {name: entry.spec for name, entry in entries.items() if entry.spec is not None})
        check_taken_names(d, report)
        try:
            built = parse_model(*args, **kwargs)
        except Exception as error:
            layer = _failing_layer(error.__traceback__)
            if layer is None:
                raise
            i, row, yaml_file = layer
            if isinstance(error, KeyError):
                unknown = _unknown_module(error, row, tasks, our_names)
                if unknown:
                    raise UnknownModuleError(f"{yaml_file}, layer {i} {row}: {unknown}") from error
            module = row[2] if isinstance(row, (list, tuple)) and len(row) > 2 else None
            if not (isinstance(error, YoloHybridError) or module in our_names):
                raise
            detail = str(error) if isinstance(error, YoloHybridError) else f"{type(error).__name__}: {error}"
            raise ConfigError(f"{yaml_file}, layer {i} {row}: {detail}") from error
        label_layers(built[0] if isinstance(built, tuple) else built, d)
        return built

    setattr(parse_model_yolo_hybrid, MARKER, report)
    return parse_model_yolo_hybrid


def explain_unregistered(tasks, our_names: frozenset, reason: str) -> None:
    """After a failed registration: make a YAML row naming one of our blocks fail with ``reason``, not a KeyError.

    The start-up hook only warns when registration fails (Ultralytics must keep working); without this, the user's
    next error would be a bare ``KeyError: 'BoT3'`` far from that warning.
    """
    original = tasks.parse_model
    if getattr(original, UNREGISTERED_MARKER, None) is not None or getattr(original, MARKER, None) is not None:
        return

    @functools.wraps(original)
    def parse_model_unregistered(*args, **kwargs):
        try:
            return original(*args, **kwargs)
        except KeyError as error:
            if error.args and error.args[0] in our_names and error.args[0] not in vars(tasks):
                raise UnsupportedUltralyticsError(
                    f"{error.args[0]!r} is a yolo_hybrid block, but yolo_hybrid could not register into this "
                    f"Ultralytics: {reason}"
                ) from error
            raise

    setattr(parse_model_unregistered, UNREGISTERED_MARKER, reason)
    _rebind(tasks, (original,), parse_model_unregistered)


def extend_parse_model(tasks, strategy: str, report: dict, blocks) -> str:
    """Make ``tasks.parse_model`` build registered blocks; ``attach_block`` then adds each one (now or later).

    The patched parser reads the three ``_yolo_hybrid_*_modules`` globals of ``tasks`` at every call, and the
    wrapper reads ``blocks`` (a live ``{name: BlockEntry}`` mapping), so blocks registered after this call need no
    re-patching.

    Args:
        tasks: The ``ultralytics.nn.tasks`` module.
        strategy (str): ``"ast"``, ``"alias"`` or ``"auto"`` (ast, falling back to alias).
        report (dict): Registration report, attached to the wrapped parse_model (marks it as done).
        blocks (Mapping): YAML name -> ``BlockEntry`` (its ``cls``, ``kind``, ``spec``), read at parse time.

    Returns:
        (str): The strategy actually used.
    """
    current = tasks.parse_model
    original = current.__wrapped__ if hasattr(current, UNREGISTERED_MARKER) else current
    used = strategy
    patched = original
    if strategy in ("ast", "auto"):
        try:
            patched = ast_patched_parse_model(original, tasks, report)
            used = "ast"
        except (_PatchError, SyntaxError) as error:
            if strategy == "ast":
                raise UnsupportedUltralyticsError(
                    f"cannot patch Ultralytics' parse_model ({error}). Fix: use YOLO_HYBRID_STRATEGY=alias or a "
                    "supported Ultralytics version."
                ) from error
            used = "alias"
    if used == "alias" and not all(isinstance(tasks.__dict__.get(n), type) for n in _STOCK.values()):
        raise UnsupportedUltralyticsError(
            "neither strategy applies: parse_model's source is unusable and ultralytics.nn.tasks lacks C3, Conv or "
            "Classify. "
            "Fix: install a supported Ultralytics version (see yolo_hybrid.integration.version)."
        )
    for name in (BASE_GLOBAL, REPEAT_GLOBAL, HEAD_GLOBAL):
        setattr(tasks, name, ())
    report["strategy"] = used
    wrapped = with_layer_context(patched, blocks, report, tasks)
    _rebind(tasks, (original, current), wrapped)
    return used


_STOCK = {"repeat": "C3", "base": "Conv", "head": "Classify"}


class NameTakenError(ConfigError):
    """``ultralytics.nn.tasks`` already defines a registered block's YAML name (a stock module, usually).

    Attributes:
        name (str): The YAML name.
        existing (object): What ``tasks`` binds to it (Ultralytics' class).
        entry: The refused ``BlockEntry``.
    """

    def __init__(self, message: str, name: str, existing, entry):
        super().__init__(message)
        self.name, self.existing, self.entry = name, existing, entry


def defined_as(value) -> str:
    """How a message names a global of ``tasks``: ``module.qualname`` for a class, else its type."""
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    return f"{type(value).__name__} instance"


def can_override(existing) -> bool:
    """Whether ``existing`` (a global of ``tasks``) is a YAML module our block may replace on request.

    Only ``nn.Module`` classes: replacing a helper or a module object (``torch``, ``LOGGER``) would break the parser.
    """
    return isinstance(existing, type) and issubclass(existing, nn.Module)


def attach_block(tasks, entry, strategy: str, attached: dict, override: bool = False):
    """Bind ``entry.name`` in ``tasks`` (the class, or its alias stand-in) and add it to the parser's collections.

    Args:
        tasks: The ``ultralytics.nn.tasks`` module, already prepared by ``extend_parse_model``.
        entry: The ``BlockEntry``.
        strategy (str): The strategy ``extend_parse_model`` used.
        attached (dict): YAML name -> (class, kind) bound by us in this ``tasks`` so far (updated here).
        override (bool): The user asked for this block to replace a stock module of the same name
            (``YOLO_HYBRID_OVERRIDE``); honoured for ``nn.Module`` classes only.

    Returns:
        (type | None): The stock class replaced (``override`` only), else None.

    Raises:
        NameTakenError: ``tasks`` already defines the name (a stock module or any other global) and ``override`` is
            off or does not apply: never shadowed silently.
    """
    existing = tasks.__dict__.get(entry.name)
    ours = entry.name in attached or existing is entry.cls or getattr(existing, "_yh_target", None) is entry.cls
    replaced = None
    if existing is not None and not ours:  # (a reloaded tasks keeps its old globals, ours among them)
        if not (override and can_override(existing)):
            raise NameTakenError(
                f"{entry.name!r} is already defined by Ultralytics ({defined_as(existing)}); a block of that name "
                f"would shadow it. Fix: register {entry.cls.__name__} under another name, e.g. "
                f"register_block({entry.cls.__name__}, name='{entry.name}X'), and use that name in the YAML.",
                entry.name,
                existing,
                entry,
            )
        replaced = existing
    if strategy == "alias":
        bound = make_alias(entry.cls, tasks.__dict__[_STOCK[entry.kind]], unscaled_c2=entry.kind == "head")
    else:
        bound = entry.cls
    setattr(tasks, entry.name, bound)
    attached[entry.name] = (entry.cls, entry.kind)
    classes = list(attached.values())
    setattr(tasks, BASE_GLOBAL, tuple(cls for cls, _kind in classes))
    setattr(tasks, REPEAT_GLOBAL, tuple(cls for cls, kind in classes if kind == "repeat"))
    setattr(tasks, HEAD_GLOBAL, tuple(cls for cls, kind in classes if kind == "head"))
    return replaced


def check_taken_names(d, report: dict) -> None:
    """ConfigError if a config bundled with yolo_hybrid names a block whose name Ultralytics kept for itself.

    Such a row would build Ultralytics' module of that name, not the block the config was written (and its channel
    plan tuned) for: a different model under our config's name. A user's own YAML builds Ultralytics' module, as the
    registration warning said. ``report["shadowed"]`` (registration) lists the names Ultralytics kept; only our own
    blocks' count (a plugin's clash is its own business, and our configs use stock names such as ``Concat`` too).
    """
    shadowed = {name: r for name, r in (report.get("shadowed") or {}).items() if r.get("source") == "yolo_hybrid"}
    if not shadowed:
        return
    rows = [
        (i, row)
        for i, row in enumerate(_rows(d))
        if isinstance(row, (list, tuple)) and len(row) > 2 and isinstance(row[2], str) and row[2] in shadowed
    ]
    if not rows:
        return
    from yolo_hybrid.integration.configs import bundled_config

    bundled = bundled_config(d.get("yaml_file") if isinstance(d, dict) else None)
    if bundled is None:
        return
    i, row = rows[0]
    name = row[2]
    taken = shadowed[name]
    names = ",".join(sorted({r[2] for _, r in rows}))
    from yolo_hybrid.integration.register import OVERRIDE_ENV, override_names

    current = os.environ.get(OVERRIDE_ENV)
    if current and name in override_names():  # set in-process after registration (at Ultralytics' import) ran
        told = f" ({OVERRIDE_ENV} names it now, but was read when ultralytics.nn.tasks was imported, before that)"
    else:
        told = f" ({OVERRIDE_ENV} is {current!r} in this process, which does not name it)" if current else ""
    raise ConfigError(
        f"{_yaml_file(d)}, layer {i} {row}: this config is bundled with yolo_hybrid ({bundled.name}) and written for "
        f"yolo_hybrid's {taken['ours']}, but ultralytics {report.get('ultralytics', '?')} defines {name!r} itself "
        f"({taken['ultralytics']}) and keeps the name, so this row would build that different module. Fix: set "
        f"{OVERRIDE_ENV}={names} in the environment before Python starts{told}: yolo_hybrid's block then takes "
        f"the name from Ultralytics' class; or copy the config and rename its rows to a name you register ours "
        f"under (the registration warning gives the register_block call; docs: 'When Ultralytics defines the same "
        f"name')."
    )


def _rebind(tasks, old: tuple, new) -> None:
    """``tasks.parse_model = new``, and the same in ``ultralytics.nn``, which re-exports it."""
    tasks.parse_model = new
    package = sys.modules.get(getattr(tasks, "__package__", None) or "")
    if package is not None and any(getattr(package, "parse_model", None) is f for f in old):
        package.parse_model = new
