"""Export a model through Ultralytics' own exporter and check the exported model against the fused PyTorch model.

One description per deployment target (``TARGETS``): the Ultralytics ``format=``, its export options, the Python
modules its converter and its runtime need, whether the runtime runs on Linux and whether the export is int8.
``check_target`` exports, loads the result with Ultralytics' ``AutoBackend`` (what ``YOLO('model.onnx').predict``
uses), compares raw outputs on one input and, given images, compares the predictions at ``conf`` with the PyTorch
model's. Float targets must match PyTorch (``deploys``); int8 targets report their drift (the same figures, plus how
many of PyTorch's predictions they find again) next to the stock model's, with no parity claim. The tests, the
deployment benchmark (``benchmarks/deploy.py``) and the deployment table of docs/deployment.md all go through this one
function.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import math
import os
import shutil
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = [
    "Target",
    "TARGETS",
    "Outcome",
    "check_target",
    "check_target_isolated",
    "check_targets_isolated",
    "available",
    "exported_size",
    "write_onnx2tf_calibration_sample",
    "STOCK_PREFIX",
    "TOLERANCE",
    "deploys",
    "count_found",
    "MATCH_IOU",
]

TOLERANCE = 1e-3  # largest absolute difference of raw head outputs (pixels, scores) that counts as parity
MATCH_IOU = 0.5  # an int8 prediction finds a PyTorch one of the same class at this IoU or more
STOCK_PREFIX = {
    "detect": "yolov8n",
    "segment": "yolov8n-seg",
    "pose": "yolov8n-pose",
    "obb": "yolov8n-obb",
    "classify": "yolov8n-cls",
}  # the stock scale-n model per task; ours are f"{prefix}-{family}.yaml"


@dataclass(frozen=True)
class Target:
    """One deployment target.

    Attributes:
        name (str): Label (``onnx-dynamic``).
        format (str): Ultralytics ``format=`` value.
        options (dict): Extra export arguments (``dynamic``, ``opset``, ...).
        requires (tuple[str, ...]): Importable modules the converter and runtime need.
        runs_on_linux (bool): Whether the exported model can be run here (CoreML runs only on macOS).
        toolchain (str): ``core`` (always installed with the project) or ``deploy`` (the deploy test group's venv).
        int8 (str): ``""`` for a float export; ``"static"`` for int8 weights and activations calibrated on images
            (``check_target(data=...)``); ``"weights"`` for int8 weights computed in float. Int8 drift is reported,
            not judged.
    """

    name: str
    format: str
    options: dict = field(default_factory=dict)
    requires: tuple[str, ...] = ()
    runs_on_linux: bool = True
    toolchain: str = "deploy"
    int8: str = ""


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("torchscript", "torchscript", toolchain="core"),
        Target("torchscript-dynamic", "torchscript", {"dynamic": True}, toolchain="core"),
        Target("onnx", "onnx", {}, ("onnx", "onnxruntime"), toolchain="core"),
        Target("onnx-dynamic", "onnx", {"dynamic": True}, ("onnx", "onnxruntime"), toolchain="core"),
        Target("onnx-opset12", "onnx", {"opset": 12}, ("onnx", "onnxruntime"), toolchain="core"),
        Target("openvino", "openvino", {}, ("openvino",)),
        Target("openvino-dynamic", "openvino", {"dynamic": True}, ("openvino",)),
        Target("ncnn", "ncnn", {}, ("ncnn", "pnnx")),
        Target("mnn", "mnn", {}, ("MNN", "onnxruntime")),
        Target("litert", "litert", {}, ("litert_torch", "ai_edge_litert")),
        Target("executorch", "executorch", {}, ("executorch",)),
        Target("saved_model", "saved_model", {}, ("tensorflow", "onnx2tf")),
        Target("paddle", "paddle", {}, ("paddle", "x2paddle")),
        Target("coreml", "coreml", {}, ("coremltools",), runs_on_linux=False),
        # Static int8: weights and activations, calibrated on data= (ONNX Runtime: Conv/Gemm/MatMul only).
        Target("onnx-int8", "onnx", {"quantize": 8}, ("onnx", "onnxruntime"), toolchain="core", int8="static"),
        Target("openvino-int8", "openvino", {"quantize": 8}, ("openvino", "nncf"), int8="static"),
        Target(
            "litert-int8",
            "litert",
            {"quantize": 8},
            ("litert_torch", "ai_edge_litert", "ai_edge_quantizer"),
            int8="static",
        ),
        Target("mnn-int8", "mnn", {"quantize": 8}, ("MNN", "onnxruntime"), int8="weights"),  # --weightQuantBits 8
    )
}


@dataclass
class Outcome:
    """What happened to one model in one target (a row of the deployment table)."""

    target: str
    model: str
    exported: bool = False
    ran: bool = False
    path: str | None = None
    size_mb: float | None = None
    max_abs_diff: float | None = None
    output_scale: float | None = None
    same_predictions: bool | None = None
    predictions: int | None = None
    found: int | None = None
    prediction_note: str | None = None
    export_seconds: float | None = None
    error: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def deploys(outcome: Outcome) -> bool:
    """Exported, and (where it can run here) within ``TOLERANCE`` of PyTorch with the same predictions if compared.

    An int8 target deploys when it exports and runs with finite outputs of the right shape; its drift is reported.
    """
    if not TARGETS[outcome.target].runs_on_linux:
        return outcome.exported
    if TARGETS[outcome.target].int8:
        return outcome.ran and math.isfinite(outcome.max_abs_diff)
    return outcome.ran and outcome.max_abs_diff <= TOLERANCE and outcome.same_predictions is not False


def available(target: Target) -> bool:
    """Whether every module the target needs can be imported here (without importing it)."""
    return all(importlib.util.find_spec(m) is not None for m in target.requires)


def exported_size(path: str | Path) -> float:
    """Size in MB of an exported file or model directory."""
    path = Path(path)
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6
    return path.stat().st_size / 1e6


def write_onnx2tf_calibration_sample(folder: str | Path = ".") -> Path:
    """Write the calibration sample Ultralytics' TensorFlow export otherwise downloads into the working directory.

    Ultralytics fetches ``calibration_image_sample_data_20x128x128x3_float32.npy`` (onnx2tf's default int8
    calibration set) before every TensorFlow export unless the file is present, which fails offline. A float export
    never reads it; an int8 export with ``data=`` calibrates on that dataset instead. Twenty seeded uniform images of
    the expected shape stand in for it.
    """
    import numpy as np

    path = Path(folder) / "calibration_image_sample_data_20x128x128x3_float32.npy"
    if not path.exists():
        np.save(path, np.random.default_rng(0).random((20, 128, 128, 3), dtype=np.float32))
    return path


@contextlib.contextmanager
def openvino_fp32():
    """Compile OpenVINO models in fp32 inside the block.

    Ultralytics' OpenVINO backend asks for fp32 only on Windows and ARM64; on a CPU with AVX512-BF16 the plugin then
    runs bf16 (about a pixel of box error, for stock models too). Parity is measured in
    fp32; docs/deployment.md says so.
    """
    import openvino as ov

    original = ov.Core.compile_model

    def compile_model(self, model, device_name=None, config=None, **kwargs):
        return original(self, model, device_name, {**(config or {}), "INFERENCE_PRECISION_HINT": ov.Type.f32}, **kwargs)

    ov.Core.compile_model = compile_model
    try:
        yield
    finally:
        ov.Core.compile_model = original


def _first_tensor(out):
    while isinstance(out, (tuple, list)):
        out = out[0]
    return out


def _error_text(exc: BaseException) -> str:
    lines = traceback.format_exception_only(type(exc), exc)
    return " ".join(line.strip() for line in lines)[-600:]


def _predictions(results) -> list[tuple]:
    """(class, confidence, box corners) per prediction of a list of Ultralytics Results; top-1 for classification."""
    rows = []
    for r in results:
        if r.probs is not None:
            rows.append((int(r.probs.top1), float(r.probs.top1conf), ()))
            continue
        boxes = r.obb if r.obb is not None else r.boxes
        coords = boxes.xyxyxyxy.reshape(len(boxes), 8) if r.obb is not None else boxes.xyxy  # 8: also with no boxes
        rows.extend(
            (int(c), float(s), tuple(b))
            for c, s, b in zip(boxes.cls.tolist(), boxes.conf.tolist(), coords.tolist(), strict=False)
        )
    return rows


def compare_predictions(reference: list[tuple], exported: list[tuple], pixel_tol: float = 1.0) -> tuple[bool, str]:
    """Same count, classes and boxes (each corner within ``pixel_tol`` px), matched greedily by class and position."""
    if len(reference) != len(exported):
        return False, f"{len(exported)} predictions, PyTorch {len(reference)}"
    unmatched = list(exported)
    worst = 0.0
    for cls, _, box in reference:
        candidates = [
            (max((abs(a - b) for a, b in zip(box, other, strict=False)), default=0.0), i)
            for i, (c, _, other) in enumerate(unmatched)
            if c == cls
        ]
        if not candidates:
            return False, f"class {cls} box {[round(v, 1) for v in box]} missing"
        dist, i = min(candidates)
        if dist > pixel_tol:
            return False, f"class {cls} box off by {dist:.2f} px"
        worst = max(worst, dist)
        unmatched.pop(i)
    return True, f"{len(reference)} predictions, largest corner difference {worst:.3f} px"


def _extents(rows: list[tuple]):
    """(n, 4) axis-aligned xyxy of the rows' boxes, given as corners (xyxy, or an OBB's four xy points)."""
    import torch

    corners = torch.tensor([box for _, _, box in rows], dtype=torch.float64).reshape(len(rows), -1, 2)
    return torch.cat([corners.amin(1), corners.amax(1)], 1)


def count_found(reference: list[tuple], exported: list[tuple], iou: float = MATCH_IOU) -> int:
    """How many ``reference`` predictions an ``exported`` one of the same class overlaps at ``iou`` or more.

    Greedy by reference confidence, each exported prediction used once; OBBs compare their axis-aligned extents and
    classification rows (no box) match on the class alone.
    """
    from ultralytics.utils.metrics import box_iou

    reference = sorted(reference, key=lambda row: -row[1])
    boxed = bool(reference and exported and reference[0][2])
    # eps=0 keeps an overlap of exactly ``iou`` found; a degenerate box gives nan, which is never >= iou
    overlaps = box_iou(_extents(reference), _extents(exported), eps=0).tolist() if boxed else None
    unused, found = set(range(len(exported))), 0
    for r, (cls, _, _) in enumerate(reference):
        scores = [(overlaps[r][e] if boxed else 1.0, e) for e in unused if exported[e][0] == cls]
        best, e = max(scores, default=(0.0, -1))
        if best >= iou:
            found += 1
            unused.discard(e)
    return found


def check_target(
    model,
    target: Target | str,
    imgsz: int = 160,
    workdir: str | Path | None = None,
    images: list | None = None,
    conf: float = 0.25,
    name: str | None = None,
    data: str | Path | None = None,
) -> Outcome:
    """Export ``model`` to ``target`` with Ultralytics' exporter and compare the result with the fused PyTorch model.

    Args:
        model (ultralytics.YOLO): A built or loaded model. It is not modified (the exporter works on a copy).
        target (Target | str): A ``TARGETS`` entry or its name.
        imgsz (int): Export and comparison size.
        workdir (str | Path | None): Where the export goes (a fresh sub-directory per target); default: next to the
            model's weights, as Ultralytics does.
        images (list | None): Image paths or arrays for the prediction comparison (skipped when None).
        conf (float): Confidence threshold of that comparison.
        name (str | None): Model label for the outcome (default: the model's YAML or weights name).
        data (str | Path | None): Calibration dataset (Ultralytics ``data=``; its ``val`` images are used), required
            by static int8 targets.

    Returns:
        (Outcome): Exported or not (with the converter's own error), file size, maximum absolute difference of the raw
        output on a fixed random input, and whether the predictions are the same (int8: how many are found again).

    Raises:
        ValueError: A static int8 target without ``data``.
    """
    from ultralytics import YOLO

    target = TARGETS[target] if isinstance(target, str) else target
    calibrated = target.int8 == "static"
    if calibrated and data is None:
        raise ValueError(f"target {target.name!r} is int8 and calibrates on images: pass data=<dataset YAML or folder>")
    options = {**target.options, **({"data": str(data)} if calibrated else {})}
    label = name or Path(str(getattr(model, "ckpt_path", None) or model.model.yaml.get("yaml_file", "model"))).name
    outcome = Outcome(target=target.name, model=label)
    source, folder = model, Path.cwd()
    if workdir is not None:  # export from a copy saved in its own directory, so targets never share files
        folder = Path(workdir) / target.name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        weights = folder / f"{Path(label).stem}.pt"
        model.save(weights)  # Ultralytics saves fp16 weights: compare against the reloaded copy, not the original
        source = YOLO(weights, task=model.task)
    reference = copy.deepcopy(source.model).float().fuse().eval()
    start = time.perf_counter()
    try:
        with contextlib.chdir(folder):
            if target.format in ("saved_model", "pb", "edgetpu"):
                write_onnx2tf_calibration_sample()
            path = source.export(format=target.format, imgsz=imgsz, device="cpu", verbose=False, **options)
    except Exception as exc:  # the converter's own message is the finding
        outcome.error = f"export: {_error_text(exc)}"
        return outcome
    finally:
        outcome.export_seconds = round(time.perf_counter() - start, 2)
    if not path or not os.path.exists(path):
        outcome.error = f"export: Ultralytics reported no file ({path!r})"
        return outcome
    outcome.exported, outcome.path, outcome.size_mb = True, str(path), round(exported_size(path), 3)
    if not target.runs_on_linux:
        return outcome
    try:
        with openvino_fp32() if target.format == "openvino" else contextlib.nullcontext():
            _compare(outcome, target, outcome.path, source, reference, imgsz, images, conf)
    except Exception as exc:
        outcome.error = f"run: {_error_text(exc)}"
    return outcome


def _compare(outcome: Outcome, target: Target, path: str, source, reference, imgsz: int, images, conf: float) -> None:
    """Raw outputs of the exported model vs ``reference``, then predictions vs ``source`` (fills ``outcome``)."""
    import numpy as np
    import torch
    from ultralytics import YOLO
    from ultralytics.nn.autobackend import AutoBackend

    backend = AutoBackend(path, device=torch.device("cpu"), verbose=False)
    generator = torch.Generator().manual_seed(0)
    taller = max(32, imgsz * 3 // 2 // 32 * 32)  # another stride multiple
    sizes = [(imgsz, imgsz)] + ([(taller, imgsz)] if target.options.get("dynamic") else [])
    diffs, scales = [], []
    for size in sizes:  # a dynamic export must also be right at another, non-square size
        x = torch.rand(1, 3, *size, generator=generator)
        with torch.no_grad():
            expected = _first_tensor(reference(x)).float().numpy()
            got = _first_tensor(backend(x))
        got = got.float().cpu().numpy() if isinstance(got, torch.Tensor) else np.asarray(got, dtype=np.float32)
        if got.shape != expected.shape:
            outcome.error = f"run: output shape {got.shape} at input {size}, PyTorch {expected.shape}"
            return
        diffs.append(float(np.abs(got - expected).max()))
        scales.append(float(np.abs(expected).max()))
    outcome.ran = True
    outcome.max_abs_diff, outcome.output_scale = max(diffs), max(scales)
    if images is not None:
        exported_model = YOLO(path, task=source.task)
        common = {"imgsz": imgsz, "conf": conf, "device": "cpu", "verbose": False}
        ours = _predictions(exported_model.predict(images, **common))
        theirs = _predictions(source.predict(images, **common))
        outcome.predictions, outcome.found = len(theirs), count_found(theirs, ours)
        outcome.same_predictions, outcome.prediction_note = compare_predictions(theirs, ours)


def check_target_isolated(
    model: str | Path,
    target: str,
    imgsz: int = 160,
    workdir: str | Path | None = None,
    images: list | None = None,
    conf: float = 0.25,
    name: str | None = None,
    data: str | Path | None = None,
    timeout: float = 1800,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
) -> Outcome:
    """``check_target`` in a child interpreter, for converters that can abort the process (a native crash).

    Args:
        model (str | Path): A config name or weights file the child loads with ``YOLO(model)``.
        timeout (float): Seconds before the child is killed (reported as an error).
        env (dict | None): Environment variables set for the child only, over the caller's.
        cwd (str | Path | None): The child's working directory (default: the caller's).

    Returns:
        (Outcome): The child's outcome, or one whose error says how the child died and its last output.
    """
    return check_targets_isolated([model], target, imgsz, [workdir], images, conf, [name], data, timeout, env, cwd)[0]


def check_targets_isolated(
    models: list[str | Path],
    target: str,
    imgsz: int = 160,
    workdirs: list[str | Path | None] | None = None,
    images: list | None = None,
    conf: float = 0.25,
    names: list[str | None] | None = None,
    data: str | Path | None = None,
    timeout: float = 1800,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
) -> list[Outcome]:
    """``check_target`` for several models in one child interpreter, one after the other, isolated from the caller.

    A child's start-up (torch, Ultralytics, then the converter: TensorFlow, ExecuTorch, coremltools) costs more than a
    small model's export, so the models of one target share it. Isolation per model is kept where it matters: a child
    that dies (a native crash, an uncaught error) or stays silent past ``timeout`` costs only the model it was on, whose
    outcome says how it died; the models after it go on in a fresh child.

    Args:
        models (list[str | Path]): Config names or weights files the child loads with ``YOLO(model)``.
        workdirs (list | None): One export folder per model (``check_target``'s ``workdir``).
        names (list | None): One outcome label per model.
        timeout (float): Seconds one model may take before its child is killed (reported as its error).
        env (dict | None): Environment variables set for the child only, over the caller's: callers running several
            of these at once (threads) cannot each set their own in ``os.environ``.
        cwd (str | Path | None): The child's working directory (default: the caller's), for the same reason.

    Returns:
        (list[Outcome]): One per model, in order.
    """
    requests = [
        {
            "model": str(model),
            "target": target,
            "imgsz": imgsz,
            "workdir": None if workdir is None else str(workdir),
            "images": None if images is None else [str(i) for i in images],
            "conf": conf,
            "name": name or Path(str(model)).name,
            "data": None if data is None else str(data),
        }
        for model, workdir, name in zip(
            models, workdirs or [None] * len(models), names or [None] * len(models), strict=True
        )
    ]
    outcomes: list[Outcome] = []
    while len(outcomes) < len(requests):
        pending = requests[len(outcomes) :]
        finished, death = _run_child(pending, timeout, env, cwd)
        outcomes += finished
        if len(finished) < len(pending):  # the child died on the next one: that model's outcome is its death
            outcomes.append(Outcome(target=target, model=pending[len(finished)]["name"], error=death))
    return outcomes


_CHILD = (
    "import json, sys\nfrom ultralytics import YOLO\nfrom yolo_hybrid.integration.deploy import check_target\n"
    "for r in json.loads(sys.argv[1]):\n"
    "    o = check_target(YOLO(r['model']), r['target'], r['imgsz'], r['workdir'], r['images'], r['conf'],\n"
    "                     r['name'], r['data'])\n"
    "    print('\\nOUTCOME ' + json.dumps(o.as_dict()), flush=True)\n"
)


def _run_child(
    requests: list[dict], timeout: float, env: dict[str, str] | None = None, cwd: str | Path | None = None
) -> tuple[list[Outcome], str]:
    """Run ``requests`` in one child; its outcomes so far and, if it stopped early, how (``crashed (...)``/timeout)."""
    import collections
    import json
    import queue
    import subprocess
    import sys
    import tempfile
    import threading

    lines: queue.Queue = queue.Queue()
    tail: collections.deque = collections.deque(maxlen=3)  # the last output lines, for the error of a dead child
    with tempfile.TemporaryFile("w+") as stderr:  # a file, not a pipe: a chatty converter cannot block the child
        proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, json.dumps(requests)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=None if env is None else {**os.environ, **env},
            cwd=cwd,
        )

        def read() -> None:
            for line in proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        outcomes: list[Outcome] = []
        death = ""
        deadline = time.monotonic() + timeout  # each model gets ``timeout`` from the previous one's outcome
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                proc.kill()
                death = f"timeout: no result after {timeout:g} s"
                break
            if line is None:
                break
            if line.startswith("OUTCOME "):
                outcomes.append(Outcome(**json.loads(line[len("OUTCOME ") :])))
                deadline = time.monotonic() + timeout
            elif line.strip():
                tail.append(line.strip())
        returncode = proc.wait()
        if not death and len(outcomes) < len(requests):
            stderr.seek(0)
            last = [line.strip() for line in stderr.read().splitlines() if line.strip()][-3:] or list(tail)
            how = f"signal {-returncode}" if returncode < 0 else f"exit code {returncode}"
            death = f"crashed ({how}): " + " | ".join(last)[-400:]
    return outcomes, death
