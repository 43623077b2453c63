"""Test session set-up: offline Ultralytics with a private config dir and a local font, before anything imports it."""

from __future__ import annotations

import os
import tempfile

# scripts/test.sh runs one worker per core: one torch thread each (read when torch is first imported, below), and the
# same for the tests' child processes, which inherit it
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")

from yolo_hybrid.integration.offline import prepare_offline

# Before anything imports Ultralytics: offline, a private settings dir per test run, the plot font local.
prepare_offline(tempfile.mkdtemp(prefix="yolo_hybrid_test_cfg_"))
os.environ.setdefault("YOLO_VERBOSE", "False")

import yolo_hybrid  # noqa: E402,F401  (what the start-up hook does; explicit so tests also run under python -S)
