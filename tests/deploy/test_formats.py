"""The deploy group: every heavy export toolchain, each bundled config against the stock model of the same task.

Runs in the deploy venv (``scripts/setup_deploy.sh``; ``scripts/test.sh`` runs it after the main suite). For every
target the stock YOLOv8n model of the task is exported first, in the same run; where it exports and runs within
tolerance, ours must too. Where the stock model fails as well, the case is skipped with the converter's message.
Detection configs go through every target; the other tasks through the quickest toolchains (NCNN, MNN: every
classifier, one family per segment, pose and OBB head, whose blocks are the detector's) —
``benchmarks/deploy.py`` covers every task in every target for the table of docs/deployment.md.
Int8 targets (detection) must export and run wherever the stock model's do, with finite outputs of the right shape;
their drift is reported by the benchmark, not judged here.
"""

from __future__ import annotations

import functools
import os
import warnings

import pytest

from yolo_hybrid.data import make_dataset
from yolo_hybrid.integration.deploy import STOCK_PREFIX as PREFIX
from yolo_hybrid.integration.deploy import (
    TARGETS,
    TOLERANCE,
    available,
    check_target_isolated,
    check_targets_isolated,
    deploys,
)

pytestmark = pytest.mark.deploy

IMGSZ = 64
TIMEOUT = 300  # seconds per export and check; stock models need 5-45 s at this size
FAMILIES = ("bot3", "cot", "smt", "cmt")
QUICK = ("ncnn", "mnn")
# Left to benchmarks/deploy.py, for CI's time: the dynamic OpenVINO variant and MNN's int8 weights (same converters,
# one option each). ONNX Runtime's int8 is core but calibrates, so it runs here with the other int8 targets.
DEPLOY = [
    t.name
    for t in TARGETS.values()
    if (t.toolchain == "deploy" or t.int8) and t.name not in ("openvino-dynamic", "mnn-int8")
]
# Segment, pose and OBB configs are the detector with another head (tests/test_configs.py), so their blocks reach a
# converter exactly as the detector's: one family per task and quick target, in turn, checks our layers feeding each
# stock head. Classifiers have their own backbone: every family.
HEADS = [
    (task, FAMILIES[(2 * i + j) % len(FAMILIES)], target)
    for i, task in enumerate(("segment", "pose", "obb"))
    for j, target in enumerate(QUICK)
]
CASES = (
    [("detect", family, target) for target in DEPLOY for family in FAMILIES]
    + HEADS
    + [("classify", family, target) for target in QUICK for family in FAMILIES]
)
if os.environ.get("YOLO_HYBRID_DEPLOY_TARGETS"):  # e.g. "ncnn,mnn" to rerun a few
    CASES = [case for case in CASES if case[2] in os.environ["YOLO_HYBRID_DEPLOY_TARGETS"].split(",")]
# Where we fail and stock does not, each with the converter's own message (none at present).
KNOWN: dict = {}  # e.g. (task, family, target): dict(reason="the converter's message"), run=False if it aborts
# scripts/test.sh runs this group on one pytest-xdist worker per core (--dist loadgroup): the cases of one task and
# target share a worker, which exports the stock model and our four of that pair in one child process (outcomes'
# cache): a child's start-up (torch, Ultralytics, the converter) costs more than exporting a model at this size.
FAMILIES_OF: dict = {}  # (task, target) -> our families exported there
for task, family, target in CASES:
    FAMILIES_OF.setdefault((task, target), []).append(family)
CASES = [
    pytest.param(
        *case,
        marks=[pytest.mark.xdist_group(f"{case[0]}-{case[2]}")]
        + ([pytest.mark.xfail(strict=True, **KNOWN[case])] if case in KNOWN else []),
    )
    for case in CASES
]


def test_every_toolchain_is_installed():
    """In the deploy venv nothing may be silently skipped for want of a package."""
    missing = {t: TARGETS[t].requires for t in DEPLOY if not available(TARGETS[t])}
    assert not missing, f"deploy toolchains missing: {missing}. Fix: bash scripts/setup_deploy.sh"


@functools.cache
def outcomes(task: str, target: str, workdir: str) -> dict:
    """Config -> outcome of the stock model of ``task`` and ours of that pair's cases, exported to ``target``.

    Stock first, all in one child process (``check_targets_isolated``); a converter that aborts it costs only the
    model it was converting, whose outcome says so. A model that does not deploy there is checked again alone in a
    fresh child, and that outcome counts: a converter that keeps state between models in one process must not fail a
    model that deploys on its own (a warning says when the two differ).
    """
    configs = [f"{PREFIX[task]}.yaml"] + [f"{PREFIX[task]}-{family}.yaml" for family in FAMILIES_OF[task, target]]
    options = {"imgsz": IMGSZ, "data": calibration(task, workdir), "timeout": TIMEOUT}
    results = check_targets_isolated(configs, target, workdirs=[f"{workdir}/{cfg}" for cfg in configs], **options)
    found = dict(zip(configs, results, strict=True))
    for cfg, shared in found.items():
        if not deploys(shared):
            found[cfg] = check_target_isolated(cfg, target, workdir=f"{workdir}/alone/{cfg}", **options)
            if deploys(found[cfg]):
                warnings.warn(f"{cfg} in {target}: deploys alone, not after other models in one process", stacklevel=1)
    return found


@functools.cache
def calibration(task: str, workdir: str) -> str:
    """A few synthetic images of the task for int8 calibration (unused by float targets)."""
    return str(make_dataset(f"{workdir}/calibration-{task}", task, n_train=2, n_val=4, imgsz=IMGSZ))


@pytest.mark.parametrize("task, family, target", CASES)
def test_ours_deploys_where_stock_does(task, family, target, tmp_path_factory, monkeypatch):
    if not available(TARGETS[target]):
        pytest.skip(f"{target} toolchain not installed ({', '.join(TARGETS[target].requires)})")
    work = tmp_path_factory.getbasetemp() / "deploy"
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    results = outcomes(task, target, str(work))
    stock = results[f"{PREFIX[task]}.yaml"]
    if not deploys(stock):
        pytest.skip(f"stock {PREFIX[task]} fails in {target} too: {stock.error or stock.max_abs_diff}")
    cfg = f"{PREFIX[task]}-{family}.yaml"
    ours = results[cfg]
    assert ours.exported, ours.error
    if TARGETS[target].runs_on_linux:
        assert ours.ran, ours.error
        if TARGETS[target].int8:
            assert deploys(ours), f"{cfg} in {target}: output not finite ({ours.max_abs_diff})"
        else:
            assert ours.max_abs_diff <= TOLERANCE, (
                f"{cfg} in {target}: {ours.max_abs_diff:.2e}, stock {stock.max_abs_diff:.2e}"
            )


BLOCKED = [(family, target) for family in ("smt", "cmt") for target in ("mnn", "saved_model")]  # ONNX: tests/nn


@pytest.mark.parametrize("family, target", BLOCKED)
def test_attention_exported_in_query_blocks_deploys(family, target, tmp_path, monkeypatch):
    """The converters that start from Ultralytics' ONNX file (MNN, onnx2tf) take attention cut into blocks of query
    rows.

    At ``IMGSZ`` no map is large enough for blocks (``yolo_hybrid.nn.query_blocks``): a 256-byte block size cuts every
    attention layer of the exported graph, which must still match PyTorch.
    """
    import onnx
    from ultralytics import YOLO

    from yolo_hybrid.nn.cmt import LightweightMHSA
    from yolo_hybrid.nn.query_blocks import BLOCK_BYTES_ENV
    from yolo_hybrid.nn.smt import SMTAttention

    if not available(TARGETS[target]):
        pytest.skip(f"{target} toolchain not installed ({', '.join(TARGETS[target].requires)})")
    monkeypatch.setenv(BLOCK_BYTES_ENV, "256")
    monkeypatch.chdir(tmp_path)
    cfg = f"yolov8n-{family}.yaml"
    ours = check_target_isolated(cfg, target, imgsz=IMGSZ, workdir=tmp_path / "export", timeout=TIMEOUT)
    assert ours.exported and ours.ran, ours.error
    assert ours.max_abs_diff <= TOLERANCE, f"{cfg} in {target}, attention in blocks: {ours.max_abs_diff:.2e}"
    graph = onnx.load(str(next((tmp_path / "export" / target).rglob("*.onnx")))).graph
    layers = sum(isinstance(m, (LightweightMHSA, SMTAttention)) for m in YOLO(cfg).model.modules())
    assert sum(node.op_type == "Softmax" for node in graph.node) > layers + 1  # + 1: the DFL's softmax
