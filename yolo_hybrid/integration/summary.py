"""Build a bundled (or any) model YAML at one scale and summarise it the way Ultralytics does.

Used by ``tools/update_cfg_summaries.py`` to write the per-scale summary comments into our YAMLs, and by the tests
to check those comments are current.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["TASK_MODELS", "build_model", "summarize", "summary_comment", "display_name"]

TASK_MODELS = {
    "detect": "DetectionModel",
    "segment": "SegmentationModel",
    "pose": "PoseModel",
    "obb": "OBBModel",
    "classify": "ClassificationModel",
}


def build_model(cfg: str | Path, scale: str, verbose: bool = False, nc: int | None = None):
    """Build the model of YAML ``cfg`` at ``scale`` (``"n"``...``"x"``) with its task's Ultralytics model class
    (with ``nc`` classes instead of the YAML's, if given: what training on a dataset does)."""
    import ultralytics.nn.tasks as tasks
    from ultralytics.utils import YAML

    d = YAML.load(str(cfg))
    d["scale"] = scale
    if nc is not None:
        d["nc"] = nc
    d["yaml_file"] = str(cfg)
    task = tasks.guess_model_task(d)
    return getattr(tasks, TASK_MODELS[task])(d, verbose=verbose)


def display_name(cfg: str | Path, scale: str) -> str:
    """Name as Ultralytics prints it: ``yolov8-bot3.yaml`` at ``s`` -> ``YOLOv8s-bot3``,
    ``yolo26-cmt`` -> ``YOLO26s-cmt``."""
    stem = re.sub(r"^yolo(v?\d+)", rf"YOLO\g<1>{scale}", Path(cfg).stem)
    return stem


def summarize(cfg: str | Path, scale: str, flops: bool = True, model=None) -> dict:
    """Layers, parameters, gradients and (optionally) GFLOPs of ``cfg`` at ``scale`` (or of ``model``, already built
    from it), via ``model_info``."""
    from ultralytics.utils.torch_utils import get_flops

    model = model if model is not None else build_model(cfg, scale)
    # Counted as model_info() counts (it only returns numbers when it also prints): leaf modules, all parameters.
    return {
        "layers": sum(1 for m in model.modules() if len(m._modules) == 0),
        "parameters": sum(p.numel() for p in model.parameters()),
        "gradients": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "gflops": get_flops(model, 640) if flops else None,
    }


def summary_comment(cfg: str | Path, scale: str, stats: dict) -> str:
    """The comment Ultralytics' ``model.info()`` prints, e.g. ``YOLOv8n-bot3 summary: 136 layers, ..., 8.8 GFLOPs``."""
    text = (
        f"{display_name(cfg, scale)} summary: {stats['layers']:,} layers, {stats['parameters']:,} parameters, "
        f"{stats['gradients']:,} gradients"
    )
    return text + (f", {stats['gflops']:,.1f} GFLOPs" if stats.get("gflops") is not None else "")
