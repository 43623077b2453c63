"""Start-up hook: register our blocks right after ``ultralytics.nn.tasks`` is imported, in any process.

Standard library only, and nothing is imported eagerly: this module runs at interpreter start-up through
``yolo_hybrid_autoload.pth`` and must cost well under 2 ms. Every failure becomes a warning, so Python and Ultralytics
always start even if registration cannot work.
"""

import _thread
import sys

TARGET = "ultralytics.nn.tasks"
# Our block package imports Ultralytics (hence tasks) before its classes exist; registration waits for it to finish.
BLOCKS = "yolo_hybrid.nn"
_WATCHED = (TARGET, BLOCKS)
# _thread, not threading: threading pulls in collections/functools (~3 ms at start-up).
_lock = _thread.allocate_lock()
_state = _thread._local()
_pending: list = []


def _blocks_mid_import() -> bool:
    """True while ``yolo_hybrid.nn`` is itself being imported (it imports Ultralytics, which imports tasks)."""
    blocks = sys.modules.get(BLOCKS)
    return blocks is not None and not hasattr(blocks, "YAML_BLOCKS")


def _flush_pending() -> None:
    """Register into a tasks module whose import happened while our blocks were still being imported."""
    while _pending:
        _on_tasks_imported(_pending.pop())


def _on_imported(module) -> None:
    if module.__name__ == TARGET:
        _on_tasks_imported(module)
    elif not _blocks_mid_import():
        _flush_pending()


def _on_tasks_imported(module) -> None:
    """Register into a freshly executed ``ultralytics.nn.tasks``; turn any failure into a warning."""
    if _blocks_mid_import():
        _pending.append(module)  # registered when yolo_hybrid.nn's own import completes (see _on_imported)
        return
    try:
        from yolo_hybrid.integration.register import register_into

        register_into(module, trigger="import hook")
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # never break Ultralytics' own import, not even with SystemExit
        import warnings

        warnings.warn(
            f"yolo_hybrid: blocks were not registered into Ultralytics: {type(error).__name__}: {error}",
            RuntimeWarning,
            stacklevel=2,
        )


class _RegisteringLoader:
    """Wraps the real loader of a watched module; reacts after the module body has run."""

    def __init__(self, loader):
        self._loader = loader

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _on_imported(module)


class TasksFinder:
    """Meta-path finder that reacts to ``ultralytics.nn.tasks`` (and our block package) and delegates the finding."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _WATCHED or getattr(_state, "busy", False):
            return None
        _state.busy = True
        try:
            spec = None
            for finder in sys.meta_path:
                if finder is self or type(finder).__name__ == "TasksFinder":
                    continue
                find_spec = getattr(finder, "find_spec", None)
                if find_spec is not None:
                    spec = find_spec(fullname, path, target)
                    if spec is not None:
                        break
        finally:
            _state.busy = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        if not isinstance(spec.loader, _RegisteringLoader):
            spec.loader = _RegisteringLoader(spec.loader)
        return spec


def installed() -> bool:
    """Whether the finder is on ``sys.meta_path``."""
    # By name, not isinstance: a reloaded module defines a new class, and one finder must stay one finder.
    return any(type(f).__name__ == "TasksFinder" and type(f).__module__ == __name__ for f in sys.meta_path)


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once); register at once if Ultralytics' parser is already loaded."""
    with _lock:
        if not installed():
            sys.meta_path.insert(0, TasksFinder())
    tasks = sys.modules.get(TARGET)
    if tasks is not None and hasattr(tasks, "parse_model"):
        _on_tasks_imported(tasks)
