"""The version group runs under ONE Ultralytics release, chosen by the caller through PYTHONPATH.

    PYTHONPATH=.venv-versions/8.2.103:.venv-versions/_extras YOLO_HYBRID_EXPECT_ULTRALYTICS=8.2.103 \\
        .venv/bin/python -m pytest -m versions tests/versions

Before any check, the imported ``ultralytics.__version__`` must equal ``YOLO_HYBRID_EXPECT_ULTRALYTICS`` (a wrong or
relative PYTHONPATH would otherwise silently test .venv's own release); every child process checks it again.
PYTHONPATH entries are made absolute here, since the children run in temporary working directories.

With ``YOLO_HYBRID_COMPAT_DIR`` set, the outcome of every check (passed, failed with its message, skipped or xfailed
with the reason, and the flags it ran with) is written to ``$YOLO_HYBRID_COMPAT_DIR/ultralytics-<version>.json``,
which ``scripts/compat_table.py`` renders into README's Compatibility table.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import sys
from pathlib import Path

import pytest

EXPECT_VAR = "YOLO_HYBRID_EXPECT_ULTRALYTICS"
RESULTS_VAR = "YOLO_HYBRID_COMPAT_DIR"

if os.environ.get("PYTHONPATH"):
    os.environ["PYTHONPATH"] = os.pathsep.join(
        os.path.abspath(p) for p in os.environ["PYTHONPATH"].split(os.pathsep) if p
    )

_verified: dict = {}
_records: dict = {}


@pytest.fixture(scope="session", autouse=True)
def ultralytics_version() -> str:
    """The release under test; stops the whole run if it is not the one the caller asked for."""
    expected = os.environ.get(EXPECT_VAR)
    if not expected:
        pytest.exit(
            f"{EXPECT_VAR} is not set: the version group needs the Ultralytics release it is meant to test, "
            f"e.g. {EXPECT_VAR}=8.2.103 PYTHONPATH=.venv-versions/8.2.103:.venv-versions/_extras "
            "(or run bash scripts/test_versions.sh)",
            returncode=4,
        )
    import ultralytics

    if ultralytics.__version__ != expected:
        pytest.exit(
            f"imported ultralytics {ultralytics.__version__} from {ultralytics.__file__}, but "
            f"{EXPECT_VAR}={expected}. Fix: PYTHONPATH=.venv-versions/{expected}:.venv-versions/_extras "
            "(bash scripts/setup_versions.sh installs it)",
            returncode=4,
        )
    _verified["version"] = expected
    return expected


def _short(text: str, limit: int = 160) -> str:
    """One line, no paths, addresses or terminal colours: stable across machines, fit for a table cell."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(text)).strip()
    text = text.splitlines()[0] if text else ""
    text = re.sub(r"(/[\w.+-]+)+/([\w.+-]+)", r"\2", text)
    text = re.sub(r"0x[0-9a-f]+", "0x…", text)
    text = re.sub(r"^(Failed|Skipped|XFailed|AssertionError): ", "", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _message(report, call) -> str:
    if hasattr(report, "wasxfail"):
        return _short(report.wasxfail)
    if report.skipped and isinstance(report.longrepr, tuple):
        return _short(report.longrepr[2])
    if call.excinfo is not None:
        error = call.excinfo.value
        if isinstance(error, AssertionError):
            return _short(str(error) or "assertion failed")
        return _short(f"{type(error).__name__}: {error}")
    return ""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    result = yield
    report = result.get_result()
    name = getattr(getattr(item, "function", None), "compat_check", None)  # set by test_matrix.check()
    if name is None or call.when == "teardown" or (call.when == "setup" and report.passed):
        return
    if hasattr(report, "wasxfail"):
        outcome = "xpassed" if report.passed else "xfailed"
    else:
        outcome = report.outcome  # passed, failed, skipped
    params = getattr(item, "callspec", None)
    config = params.params.get("cfg", item.name) if params else item.name
    used = [v for key, values in item.user_properties if key == "flags" for v in values]
    _records[item.nodeid] = {
        "check": name,
        "config": str(config),
        "outcome": outcome,
        "message": "" if outcome == "passed" else _message(report, call),
        "flags": used,
    }


def _installed(name: str) -> str | None:
    try:
        return importlib.metadata.version(name) if importlib.util.find_spec(name.replace("-", "_")) else None
    except importlib.metadata.PackageNotFoundError:
        return None


def pytest_sessionfinish(session):
    folder = os.environ.get(RESULTS_VAR)
    if not folder or "version" not in _verified or not _records:
        return
    version = _verified["version"]
    data = {
        "ultralytics": version,
        "stack": {
            "python": ".".join(platform.python_version_tuple()[:2]),
            **{n: _installed(n) for n in ("torch", "torchvision", "numpy", "onnx", "onnxruntime", "onnxscript")},
        },
        "records": sorted(_records.values(), key=lambda r: (r["check"], r["config"])),
    }
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / f"ultralytics-{version}.json").write_text(json.dumps(data, indent=1) + "\n")
    print(f"\n[versions] {len(_records)} outcomes for ultralytics {version} -> {folder}", file=sys.stderr)
