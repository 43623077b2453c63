"""Every bundled config (scale n, untrained) through the export targets installed with the project.

TorchScript (static, dynamic) and ONNX (static, dynamic, opset 12) go through Ultralytics' own exporter and come back
through its ``AutoBackend``; raw outputs must match the fused PyTorch model (dynamic ones also at a non-square size).
The ONNX graphs must stay portable: no tensor above rank 5, no symbolic channel dimension in the outputs, and a
static BoT3 or CMT export no larger than the dynamic one beyond 1.3x. The heavier toolchains are in ``tests/deploy``.
"""

from __future__ import annotations

import re

import pytest

from yolo_hybrid.integration.configs import list_configs
from yolo_hybrid.integration.deploy import TARGETS, TOLERANCE, check_target

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

CORE = [t for t in TARGETS.values() if t.toolchain == "core" and not t.int8]  # int8: drift, in tests/deploy
IMGSZ = 64


def scale_n(cfg) -> str:
    """The bare scale-n name a user would write (``yolov8n-bot3.yaml``, ``yolo26n-seg-cot.yaml``)."""
    return re.sub(r"^(yolov?\d+)-", r"\1n-", cfg.name)


FAMILIES = ("bot3", "cot", "smt", "cmt")


def cases():
    """Every config through every core target, except the segment, pose and OBB variants: they are the detector with
    another stock head (``tests/test_configs.py::test_task_configs_are_the_detector_with_another_head``), so their
    blocks reach the exporter exactly as the detector's. One family per generation and task, in turn, checks our layers
    feeding each head. The YOLO11/YOLO26 task variants (classifiers included) go through the dynamic ONNX export only.
    """
    for cfg in list_configs():
        variant = re.match(r"^yolo(v8|11|26)-(seg|pose|obb|cls)-(\w+)\.yaml$", cfg.name)
        if variant and variant[2] != "cls":
            generation, task, family = variant.groups()
            turn = ("v8", "11", "26").index(generation) + ("seg", "pose", "obb").index(task)
            if family != FAMILIES[turn % len(FAMILIES)]:
                continue
        for target in CORE:
            if not variant or variant[1] == "v8" or target.name == "onnx-dynamic":
                yield pytest.param(cfg, target, id=f"{cfg.stem}-{target.name}")


def max_rank(path: str) -> tuple[int, str]:
    """Highest tensor rank in an ONNX graph after shape inference, and one tensor that has it."""
    graph = onnx.shape_inference.infer_shapes(onnx.load(path)).graph
    ranks = [(len(v.type.tensor_type.shape.dim), v.name) for v in (*graph.value_info, *graph.output, *graph.input)]
    return max(ranks)


def output_dims(path: str) -> list[list]:
    return [[d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim] for o in onnx.load(path).graph.output]


@pytest.mark.parametrize("cfg, target", list(cases()))
def test_core_target_matches_pytorch(cfg, target, tmp_path, monkeypatch):
    from ultralytics import YOLO

    monkeypatch.chdir(tmp_path)
    outcome = check_target(YOLO(scale_n(cfg)), target, imgsz=IMGSZ, workdir=tmp_path)
    assert outcome.exported and outcome.ran, outcome.error
    assert outcome.max_abs_diff <= TOLERANCE, outcome
    if target.format == "onnx":
        rank, tensor = max_rank(outcome.path)
        assert rank <= 5, f"{tensor} has rank {rank}"
        for dims in output_dims(outcome.path):  # channels stay static; batch, anchors, mask size may be dynamic
            assert isinstance(dims[1], int), dims


@pytest.mark.parametrize("cfg", ["yolov8n-bot3.yaml", "yolov8n-cmt.yaml"])
def test_static_onnx_keeps_position_tables_small(cfg, tmp_path):
    """BoT's position logits and CMT's bias come from offset tables; a static export must not store per-size expansions.

    CMT's gathered (heads, N, N_k) bias made its static 640 px file 82 MB instead of 17 MB before its offsets were
    computed from the input under ONNX export.
    """
    from ultralytics import YOLO

    sizes = {}
    for dynamic in (False, True):
        outcome = check_target(
            YOLO(cfg), TARGETS["onnx-dynamic" if dynamic else "onnx"], imgsz=640, workdir=tmp_path / str(dynamic)
        )
        assert outcome.ran, outcome.error
        assert outcome.max_abs_diff <= TOLERANCE, outcome
        sizes[dynamic] = outcome.size_mb
    assert sizes[False] <= 1.3 * sizes[True], sizes
