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

import concurrent.futures
import functools
import os
import warnings
from pathlib import Path

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
FAMILIES_OF: dict = {}  # (task, target) -> our families exported there
for task, family, target in CASES:
    FAMILIES_OF.setdefault((task, target), []).append(family)
CASES = [
    pytest.param(*case, marks=[pytest.mark.xfail(strict=True, **KNOWN[case])] if case in KNOWN else [])
    for case in CASES
]
BLOCKED = [(family, target) for family in ("smt", "cmt") for target in ("mnn", "saved_model")]  # ONNX: tests/nn

# The work is done by jobs, not by the tests: one job per (task, target) exports the stock model and our configs of
# that pair in one child process (``outcomes``; a child's start-up, torch + Ultralytics + the converter, costs more
# than exporting a model at this size), one job per BLOCKED case exports its model alone. Every job the selected
# tests need starts when the first of them runs, WORKERS at a time (threads, each waiting on its child process),
# longest first; a test waits for its own job. (pytest-xdist's --dist loadgroup would keep a pair's cases on one
# worker, but with pytest 9.2 and pytest-xdist 3.8 it does not group them: xdist renames ``item._nodeid``, which
# pytest 9 no longer reads, so every worker exported every pair's models, twice the work.)
WORKERS = max(1, int(os.environ.get("YOLO_HYBRID_TEST_WORKERS") or min(4, os.cpu_count() or 1)))
# Seconds a detection job took on CI's 2 cores (stock + four configs, child start-up included), to start the longest
# first; a target not named here is taken as short. Other tasks' jobs export fewer or smaller models.
SECONDS = {
    "executorch": 290,
    "saved_model": 270,
    "litert-int8": 220,
    "litert": 190,
    "openvino-int8": 130,
    "coreml": 100,
    "paddle": 85,
    "onnx-int8": 70,
    "openvino": 55,
    "ncnn": 50,
    "mnn": 40,
}


def _job_of(item: pytest.Item) -> tuple | None:
    """The job a collected test of this file waits for: ``(task, target)`` or ``("blocked", family, target)``."""
    function = getattr(item, "function", None)
    if function is test_ours_deploys_where_stock_does:
        return (item.callspec.params["task"], item.callspec.params["target"])
    if function is test_attention_exported_in_query_blocks_deploys:
        return ("blocked", item.callspec.params["family"], item.callspec.params["target"])
    return None


def _cost(job: tuple) -> float:
    target = job[-1]
    if job[0] == "blocked":
        return SECONDS.get(target, 30) / 3
    return SECONDS.get(target, 30) * (1 if job[0] == "detect" else 0.5)


@pytest.fixture(scope="session")
def jobs(request, tmp_path_factory):
    """Job -> future of its outcomes, for every job the selected tests need whose toolchain is installed."""
    work = tmp_path_factory.mktemp("deploy")
    needed = {job for item in request.session.items if (job := _job_of(item))}
    needed = {job for job in needed if available(TARGETS[job[-1]])}
    for task in {job[0] for job in needed if job[0] != "blocked"}:
        calibration(task, str(work))  # here, once: jobs of one task run at the same time
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="deploy")
    futures = {
        job: pool.submit(blocked_outcome if job[0] == "blocked" else outcomes, *job[-2:], str(work))
        for job in sorted(needed, key=_cost, reverse=True)
    }
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


def test_every_toolchain_is_installed():
    """In the deploy venv nothing may be silently skipped for want of a package."""
    missing = {t: TARGETS[t].requires for t in DEPLOY if not available(TARGETS[t])}
    assert not missing, f"deploy toolchains missing: {missing}. Fix: bash scripts/setup_deploy.sh"


def outcomes(task: str, target: str, workdir: str) -> dict:
    """Config -> outcome of the stock model of ``task`` and ours of that pair's cases, exported to ``target``.

    Stock first, all in one child process (``check_targets_isolated``); a converter that aborts it costs only the
    model it was converting, whose outcome says so. A model that does not deploy there is checked again alone in a
    fresh child, and that outcome counts: a converter that keeps state between models in one process must not fail a
    model that deploys on its own (a warning says when the two differ).
    """
    configs = [f"{PREFIX[task]}.yaml"] + [f"{PREFIX[task]}-{family}.yaml" for family in FAMILIES_OF[task, target]]
    cwd = Path(workdir) / "cwd" / f"{task}-{target}"  # what a converter writes beside it stays in the job's folder
    cwd.mkdir(parents=True, exist_ok=True)
    options = {"imgsz": IMGSZ, "data": calibration(task, workdir), "timeout": TIMEOUT, "cwd": cwd}
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


def blocked_outcome(family: str, target: str, workdir: str):
    """yolov8n-``family`` exported to ``target`` with attention cut into 256-byte query blocks (one child); its
    outcome and export folder."""
    from yolo_hybrid.nn.query_blocks import BLOCK_BYTES_ENV

    folder = Path(workdir) / "blocked" / f"{family}-{target}"
    (folder / "cwd").mkdir(parents=True, exist_ok=True)
    outcome = check_target_isolated(
        f"yolov8n-{family}.yaml",
        target,
        imgsz=IMGSZ,
        workdir=folder / "export",
        timeout=TIMEOUT,
        env={BLOCK_BYTES_ENV: "256"},
        cwd=folder / "cwd",
    )
    return outcome, folder / "export" / target


@pytest.mark.parametrize("task, family, target", CASES)
def test_ours_deploys_where_stock_does(task, family, target, jobs):
    if not available(TARGETS[target]):
        pytest.skip(f"{target} toolchain not installed ({', '.join(TARGETS[target].requires)})")
    results = jobs[task, target].result()
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


@pytest.mark.parametrize("family, target", BLOCKED)
def test_attention_exported_in_query_blocks_deploys(family, target, jobs):
    """The converters that start from Ultralytics' ONNX file (MNN, onnx2tf) take attention cut into blocks of query
    rows.

    At ``IMGSZ`` no map is large enough for blocks (``yolo_hybrid.nn.query_blocks``): a 256-byte block size cuts every
    attention layer of the exported graph, which must still match PyTorch.
    """
    import onnx
    from ultralytics import YOLO

    from yolo_hybrid.nn.cmt import LightweightMHSA
    from yolo_hybrid.nn.smt import SMTAttention

    if not available(TARGETS[target]):
        pytest.skip(f"{target} toolchain not installed ({', '.join(TARGETS[target].requires)})")
    cfg = f"yolov8n-{family}.yaml"
    ours, export = jobs["blocked", family, target].result()
    assert ours.exported and ours.ran, ours.error
    assert ours.max_abs_diff <= TOLERANCE, f"{cfg} in {target}, attention in blocks: {ours.max_abs_diff:.2e}"
    graph = onnx.load(str(next(export.rglob("*.onnx")))).graph
    layers = sum(isinstance(m, (LightweightMHSA, SMTAttention)) for m in YOLO(cfg).model.modules())
    assert sum(node.op_type == "Softmax" for node in graph.node) > layers + 1  # + 1: the DFL's softmax
