"""The Ultralytics versions yolo_hybrid supports, and the guard run before registration."""

from __future__ import annotations

import os
import re

from yolo_hybrid.errors import UnsupportedUltralyticsError

__all__ = ["SUPPORTED_ULTRALYTICS", "parse_version", "check_ultralytics_version"]

# Keep equal to the ultralytics requirement in pyproject.toml (tests/integration/test_version.py checks it).
SUPPORTED_ULTRALYTICS = ">=8.1,<8.5"
_MINIMUM = (8, 1)
_BELOW = (8, 5)


def parse_version(version: str) -> tuple[int, ...]:
    """Leading numeric release of a version string: ``"8.4.190"`` -> ``(8, 4, 190)``,
    ``"8.3.0rc1"`` -> ``(8, 3, 0)``."""
    match = re.match(r"\s*(\d+(?:\.\d+)*)", str(version))
    if not match:
        raise ValueError(f"cannot read a version number from {version!r}")
    return tuple(int(part) for part in match.group(1).split("."))


def check_ultralytics_version(version: str) -> None:
    """Raise UnsupportedUltralyticsError if ``version`` is outside SUPPORTED_ULTRALYTICS.

    ``YOLO_HYBRID_IGNORE_VERSION=1`` skips the check (registration is then attempted and may still fail clearly).
    """
    if os.environ.get("YOLO_HYBRID_IGNORE_VERSION", "").strip().lower() in ("1", "true", "yes", "on"):
        return
    release = parse_version(version)
    if not _MINIMUM <= release[:2] < _BELOW:
        raise UnsupportedUltralyticsError(
            f"yolo_hybrid supports ultralytics{SUPPORTED_ULTRALYTICS}, but ultralytics {version} is installed. "
            f"Fix: pip install 'ultralytics{SUPPORTED_ULTRALYTICS}'"
            " (or set YOLO_HYBRID_IGNORE_VERSION=1 to try anyway)."
        )
