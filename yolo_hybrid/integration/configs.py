"""Bare-name lookup of the model YAMLs bundled in ``yolo_hybrid/cfg``.

Ultralytics resolves ``YOLO("yolov8s-bot3.yaml")`` through ``ultralytics.utils.checks.check_file`` (looked up in that
module's globals at call time by ``check_yaml``), which searches only the working directory and Ultralytics' own tree.
We wrap it: a bare ``*.yaml`` name that is not a file in the working directory is looked up in our configs first,
unless Ultralytics ships a file of the same name (then Ultralytics' copy wins: we never shadow a stock config).
Unknown names fall through to Ultralytics' own "does not exist" error.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

__all__ = ["CFG_DIR", "config_path", "find_config", "list_configs", "patch_check_file"]

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


@functools.lru_cache(maxsize=None)
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


@functools.lru_cache(maxsize=None)
def _stock_has(root: str, name: str) -> bool:
    return any(Path(root, "cfg").rglob(name))


def patch_check_file(checks) -> None:
    """Wrap ``checks.check_file`` (once) so bare names of our configs resolve to the bundled files."""
    original = checks.check_file
    if getattr(original, "__yolo_hybrid__", False):
        return

    @functools.wraps(original)
    def check_file(file, *args, **kwargs):
        if _is_bare_yaml_name(file) and not os.path.exists(file):
            ours = find_config(os.fspath(file).strip())
            if ours is not None and not _stock_has(str(checks.ROOT), ours.name):
                return str(ours)
        return original(file, *args, **kwargs)

    check_file.__yolo_hybrid__ = True
    checks.check_file = check_file
