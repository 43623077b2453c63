"""The attention-map example runs end to end (1 epoch, tiny images) and writes a PNG."""

from __future__ import annotations

import subprocess
import sys

import cv2

from tests.helpers import ROOT, assert_ok


def test_attention_maps_example_writes_png(tmp_path):
    out = tmp_path / "maps.png"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "attention_maps.py"), "--epochs", "1", "--imgsz", "64", "--images",
         "4", "--workdir", str(tmp_path / "work"), "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    text = assert_ok(proc)
    assert "attention map (2, 2)" in text
    image = cv2.imread(str(out))
    assert image is not None and image.shape[0] > 64 and image.shape[1] > 128
