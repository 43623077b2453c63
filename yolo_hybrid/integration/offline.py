"""Run Ultralytics with no network: no DNS probes, no font download, no settings shared with other versions.

``YOLO_OFFLINE=1`` turns off Ultralytics' online probes and telemetry. Its ``check_font()`` still downloads
``Arial.ttf`` (used only to label plots) unless the file is already in ``$YOLO_CONFIG_DIR/Ultralytics``, so a local
font (matplotlib's DejaVuSans) is copied there under that name. A private config dir also keeps Ultralytics' settings
file away from other installs. Standard library and matplotlib only; sets the variables before Ultralytics reads them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["prepare_offline"]


def prepare_offline(config_dir: str | Path) -> dict:
    """Set ``YOLO_OFFLINE=1`` and ``YOLO_CONFIG_DIR=config_dir`` in ``os.environ`` and place the plot font there.

    Call before importing Ultralytics (it reads both variables at import time).

    Returns:
        (dict): A copy of the resulting environment, for child processes.
    """
    import matplotlib

    config_dir = Path(config_dir).resolve()
    font_dir = config_dir / "Ultralytics"  # Ultralytics' USER_CONFIG_DIR is $YOLO_CONFIG_DIR/Ultralytics
    font_dir.mkdir(parents=True, exist_ok=True)
    font = font_dir / "Arial.ttf"
    if not font.exists():
        shutil.copy(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf", font)
    os.environ.update(YOLO_OFFLINE="1", YOLO_CONFIG_DIR=str(config_dir))
    return dict(os.environ)
