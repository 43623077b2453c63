"""Checkpoints written by earlier releases (tests/data/compat-*.pt, from tools/make_compat_checkpoint.py) keep loading
and give the output they gave when saved: class paths, attributes and state-dict keys are a contract."""

from __future__ import annotations

import os
import sys

import pytest
import torch

from tests.helpers import ROOT, assert_ok, run_python

CHECKPOINTS = sorted((ROOT / "tests" / "data").glob("compat-*.pt"))
sys.path.insert(0, str(ROOT / "tools"))
from make_compat_checkpoint import compat_input  # noqa: E402


def test_a_checkpoint_of_this_release_is_committed():
    import yolo_hybrid

    assert ROOT / "tests" / "data" / f"compat-{yolo_hybrid.__version__}.pt" in CHECKPOINTS, (
        "run python tools/make_compat_checkpoint.py and commit the file"
    )


@pytest.mark.parametrize("path", CHECKPOINTS, ids=lambda p: p.name)
def test_old_checkpoint_loads_and_predicts_the_same(path):
    import ultralytics.nn.tasks as tasks

    import yolo_hybrid
    from yolo_hybrid.nn import YAML_BLOCKS

    load = getattr(tasks, "load_checkpoint", None) or tasks.attempt_load_one_weight  # renamed in 8.4
    model, ckpt = load(str(path))
    if ckpt["yolo_hybrid"]["version"] == yolo_hybrid.__version__:  # older files hold the blocks of their release
        assert {type(m).__name__ for m in model.modules()} >= set(YAML_BLOCKS), "the file must hold every YAML block"
    with torch.no_grad():
        out = model(compat_input())
    probs = out[0] if isinstance(out, (tuple, list)) else out
    torch.testing.assert_close(probs, ckpt["yolo_hybrid"]["probs"], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("path", CHECKPOINTS, ids=lambda p: p.name)
def test_old_checkpoint_loads_weights_only_in_a_fresh_process(path):
    code = (
        "import torch\nfrom ultralytics import YOLO\n"
        f"model = YOLO({str(path)!r})\n"
        "print('TASK', model.task, sum(p.numel() for p in model.model.parameters()))\n"
    )
    out = assert_ok(run_python(code, env={**os.environ, "ULTRALYTICS_SAFE_LOAD": "1"}, cwd=ROOT))
    assert "TASK classify" in out
