"""Every bundled config: builds at every scale, runs at two sizes (one non-square), summary comments are current."""

from __future__ import annotations

import re

import pytest
import torch

from yolo_hybrid.integration.configs import list_configs
from yolo_hybrid.integration.summary import build_model, summarize, summary_comment

CONFIGS = [p for p in list_configs()]
SCALES = "nsmlx"


def test_configs_cover_every_task_and_names_are_safe():
    names = {p.name for p in CONFIGS}
    for task in ("", "seg-", "pose-", "obb-", "cls-"):
        for family in ("bot3", "cot", "smt", "cmt"):
            assert f"yolov8-{task}{family}.yaml" in names
    assert "yolov8-cls-botnet50.yaml" in names
    for name in names:
        stem = name.rsplit(".", 1)[0]
        assert not re.search(r"\d[nslmx]", stem.split("-", 1)[1]), f"{name}: a digit + scale letter after the scale"


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda p: p.stem)
@pytest.mark.parametrize("scale", SCALES)
def test_builds_and_runs_at_two_sizes(cfg, scale):
    model = build_model(cfg, scale).eval()
    is_cls = "-cls-" in cfg.name
    sizes = [(64, 64), (64, 96)] if scale in "ns" else [(32, 32), (32, 64)]
    with torch.no_grad():
        for h, w in sizes:
            out = model(torch.zeros(1, 3, h, w))
            while isinstance(out, (tuple, list)):  # eval heads return (predictions, extras)
                out = out[0]
            if is_cls:
                assert out.shape == (1, model.yaml["nc"])
                torch.testing.assert_close(out.sum(), torch.tensor(1.0))  # softmax in eval
            else:
                anchors = sum((h // s) * (w // s) for s in (8, 16, 32))
                assert out.shape[0] == 1 and out.shape[-1] == anchors


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda p: p.stem)
def test_summary_comments_are_generated_and_current(cfg):
    """Comments written by tools/update_cfg_summaries.py; params/layers checked at every scale, GFLOPs at n."""
    text = cfg.read_text()
    for scale in SCALES:
        line = re.search(rf"^\s+{scale}:\s*\[[^\]]*\]\s*#\s*(.*)$", text, re.M)
        assert line, f"{cfg.name}: no summary comment for scale {scale}"
        stats = summarize(cfg, scale, flops=scale == "n")
        expected = summary_comment(cfg, scale, stats)
        if scale != "n":
            line_text = re.sub(r", [\d.,]+ GFLOPs$", "", line.group(1))
        else:
            line_text = line.group(1)
        assert line_text == expected, "stale: run python tools/update_cfg_summaries.py"
