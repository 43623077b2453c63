"""Every bundled config: builds at every scale, runs at two sizes (one non-square), summary comments are current."""

from __future__ import annotations

import re

import pytest
import torch

from yolo_hybrid.integration.configs import list_configs
from yolo_hybrid.integration.summary import build_model, summarize, summary_comment

CONFIGS = list(list_configs())
SCALES = "nsmlx"


def test_configs_cover_every_task_and_names_are_safe():
    names = {p.name for p in CONFIGS}
    for base in ("yolov8", "yolo11", "yolo26"):
        for task in ("", "seg-", "pose-", "obb-", "cls-"):
            for family in ("bot3", "cot", "smt", "cmt"):
                assert f"{base}-{task}{family}.yaml" in names
    assert "yolov8-cls-botnet50.yaml" in names
    for name in names:
        stem = name.rsplit(".", 1)[0]
        assert not re.search(r"\d[nslmx]", stem.split("-", 1)[1]), f"{name}: a digit + scale letter after the scale"


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda p: p.stem)
@pytest.mark.parametrize("scale", SCALES)
def test_builds_runs_at_two_sizes_and_summary_is_current(cfg, scale):
    model = build_model(cfg, scale)
    _check_summary_comment(cfg, scale, model)  # before any forward: the comment is about the freshly built model
    model.eval()
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


def test_yolo11_and_yolo26_configs_are_generated_and_current():
    """What tools/make_c3k2_configs.py writes from the installed Ultralytics' own YAMLs (summary comments aside)."""
    import tools.make_c3k2_configs as make

    for base in make.BASES:
        for task in make.TASKS:
            for family in make.PLANS:
                path = next(p for p in CONFIGS if p.name == make.config_name(base, task, family))
                assert make._strip_summaries(path.read_text()) == make._strip_summaries(
                    make.generate(base, task, family)
                ), f"stale {path.name}: run python tools/make_c3k2_configs.py"


def test_newer_configs_state_the_release_they_need():
    from ultralytics.utils import YAML

    from yolo_hybrid.errors import UnsupportedUltralyticsError
    from yolo_hybrid.integration.parser import check_requirement

    for cfg in CONFIGS:
        d = {**YAML.load(str(cfg)), "yaml_file": cfg.name}
        needed = {"yolo11": "8.3.0", "yolo26": "8.4.0"}.get(cfg.name.split("-")[0])
        assert d.get("yolo_hybrid_requires") == (f"ultralytics>={needed}" if needed else None), cfg.name
        if needed:
            check_requirement(d, needed)
            with pytest.raises(
                UnsupportedUltralyticsError,
                match=rf"{cfg.name} needs ultralytics>={needed} .*this "
                r"is ultralytics 8\.2\.103\. Fix: pip install",
            ):
                check_requirement(d, "8.2.103")


def _check_summary_comment(cfg, scale: str, model) -> None:
    """The comment written by tools/update_cfg_summaries.py; layers/params at every scale, GFLOPs at n."""
    line = re.search(rf"^\s+{scale}:\s*\[[^\]]*\]\s*#\s*(.*)$", cfg.read_text(), re.M)
    assert line, f"{cfg.name}: no summary comment for scale {scale}"
    stats = summarize(cfg, scale, flops=scale == "n", model=model)
    expected = summary_comment(cfg, scale, stats)
    line_text = line.group(1) if scale == "n" else re.sub(r", [\d.,]+ GFLOPs$", "", line.group(1))
    assert line_text == expected, "stale: run python tools/update_cfg_summaries.py"


@pytest.mark.parametrize("base", ["yolov8", "yolo11", "yolo26"])
@pytest.mark.parametrize("task", ["seg", "pose", "obb"])
def test_task_configs_are_the_detector_with_another_head(base, task):
    """Segment, pose and OBB configs differ from their detector only in the last row (the task head) and the task's
    own keys. The deploy group relies on it: their blocks reach a converter exactly as the detector's do, so it
    exports one family per task and target (tests/deploy/test_formats.py)."""
    from ultralytics.utils import YAML

    heads = {"seg": "Segment", "pose": "Pose", "obb": "OBB"}
    for family in ("bot3", "cot", "smt", "cmt"):
        detect = YAML.load(str(next(p for p in CONFIGS if p.name == f"{base}-{family}.yaml")))
        other = YAML.load(str(next(p for p in CONFIGS if p.name == f"{base}-{task}-{family}.yaml")))
        assert other["backbone"] == detect["backbone"] and other["head"][:-1] == detect["head"][:-1], other
        assert other["head"][-1][:2] == detect["head"][-1][:2] and detect["head"][-1][2] == "Detect"
        assert heads[task] in other["head"][-1][2], other["head"][-1]  # Segment26, Pose26, OBB26 in YOLO26
        extra = set(other) - set(detect)
        assert extra <= {"kpt_shape"}, extra
        own = {"scales", "head", "nc", "kpt_shape"}  # scales: only their summary comments differ; nc: a task default
        assert {k: other[k] for k in detect if k not in own} == {k: detect[k] for k in detect if k not in own}
