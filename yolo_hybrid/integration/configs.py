"""Bare-name lookup of the model YAMLs bundled in ``yolo_hybrid/cfg``.

Ultralytics resolves ``YOLO("yolov8s-bot3.yaml")`` through ``ultralytics.utils.checks.check_file`` (looked up in that
module's globals at call time by ``check_yaml``), which searches only the working directory and Ultralytics' own tree.
We wrap it: a bare ``*.yaml`` name that is not a file in the working directory is looked up in our configs first,
unless Ultralytics ships a file of the same name (then Ultralytics' copy wins: we never shadow a stock config).
Unknown names fall through to Ultralytics' own "does not exist" error, extended with the bundled names close to the
one asked for (``yolov8n-bot4.yaml`` -> ``yolov8n-bot3.yaml``).

``bundled_config`` tells whether a model dict's ``yaml_file`` is one of ours, as Ultralytics resolved it: the parser
refuses to build a bundled config whose block name Ultralytics took (see ``parser.check_taken_names``).
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

from yolo_hybrid.errors import close_matches

__all__ = [
    "CFG_DIR",
    "config_path",
    "find_config",
    "list_configs",
    "close_configs",
    "bundled_config",
    "configs_using",
    "patch_check_file",
]

CFG_DIR = Path(__file__).resolve().parents[1] / "cfg"
_SUFFIXES = (".yaml", ".yml")


def _is_bare_yaml_name(file) -> bool:
    if not isinstance(file, (str, os.PathLike)):
        return False
    name = os.fspath(file).strip()
    return name.lower().endswith(_SUFFIXES) and "/" not in name and os.sep not in name and "://" not in name


def list_configs() -> list[Path]:
    """Every bundled model YAML, sorted."""
    return sorted(p for p in CFG_DIR.rglob("*") if p.suffix in _SUFFIXES)


@functools.cache
def find_config(name: str) -> Path | None:
    """Bundled YAML called ``name`` (bare file name), or None."""
    matches = [p for p in list_configs() if p.name == name]
    return matches[0] if matches else None


def config_path(name: str) -> Path:
    """Absolute path of the bundled YAML ``name``; FileNotFoundError listing what exists otherwise."""
    path = find_config(os.path.basename(name))
    if path is None:
        names = ", ".join(p.name for p in list_configs())
        raise FileNotFoundError(f"yolo_hybrid has no config {name!r}. Bundled configs: {names}")
    return path


# Ultralytics' own rule for a scale letter in a model name (yaml_model_load): "yolov8s-bot3" -> "yolov8-bot3", "s".
_SCALE = re.compile(r"(\d+)([nslmx])(.+)?$")


def close_configs(name: str) -> list[str]:
    """Bundled config names close to ``name``, with ``name``'s scale letter kept (``yolov8n-bot4.yaml`` ->
    ``["yolov8n-bot3.yaml", ...]``)."""
    stem, suffix = os.path.splitext(os.path.basename(os.fspath(name)))
    match = _SCALE.search(stem)
    scale = match.group(2) if match else ""
    unified = _SCALE.sub(r"\1\3", stem) if match else stem
    found = close_matches(unified, [p.stem for p in list_configs()])
    return [re.sub(r"^(yolov?\d+)", rf"\g<1>{scale}", f) + (suffix or ".yaml") for f in found]


@functools.cache
def _stock_has(root: str, name: str) -> bool:
    return any(Path(root, "cfg").rglob(name))


def _inside_cfg(path: Path) -> Path | None:
    resolved = path.resolve()
    return resolved if resolved.is_relative_to(CFG_DIR) else None


def bundled_config(yaml_file) -> Path | None:
    """The bundled config a model dict's ``yaml_file`` resolves to, or None for anything else (a user's file).

    Follows Ultralytics' ``yaml_model_load``: the name as given, then with its scale letter removed
    (``yolov8n-bot3.yaml`` -> ``yolov8-bot3.yaml``); an existing file is taken as it is (bundled if it lies in our
    ``cfg`` folder), a bare name as our ``check_file`` wrapper resolves it (ours unless Ultralytics ships the name).
    """
    if not isinstance(yaml_file, (str, os.PathLike)):
        return None
    given = os.fspath(yaml_file).strip()
    if not given or "://" in given:
        return None
    for candidate in dict.fromkeys((given, _SCALE.sub(r"\1\3", given))):
        if os.path.isfile(candidate):
            return _inside_cfg(Path(candidate))
        if _is_bare_yaml_name(candidate):
            ours = find_config(candidate)
            if ours is not None:
                from ultralytics.utils import ROOT

                return None if _stock_has(str(ROOT), ours.name) else ours
    return None


def configs_using(name: str) -> list[str]:
    """File names of the bundled configs with a backbone or head row whose module is ``name``."""
    import yaml  # Ultralytics' own dependency; only read when a message needs it (a name clash)

    def modules(path: Path) -> set:
        d = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        rows = list(d.get("backbone") or []) + list(d.get("head") or [])
        return {row[2] for row in rows if isinstance(row, list) and len(row) > 2 and isinstance(row[2], str)}

    return [p.name for p in list_configs() if name in modules(p)]


def patch_check_file(checks) -> None:
    """Wrap ``checks.check_file`` (once) so bare names of our configs resolve to the bundled files."""
    original = checks.check_file
    if getattr(original, "__yolo_hybrid__", False):
        return

    @functools.wraps(original)
    def check_file(file, *args, **kwargs):
        bare = _is_bare_yaml_name(file) and not os.path.exists(file)
        if bare:
            ours = find_config(os.fspath(file).strip())
            if ours is not None and not _stock_has(str(checks.ROOT), ours.name):
                return str(ours)
        try:
            return original(file, *args, **kwargs)
        except FileNotFoundError as error:
            close = close_configs(file) if bare else []
            if not close:
                raise
            raise FileNotFoundError(
                f"{error} Did you mean {' or '.join(close)}? (bundled with yolo_hybrid; "
                "yolo_hybrid.integration.configs.list_configs() lists them all)"
            ) from error

    check_file.__yolo_hybrid__ = True
    checks.check_file = check_file
