"""FLOP counting of BoT blocks: what Ultralytics' counter (thop) and torch's FlopCounterMode see vs the formula."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from yolo_hybrid.nn.bot import BoT3


def analytic_bot3_flops(c1, c2, h, w, e=0.5, e2=1.0):
    """2 x multiply-accumulates of every conv and matmul in BoT3 with n=1, written from the architecture."""
    n = h * w
    c_ = int(c2 * e)
    cm = int(c_ * e2)
    convs = 2 * n * (c1 * c_ * 2 + 2 * c_ * c2)  # cv1, cv2, cv3
    convs += 2 * n * (c_ * cm + cm * 3 * cm + cm * c_)  # block cv1, qkv, block cv2
    attention = 2 * n * n * cm * 2  # q.k over all pairs, a.v
    relative = 2 * n * (w + h) * cm  # q.r_w[x_k - x_q] for every key column, q.r_h for every key row
    return convs + attention + relative


@pytest.mark.parametrize("use_sdpa", [True, False])
def test_flop_counters_see_the_attention(use_sdpa):
    thop = pytest.importorskip("thop")
    module = BoT3(64, 64, 1).eval()
    for m in module.modules():
        if hasattr(m, "use_sdpa"):
            m.use_sdpa = use_sdpa
    x = torch.randn(1, 64, 20, 15)
    expected = analytic_bot3_flops(64, 64, 20, 15)
    with FlopCounterMode(display=False) as counter:
        module(x)
    assert counter.get_total_flops() == expected
    macs, _ = thop.profile(module, inputs=(x,), verbose=False)
    assert expected <= 2 * macs <= 1.05 * expected  # thop adds the small BatchNorm/activation terms


def test_ultralytics_reports_attention_gflops():
    """model.info()'s GFLOPs include the attention (a 1-row proxy profile must not silently give 0)."""
    from ultralytics.utils.torch_utils import get_flops

    import yolo_hybrid
    from yolo_hybrid.integration.summary import build_model

    bot = build_model(yolo_hybrid.config_path("yolov8-bot3.yaml"), "n")
    flops = get_flops(bot, 640)
    assert flops > 0
    # BoT3 at P5 of 640 px (20x20 tokens, n scale: c2=256) accounts for its analytic share of the total.
    share = analytic_bot3_flops(256, 256, 20, 20) / 1e9
    assert flops > share
