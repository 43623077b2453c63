"""The GFLOPs Ultralytics reports (``model.info()``, ``get_flops``) for every bundled config, against torch's own
``FlopCounterMode`` (2 per multiply-add, the same convention) at 640 px and at a non-square size, before and after
``fuse()``: within 5 %, so GFLOPs-based comparisons (the benchmark's E) rest on a count torch agrees with.
Torch's count is taken with attention in plain matmuls (``flop_counter_gflops``): its counter has no formula for
the CPU flash-attention kernel."""

from __future__ import annotations

import copy
import re

import pytest

from yolo_hybrid.bench import flop_counter_gflops
from yolo_hybrid.integration.configs import list_configs
from yolo_hybrid.integration.summary import build_model

SIZES = [(640, 640), (384, 640)]


# Every YOLOv8 config, and the YOLO11/YOLO26 detectors (they hold every C3k2/C2PSA form; the task variants only add a
# stock head).
CONFIGS = [p for p in list_configs() if not re.match(r"^yolo(11|26)-(seg|pose|obb|cls)-", p.name)]


@pytest.mark.slow
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda p: p.stem)
def test_reported_gflops_match_the_flop_counter(cfg):
    pytest.importorskip("thop")
    from ultralytics.utils.torch_utils import get_flops

    model = build_model(cfg, "n")
    for label, m in (("built", model), ("fused", copy.deepcopy(model).fuse())):
        for size in SIZES:
            reported, counted = get_flops(m, list(size)), flop_counter_gflops(m, size)
            assert counted > 0
            assert abs(reported - counted) <= 0.05 * counted, f"{label} at {size}: {reported:.3f} vs {counted:.3f}"
