"""Helpers for tests that run a fresh interpreter (the start-up hook, the stock CLI, checkpoint reloads)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Prepended to child scripts: records (and refuses) every attempt to reach the network, and reports at exit.
NETWORK_GUARD = r"""
import atexit, sys
_net_events = []
def _net_hook(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "urllib.Request"):
        _net_events.append((event, repr(args)[:120]))
        raise OSError(f"network access blocked by test: {event} {args!r}"[:200])
sys.addaudithook(_net_hook)
atexit.register(lambda: print(f"NETWORK_EVENTS={len(_net_events)} {_net_events[:5]}", flush=True))
"""


def run_python(
    code: str,
    *,
    env: dict | None = None,
    cwd: Path | str | None = None,
    timeout: int = 600,
    flags: tuple = (),
    python: str | Path | None = None,
) -> subprocess.CompletedProcess:
    """Run ``code`` in a new interpreter (of this venv, or ``python``); returns the completed process (text output)."""
    return subprocess.run(
        [str(python or sys.executable), *flags, "-c", code],
        env=env or dict(os.environ),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def yolo_cli(
    *args: str,
    env: dict | None = None,
    cwd=None,
    guard_network: bool = True,
    timeout: int = 600,
    python: str | Path | None = None,
):
    """Run Ultralytics' stock ``yolo`` entry point (the console script's own function) in a fresh interpreter."""
    code = (NETWORK_GUARD if guard_network else "") + (
        # sys.argv first: Ultralytics reads it into ARGV when ultralytics.utils is imported
        f"import sys\nsys.argv = ['yolo', *{list(args)!r}]\nfrom ultralytics.cfg import entrypoint\nentrypoint()\n"
    )
    return run_python(code, env=env, cwd=cwd, timeout=timeout, python=python)


def assert_ok(proc: subprocess.CompletedProcess) -> str:
    """Assert exit code 0 and return stdout+stderr."""
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def tensors(out):
    """Every tensor of a model's output, in order: a tensor, or lists, tuples and dicts of them (8.4's heads return
    dicts in training). Standard library only: the version group's child (tests/versions/child.py) uses it too."""
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        for item in out:
            yield from tensors(item)
    elif hasattr(out, "shape"):
        yield out
