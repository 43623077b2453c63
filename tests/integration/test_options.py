"""The Ultralytics 8.4 training, validation and prediction switches on one config per family, beside stock (#34).

Configs: yolov8n-bot3, yolov8n-cot, yolov8n-smt, yolov8n-cmt (detect, beside stock ``yolov8n``) and
yolov8n-cls-attnpool (classify with our ``AttnPoolClassify`` pooling head, beside stock ``yolov8n-cls``). Test ids read
``<switch>-<config>``.

Every check looks at what the switch did, not only that nothing raised: training input sizes (``multi_scale``,
``rect``), the mosaic probability per epoch (``close_mosaic``), parameters before and after training (``freeze``), the
dataset's RAM cache against the image files (``cache``), the dropout modules and train-mode randomness (``dropout``),
the speeds a logger receives (``profile``), input shapes and finite metrics (``val_rect``), for prediction the outputs
of ours against stock's (``augment``, ``visualize``, ``embed``) and every layer's output against itself
(``channels_last``, ``visualize``), and track ids across frames (``track`` with ByteTrack and BoT-SORT).

A check that fails on ours is run on the stock model too: the test fails only where stock passes; where stock fails as
well it is skipped with stock's message.

Cost: tiny runs (imgsz 64, 8 images, batch 4, 1-2 epochs, workers=0, plots=False), independent switches sharing a run:
per detect config one square-image run (``multi_scale`` + ``close_mosaic``, 2 epochs) whose weights serve every
prediction test, and one wide-image run (``rect`` + ``freeze`` + ``cache`` + ``profile``); per classify config one run
(``freeze`` + ``cache`` + ``dropout`` + ``profile``); stock trains the square (or classify) run once as the reference
for prediction, and any other run only where ours fails. About 100 s of CPU in all. When a shared run fails, each
switch's test reruns its switch alone, so a failure still names it (the ``<switch>+<switch>-<config>`` test reports the
combination). Each run is made once per session and shared by pytest-xdist workers (a file lock beside the workers'
temporary dirs).

Notes on Ultralytics 8.4 (8.4.190 pinned):
    - ``compile=True`` is not here: tests/integration/test_compile.py (the ``compile`` group; minutes on CPU).
    - ``amp`` and training with ``channels_last`` are CUDA-only, so not here: on CPU ``check_amp`` turns ``amp=True``
      off (fp32 training, the same as ``amp=False``), ``amp='bf16'`` raises in Ultralytics' ``autocast`` for stock too,
      and the trainer ignores ``channels_last=True`` with a warning. Prediction's ``channels_last`` (AutoBackend; on
      by default on x86 CPUs with oneDNN) is tested.
    - ``profile`` is read only by logger integrations (W&B, DVC, Comet, ClearML, Platform), none of which runs here:
      the test calls what they call, ``model_info_for_loggers(trainer)``, at the end of training, with
      ``ProfileModels``' 60 s timing loop cut to a few runs.
    - ``visualize=True`` saves one LayerCAM heatmap per image (``<image>_cam.jpg``, gradients of the class scores
      with respect to the head's inputs), no longer per-layer feature maps.
    - For classification, ``multi_scale`` (forced to 0 by the classify trainer), ``rect``, ``close_mosaic`` (no
      mosaic) and tracking (detection-style tasks only) do not apply; ``augment=True`` falls back to one scale in stock
      and ours alike (checked).
"""

from __future__ import annotations

import copy
import importlib.util
import json
import math
import os
import platform
import traceback
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from yolo_hybrid.data import make_dataset

pytestmark = pytest.mark.slow

IMGSZ = 64
STRIDE = 32  # the largest stride of every config here
WIDE = (20, 64)  # (h, w) of the rect runs' images: batches of (32, 64) in training, (64, 96) in validation

DETECT = ["yolov8n-bot3.yaml", "yolov8n-cot.yaml", "yolov8n-smt.yaml", "yolov8n-cmt.yaml"]
CLASSIFY = "yolov8n-cls-attnpool.yaml"
STOCK = {"detect": "yolov8n.yaml", "classify": "yolov8n-cls.yaml"}
OURS = [*DETECT, CLASSIFY]
EMBED_LAYERS = [4, 8]  # the P3 and P5 stages: our blocks sit at 4 (CoT, SMT, CMT) and 8 (every detect family)

# Training runs that share independent switches. `base` holds what every run of the group needs, each switch the
# arguments it adds; a switch's test reruns it alone (with `base`) when the shared run fails.
GROUPS = {
    "detect-square": {
        "data": "square",
        "base": {"epochs": 2},  # close_mosaic=1 needs a second epoch to close in
        "switches": {"multi_scale": {"multi_scale": 0.5}, "close_mosaic": {"close_mosaic": 1}},
    },
    "detect-wide": {
        "data": "wide",
        "base": {"epochs": 1},
        "switches": {
            "rect": {"rect": True},
            "freeze": {"freeze": [0, 1, 2, 8]},  # the stem and the P5 stage, where every family has a block
            "cache": {"cache": "ram"},
            "profile": {"profile": True},
        },
    },
    "classify": {
        "data": "classify",
        "base": {"epochs": 1},
        "switches": {
            "freeze": {"freeze": 3},  # the integer form; the detect runs use the list form
            "cache": {"cache": "ram"},
            "dropout": {"dropout": 0.3},
            "profile": {"profile": True},
        },
    },
}
# nbs (nominal batch) = batch: one optimizer step per batch. At the default 64, Ultralytics accumulates 16 batches of 4
# (capped to the run's batches), so a 2-epoch run of 2 batches would step once, in warm-up at learning rate 0.
TRAIN_ARGS = {"imgsz": IMGSZ, "batch": 4, "nbs": 4, "workers": 0, "device": "cpu", "plots": False, "verbose": False}


def _task(cfg: str) -> str:
    return "classify" if "-cls" in cfg else "detect"


def _stock(cfg: str) -> str:
    return STOCK[_task(cfg)]


def _groups(cfg: str) -> list[str]:
    return ["classify"] if _task(cfg) == "classify" else ["detect-square", "detect-wide"]


def _stem(cfg: str) -> str:
    return Path(cfg).stem


# --- data -----------------------------------------------------------------------------------------------------------


def _make_data(root: Path, kind: str, n_train: int = 8, n_val: int = 4) -> Path:
    """``data=`` for a run: square detection images, the same squeezed to WIDE, or a classification folder."""
    if kind == "classify":
        return make_dataset(root, "classify", n_train=n_train, n_val=n_val, imgsz=IMGSZ)
    data = make_dataset(root, "detect", n_train=n_train, n_val=n_val, imgsz=IMGSZ)
    if kind == "wide":  # YOLO labels are normalised: resizing the image alone keeps them right
        for image in (data.parent / "images").rglob("*.jpg"):
            cv2.imwrite(str(image), cv2.resize(cv2.imread(str(image)), WIDE[::-1], interpolation=cv2.INTER_AREA))
    return data


def _moving_object(frames: int = 6, size: int = IMGSZ) -> list[np.ndarray]:
    """BGR frames of a bright rectangle moving right by 3 px a frame over a grey background."""
    out = []
    for i in range(frames):
        frame = np.full((size, size, 3), 114, np.uint8)
        x = 8 + 3 * i
        cv2.rectangle(frame, (x, 20), (x + 22, 44), (255, 255, 255), -1)
        cv2.rectangle(frame, (x + 4, 26), (x + 18, 38), (40, 40, 200), -1)
        out.append(frame)
    return out


# --- what each training run records (Ultralytics callbacks; plain data, so runs can be stored as JSON) --------------


def _find(obj, cls):
    """The first ``cls`` in a (nested) Ultralytics ``Compose``."""
    if isinstance(obj, cls):
        return obj
    for t in getattr(obj, "transforms", None) or []:
        found = _find(t, cls)
        if found is not None:
            return found
    return None


def _cache_evidence(dataset) -> dict:
    """Whether the training set's images sit in RAM, and whether they are the image files' pixels."""
    from ultralytics.data.base import BaseDataset

    if hasattr(dataset, "samples"):  # ClassificationDataset: images cached as decoded from the files
        cache = getattr(dataset, "img_cache", None)
        files = [s[0] for s in dataset.samples]
        return {
            "mode": "ram" if dataset.cache_ram else None,
            "packed": isinstance(cache, BaseDataset._ImageCache),
            "cached": len(cache.shapes) if cache is not None else 0,
            "images": len(files),
            "equal_to_files": cache is not None
            and all(np.array_equal(cache[i], cv2.imread(f)) for i, f in enumerate(files)),
        }
    ims = dataset.ims  # the images are at imgsz already: load_image() leaves them unresized
    packed = isinstance(ims, BaseDataset._ImageCache)
    return {
        "mode": dataset.cache,
        "packed": packed,
        "cached": len(ims.shapes) if packed else sum(im is not None for im in ims),
        "images": dataset.ni,
        "equal_to_files": packed and all(np.array_equal(ims[i], cv2.imread(f)) for i, f in enumerate(dataset.im_files)),
    }


def _dropout_evidence(model: torch.nn.Module) -> dict:
    """Dropout rates of the training model, and whether a train-mode forward is random (with p=0 as the control)."""
    dropouts = [m for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    probe = copy.deepcopy(model).train()  # a copy: the BatchNorm statistics of the trained model stay untouched
    x = torch.rand(2, 3, IMGSZ, IMGSZ, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        random_now = not torch.equal(probe(x), probe(x))
        for m in probe.modules():
            if isinstance(m, torch.nn.Dropout):
                m.p = 0.0
        random_at_zero = not torch.equal(probe(x), probe(x))
    return {"p": [m.p for m in dropouts], "random": random_now, "random_at_p0": random_at_zero}


def _profile_evidence(trainer) -> dict:
    """What a logger integration receives when ``profile=True`` (ONNX speed of last.pt)."""
    from ultralytics.utils.torch_utils import model_info_for_loggers

    info = model_info_for_loggers(trainer)
    return {
        "info": {k: float(v) for k, v in info.items()},
        "onnx": Path(trainer.last).with_suffix(".onnx").is_file(),
    }


def _collectors(ev: dict) -> dict:
    """Ultralytics callbacks filling ``ev``. None raises: each probe stores its own error, so a broken probe fails
    its switch's test instead of the training run (and so every switch of the run)."""
    state: dict = {}

    def probe(name, fn, *args):
        try:
            ev[name] = fn(*args)
        except Exception as e:  # noqa: BLE001  (recorded, reported by the switch's test)
            ev[f"{name}_error"] = _describe(e)

    def snapshot(model) -> bool:
        state["params"] = {n: p.detach().clone() for n, p in model.named_parameters()}
        state["grad"] = {n: p.requires_grad for n, p in model.named_parameters()}
        return True

    def watch_sizes(model) -> list:
        sizes: list = []
        # the input of layer 0 in training mode (the EMA copy validates, in eval mode): what multi_scale/rect give
        state["hook"] = model.model[0].register_forward_pre_hook(
            lambda m, args: sizes.append(list(args[0].shape[2:])) if m.training else None
        )
        return sizes

    def on_train_start(trainer):
        model, dataset = trainer.model, trainer.train_loader.dataset
        probe("snapshot", snapshot, model)
        probe("dataset_rect", lambda: bool(getattr(dataset, "rect", False)))
        probe("cache", _cache_evidence, dataset)
        if hasattr(dataset, "samples"):
            probe("dropout", _dropout_evidence, model)  # before the hook below: its copy would carry the hook along
        probe("train_sizes", watch_sizes, model)

    def mosaic_p(trainer) -> dict:
        from ultralytics.data.augment import Mosaic

        mosaic = _find(getattr(trainer.train_loader.dataset, "transforms", None), Mosaic)  # classify: none
        return {**ev.get("mosaic_p", {}), str(trainer.epoch): None if mosaic is None else float(mosaic.p)}

    def on_train_batch_start(trainer):
        if str(trainer.epoch) not in ev.get("mosaic_p", {}):  # once an epoch, after close_mosaic acted
            probe("mosaic_p", mosaic_p, trainer)

    def losses(trainer) -> list:
        loss = trainer.tloss
        values = loss.values() if isinstance(loss, dict) else [loss]
        return ev.get("losses", []) + [float(x) for v in values for x in torch.as_tensor(v).flatten()]

    def changes(model) -> dict:
        """Per parameter: max |after - before| and whether it was trainable."""
        return {
            n: [float((p.detach() - state["params"][n]).abs().max()), state["grad"][n]]
            for n, p in model.named_parameters()
        }

    def on_train_epoch_end(trainer):
        probe("losses", losses, trainer)

    def on_train_end(trainer):
        if "hook" in state:
            state["hook"].remove()
        probe("params", changes, trainer.model)
        if trainer.args.profile:
            probe("profile", _profile_evidence, trainer)

    return {
        "on_train_start": on_train_start,
        "on_train_batch_start": on_train_batch_start,
        "on_train_epoch_end": on_train_epoch_end,
        "on_train_end": on_train_end,
    }


def _describe(e: BaseException) -> str:
    """The error and where it came from, short enough for a test message."""
    lines = traceback.format_exception(type(e), e, e.__traceback__)
    return ("".join(lines[-4:]))[-3000:]


def _quick_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    """ProfileModels times ONNX Runtime for at least 60 s by default: a few runs show the same path works."""
    from ultralytics.utils import benchmarks

    init = benchmarks.ProfileModels.__init__

    def quick(self, paths, num_timed_runs=3, num_warmup_runs=1, min_time=0.0, **kwargs):
        init(self, paths, num_timed_runs=num_timed_runs, num_warmup_runs=num_warmup_runs, min_time=min_time, **kwargs)

    monkeypatch.setattr(benchmarks.ProfileModels, "__init__", quick)


def _train(cfg: str, kind: str, args: dict, root: Path) -> dict:
    """One training run of ``cfg`` with ``args``; never raises: the error, if any, is part of the record."""
    from ultralytics import YOLO

    ev: dict = {}
    record = {"cfg": cfg, "args": args, "error": None, "evidence": ev, "weights": None}
    try:
        data = _make_data(root / "data", kind)
        model = YOLO(cfg)
        for event, fn in _collectors(ev).items():
            model.add_callback(event, fn)
        with pytest.MonkeyPatch.context() as mp:
            _quick_profile(mp)
            model.train(data=str(data), **TRAIN_ARGS, **args, project=str(root), name="train", exist_ok=True)
        weights = root / "train" / "weights" / "best.pt"
        record["weights"] = str(weights if weights.is_file() else weights.with_name("last.pt"))
    except Exception as e:  # noqa: BLE001  (the tests report it, and rerun switches alone)
        record["error"] = _describe(e)
    return record


class _Runs:
    """Training runs, each made once per session: in memory, and under pytest-xdist on disk for every worker."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory):
        self.memo: dict[str, dict] = {}
        shared = os.environ.get("PYTEST_XDIST_WORKER")
        base = tmp_path_factory.getbasetemp()
        self.root = (base.parent if shared else base) / "options-runs"
        self.root.mkdir(parents=True, exist_ok=True)

    def get(self, cfg: str, group: str | None, only: str | None = None) -> dict:
        """The run of ``group``'s switches (all, or ``only`` one); ``group=None``: no switch, one square epoch."""
        if group is None:
            key, kind, args = f"{_stem(cfg)}-plain", "classify" if _task(cfg) == "classify" else "square", {"epochs": 1}
        else:
            spec = GROUPS[group]
            names = [only] if only else list(spec["switches"])
            args = dict(spec["base"])
            for name in names:
                args.update(spec["switches"][name])
            key, kind = f"{_stem(cfg)}-{group}-{'+'.join(names)}", spec["data"]
        if key not in self.memo:
            from filelock import FileLock  # a dependency of torch

            stored = self.root / f"{key}.json"
            with FileLock(str(stored) + ".lock"):
                if not stored.exists():
                    stored.write_text(json.dumps(_train(cfg, kind, args, self.root / key)))
                self.memo[key] = json.loads(stored.read_text())
        return self.memo[key]

    def for_switch(self, cfg: str, group: str, switch: str) -> dict:
        """The shared run of ``switch``'s group, or its run alone when the shared one failed."""
        run = self.get(cfg, group)
        return self.get(cfg, group, switch) if run["error"] else run

    def weights(self, cfg: str) -> str:
        """Trained weights for the prediction tests: the square-image run's, or a plain run's if that one failed."""
        run = self.get(cfg, "classify" if _task(cfg) == "classify" else "detect-square")
        if run["error"]:
            run = self.get(cfg, None)
        if run["error"]:
            raise AssertionError(f"{cfg} does not train even without switches:\n{run['error']}")
        return run["weights"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> _Runs:
    return _Runs(tmp_path_factory)


def _ours_or_stock(switch: str, cfg: str, check) -> None:
    """``check(cfg)``; if it fails, ``check(stock)``: fail only where stock passes, skip with stock's message."""
    try:
        check(cfg)
        return
    except Exception as ours:  # noqa: BLE001  (pytest's skip/fail outcomes are not Exceptions: they pass through)
        stock = _stock(cfg)
        if cfg == stock:
            raise
        try:
            check(stock)
        except Exception as theirs:  # noqa: BLE001
            pytest.skip(f"{switch}: stock {stock} fails too: {type(theirs).__name__}: {theirs}"[:2000])
        message = f"{switch} fails on {cfg} but not on stock {stock}: {type(ours).__name__}: {ours}"
        raise AssertionError(message) from ours


# --- training switches ----------------------------------------------------------------------------------------------


def _trained(run: dict) -> dict:
    if run["error"]:  # raised, not asserted: pytest would append the whole record's repr to the message
        raise AssertionError(f"training with {run['args']} failed:\n{run['error']}")
    ev = run["evidence"]
    losses = _probed(ev, "losses")
    assert losses and all(math.isfinite(x) for x in losses), losses
    assert any(d > 0 for d, _ in _probed(ev, "params").values()), "no parameter changed: no optimizer step was taken"
    return ev


def _probed(ev: dict, name: str):
    if f"{name}_error" in ev:
        raise AssertionError(f"recording {name} failed:\n{ev[f'{name}_error']}")
    if name not in ev:
        raise AssertionError(f"no {name} record: the callback did not run")
    return ev[name]


def _check_multi_scale(ev: dict, args: dict) -> None:
    # Ultralytics draws each batch's size from [imgsz(1 - f), imgsz(1 + f) + stride) and floors it to the stride
    f = args["multi_scale"]
    low = max(STRIDE, int(IMGSZ * (1 - f))) // STRIDE * STRIDE
    high = (int(IMGSZ * (1 + f) + STRIDE) - 1) // STRIDE * STRIDE
    sizes = _probed(ev, "train_sizes")
    assert sizes, "no training batch seen"
    assert all(h == w and h % STRIDE == 0 and low <= h <= high for h, w in sizes), sizes
    # 4 batches, each at 32, 64 or 96 from Ultralytics' seeded draws (seed 0: 96, 64, 64, 96): not all at 64
    assert any(h != IMGSZ for h, _ in sizes), f"every batch at imgsz={IMGSZ}: multi_scale did not rescale: {sizes}"


def _check_close_mosaic(ev: dict, args: dict) -> None:
    # mosaic at its default probability 1 until the last close_mosaic epochs, then none
    epochs, close = args["epochs"], args["close_mosaic"]
    expected = {str(e): 1.0 if e < epochs - close else 0.0 for e in range(epochs)}
    assert 0 < close < epochs, f"epochs={epochs}, close_mosaic={close}: nothing to close"
    mosaic = _probed(ev, "mosaic_p")
    assert mosaic == expected, (expected, mosaic)


def _check_rect(ev: dict, args: dict) -> None:
    h, w = WIDE
    expected = [math.ceil(IMGSZ * h / w / STRIDE) * STRIDE, IMGSZ]  # training rect shapes: no padding
    assert _probed(ev, "dataset_rect"), "the training set is not rectangular"
    sizes = _probed(ev, "train_sizes")
    assert sizes and all(s == expected for s in sizes), (expected, sizes)


def _check_freeze(ev: dict, args: dict) -> None:
    freeze = args["freeze"]
    layers = list(freeze) if isinstance(freeze, list) else list(range(freeze))
    frozen_prefixes = [f"model.{i}." for i in layers] + [".dfl"]  # Ultralytics always freezes the DFL conv
    _probed(ev, "snapshot")
    params = _probed(ev, "params")
    frozen = {n: v for n, v in params.items() if any(p in n for p in frozen_prefixes)}
    for i in layers:
        assert any(n.startswith(f"model.{i}.") for n in frozen), f"layer {i} has no parameters to freeze"
    moved = {n: d for n, (d, grad) in frozen.items() if d != 0.0 or grad}
    assert not moved, f"frozen parameters changed or trainable (max |change|, requires_grad): {moved}"
    free_layers = {n.split(".")[1] for n in params} - {str(i) for i in layers}
    stuck = [
        i
        for i in sorted(free_layers, key=int)
        if max((d for n, (d, _) in params.items() if n.split(".")[1] == i and n not in frozen), default=None) == 0.0
    ]
    assert not stuck, f"layers not frozen did not train: {stuck}"


def _check_cache(ev: dict, args: dict) -> None:
    cache = _probed(ev, "cache")
    assert cache["mode"] == "ram" and cache["packed"], cache
    assert cache["cached"] == cache["images"] > 0, cache
    assert cache["equal_to_files"], "the RAM cache differs from the image files"


def _check_profile(ev: dict, args: dict) -> None:
    profile = _probed(ev, "profile")
    info = profile["info"]
    assert profile["onnx"], "profile=True exported no ONNX model beside last.pt"
    speed = info.get("model/speed_ONNX(ms)")
    assert speed is not None and math.isfinite(speed) and speed > 0, info
    assert info.get("model/parameters", 0) > 0 and info.get("model/GFLOPs", 0) > 0, info
    assert math.isfinite(info.get("model/speed_PyTorch(ms)", float("nan"))), info


def _check_dropout(ev: dict, args: dict) -> None:
    dropout = _probed(ev, "dropout")
    p = args["dropout"]
    assert dropout["p"] and all(x == p for x in dropout["p"]), f"dropout rates {dropout['p']}, not {p}"
    assert dropout["random"], "train-mode outputs are deterministic with dropout > 0"
    assert not dropout["random_at_p0"], "train-mode outputs are random even with p=0: the control is broken"


CHECKS = {
    "multi_scale": _check_multi_scale,
    "close_mosaic": _check_close_mosaic,
    "rect": _check_rect,
    "freeze": _check_freeze,
    "cache": _check_cache,
    "profile": _check_profile,
    "dropout": _check_dropout,
}
TRAIN_CASES = [(s, g, c) for c in OURS for g in _groups(c) for s in GROUPS[g]["switches"]]


@pytest.mark.parametrize("switch,group,cfg", TRAIN_CASES, ids=[f"{s}-{_stem(c)}" for s, _, c in TRAIN_CASES])
def test_training_switch(switch, group, cfg, runs):
    def check(config):
        run = runs.for_switch(config, group, switch)
        CHECKS[switch](_trained(run), run["args"])

    _ours_or_stock(switch, cfg, check)


COMBINED = [(g, c) for c in OURS for g in _groups(c)]


@pytest.mark.parametrize(
    "group,cfg", COMBINED, ids=[f"{'+'.join(GROUPS[g]['switches'])}-{_stem(c)}" for g, c in COMBINED]
)
def test_training_switches_together(group, cfg, runs):
    """The switches that share a run train together (each switch's own test names a switch that fails alone)."""

    def check(config):
        _trained(runs.get(config, group))

    _ours_or_stock("+".join(GROUPS[group]["switches"]), cfg, check)


# --- validation -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict:
    """Images for validation and prediction: square detection, wide detection (with data.yaml), classification."""
    root = tmp_path_factory.mktemp("options-images")
    square = _make_data(root / "square", "square", n_train=2, n_val=2)
    wide = _make_data(root / "wide", "wide", n_train=2, n_val=4)
    cls = _make_data(root / "cls", "classify", n_train=3, n_val=3)
    return {
        "detect": sorted(str(p) for p in (square.parent / "images" / "val").glob("*.jpg")),
        "classify": sorted(str(p) for p in (cls / "val").rglob("*.jpg"))[:2],
        "wide": wide,
    }


class _Layers:
    """Inputs and outputs of the network's layers with the given indices (Ultralytics' ``m.i``), in eval mode.

    A global module hook: Ultralytics predicts and validates with its own (fused) copy of the model, so hooks on the
    ``YOLO`` object's layers would see nothing. Outputs keep the first element of a tuple (a head's predictions).
    """

    def __init__(self, *indices: int):
        self.inputs: dict[int, list] = {i: [] for i in indices}
        self.outputs: dict[int, list] = {i: [] for i in indices}

    def _hook(self, module, args, output):
        i = getattr(module, "i", None)
        if i in self.outputs and hasattr(module, "f") and not module.training:  # a top-level layer of a YOLO model
            self.inputs[i].append(list(args[0].shape) if isinstance(args[0], torch.Tensor) else None)
            out = output[0] if isinstance(output, (tuple, list)) else output
            self.outputs[i].append(out.detach().float().clone())

    def __enter__(self):
        self.handle = torch.nn.modules.module.register_module_forward_hook(self._hook)
        return self

    def __exit__(self, *exc):
        self.handle.remove()


VAL_BATCH = 2  # 4 wide images: two batches; Ultralytics' batch-1 FLOPs probes at fuse time are told apart by size


def _val_inputs(model, **kwargs) -> tuple[list, dict]:
    """Validate; the input shapes (H, W) of the validation batches, and the metrics."""
    with _Layers(0) as layers:
        metrics = model.val(imgsz=IMGSZ, batch=VAL_BATCH, device="cpu", plots=False, verbose=False, **kwargs)
    return [s[2:] for s in layers.inputs[0] if s[0] == VAL_BATCH], metrics.results_dict


@pytest.mark.parametrize("cfg", DETECT, ids=[f"val_rect-{_stem(c)}" for c in DETECT])
def test_validation_rect(cfg, runs, images):
    from ultralytics import YOLO

    h, w = WIDE
    # validation rect shapes: (h/w, 1) x imgsz / stride, padded by half a stride, rounded up to the stride
    expected = [
        math.ceil(h / w * IMGSZ / STRIDE + 0.5) * STRIDE,
        math.ceil(IMGSZ / STRIDE + 0.5) * STRIDE,
    ]

    def check(config):
        model = YOLO(runs.weights(config))
        shapes, metrics = _val_inputs(model, data=str(images["wide"]), rect=True)
        assert len(shapes) == 2 and all(s == expected for s in shapes), (expected, shapes)
        assert metrics and all(math.isfinite(float(v)) for v in metrics.values()), metrics
        square, _ = _val_inputs(model, data=str(images["wide"]), rect=False)  # control: square without rect
        assert len(square) == 2 and all(s == [IMGSZ] * 2 for s in square), square

    _ours_or_stock("val_rect", cfg, check)


# --- prediction -----------------------------------------------------------------------------------------------------


PREDICT_ARGS = {"imgsz": IMGSZ, "device": "cpu", "verbose": False, "conf": 0.001, "max_det": 20}


def _head(model) -> int:
    return model.model.model[-1].i


def _layers(model) -> range:
    return range(len(model.model.model))


def _assert_same_layers(model, got: _Layers, want: _Layers, what: str, tolerance: float = 1e-4) -> None:
    """Every layer's output in ``got`` equals the one in ``want``, relative to its largest value.

    Layer by layer, not only the head's: a barely trained network damps a wrong block's output to nothing by the head
    (adding 0.5 to BoT3's output moved the boxes of a 2-epoch yolov8n-bot3 by 0.006 px, its own output by 50 %).
    """
    for i in _layers(model):
        a, b = got.outputs[i], want.outputs[i]
        assert len(a) == len(b) > 0, f"layer {i}: {len(a)} calls against {len(b)}"
        for x, y in zip(a, b, strict=True):
            error = float((x - y).abs().max() / y.abs().max().clamp(min=1e-12))
            layer = type(model.model.model[i]).__name__
            assert error <= tolerance, f"{what}: layer {i} ({layer}) output differs by {error:.2e} of its largest value"


def _results_shape(results) -> list:
    """Per image: what the Results hold (boxes: 6 columns, inside the image; classify: probabilities summing to 1)."""
    out = []
    for r in results:
        if r.probs is not None:
            probs = r.probs.data
            assert torch.isfinite(probs).all() and abs(float(probs.sum()) - 1) < 1e-4, probs
            out.append(["probs", len(probs)])
        else:
            data = r.boxes.data
            assert torch.isfinite(data).all(), data
            h, w = r.orig_shape
            x, y = r.boxes.xyxy[:, [0, 2]], r.boxes.xyxy[:, [1, 3]]
            assert ((x >= 0) & (x <= w)).all() and ((y >= 0) & (y <= h)).all(), r.boxes.xyxy
            out.append(["boxes", data.shape[1]])
    return out


class _Signatures:
    """What each prediction switch gives for a config, summarised to compare with stock; memoised."""

    def __init__(self, runs: _Runs, images: dict, tmp_path_factory):
        self.runs, self.images, self.tmp = runs, images, tmp_path_factory
        self.memo: dict = {}

    def get(self, switch: str, cfg: str):
        if (switch, cfg) not in self.memo:
            self.memo[switch, cfg] = getattr(self, switch)(cfg)
        return self.memo[switch, cfg]

    def _model(self, cfg: str):
        from ultralytics import YOLO

        return YOLO(self.runs.weights(cfg))  # a fresh predictor per check: no state from another switch

    def augment(self, cfg: str) -> dict:
        sources = self.images[_task(cfg)]
        model = self._model(cfg)
        head = _head(model)
        with _Layers(head) as plain:
            model.predict(sources, **PREDICT_ARGS)
        with _Layers(head) as tta:
            results = model.predict(sources, augment=True, **PREDICT_ARGS)
        assert len(results) == len(sources)
        plain, tta = plain.outputs[head], tta.outputs[head]
        if _task(cfg) == "classify":  # Ultralytics' classifiers fall back to one scale: the same probabilities
            assert len(tta) == len(plain) == 1, (len(tta), len(plain))
            torch.testing.assert_close(tta[0], plain[0])
        else:  # one forward per scale (1, 0.83, 0.67), the flipped one included
            assert len(plain) == 1 and len(tta) == 3, (len(plain), len(tta))
        return {"head_outputs": [list(t.shape) for t in tta], "results": _results_shape(results)}

    def visualize(self, cfg: str) -> dict:
        sources = self.images[_task(cfg)]
        model = self._model(cfg)
        with _Layers(*_layers(model)) as plain:
            model.predict(sources, **PREDICT_ARGS)
        out = self.tmp.mktemp(f"visualize-{_stem(cfg)}")
        with _Layers(*_layers(model)) as shown:
            results = model.predict(sources, visualize=True, project=str(out), name="p", exist_ok=True, **PREDICT_ARGS)
        # the activation maps (a forward with autograd on, a backward through the head's inputs) change no output
        _assert_same_layers(model, shown, plain, "visualize=True against plain prediction")
        files = sorted((out / "p").glob("*_cam.jpg"))
        assert [f.name for f in files] == sorted(f"{Path(s).stem}_cam.jpg" for s in sources), files
        shapes = []
        for f in files:
            cam = cv2.imread(str(f))
            assert cam is not None and cam.std() > 0, f"{f.name}: unreadable or uniform"
            shapes.append(list(cam.shape))
        return {"shapes": shapes, "results": _results_shape(results)}

    def embed(self, cfg: str) -> dict:
        sources = self.images[_task(cfg)]
        model = self._model(cfg)
        with _Layers(*EMBED_LAYERS) as layers:
            vectors = model.predict(sources, embed=EMBED_LAYERS, **PREDICT_ARGS)
        assert len(vectors) == len(sources), len(vectors)
        maps = {i: torch.cat(layers.outputs[i]) for i in EMBED_LAYERS}  # (images, C, H, W) per layer
        for k, v in enumerate(vectors):
            # the embedding: each listed layer's output averaged over its positions, concatenated in layer order
            expected = torch.cat([maps[i][k].mean((1, 2)) for i in EMBED_LAYERS])
            assert v.shape == expected.shape, (v.shape, expected.shape)
            torch.testing.assert_close(v.float(), expected, rtol=1e-5, atol=1e-6)
        return {"vectors": len(vectors), "length": [len(v) for v in vectors]}


@pytest.fixture(scope="module")
def signatures(runs, images, tmp_path_factory) -> _Signatures:
    return _Signatures(runs, images, tmp_path_factory)


STRUCTURE = ["augment", "visualize", "embed"]
STRUCTURE_CASES = [(s, c) for s in STRUCTURE for c in OURS]


@pytest.mark.parametrize("switch,cfg", STRUCTURE_CASES, ids=[f"{s}-{_stem(c)}" for s, c in STRUCTURE_CASES])
def test_prediction_switch_matches_stock(switch, cfg, signatures):
    """TTA, activation maps and embeddings: ours give what stock gives, in the same structure."""

    def check(config):
        ours = signatures.get(switch, config)
        stock = signatures.get(switch, _stock(config))
        assert ours == stock, f"{config}: {ours}\nstock {_stock(config)}: {stock}"

    _ours_or_stock(switch, cfg, check)


def _channels_last_supported() -> bool:
    # AutoBackend's own condition for CPU inference (it ignores the switch elsewhere, with a warning)
    return (
        platform.machine() in {"AMD64", "x86_64"}
        and torch.backends.mkldnn.is_available()
        and torch.backends.mkldnn.enabled
    )


@pytest.mark.parametrize("cfg", OURS, ids=[f"channels_last-{_stem(c)}" for c in OURS])
def test_prediction_channels_last(cfg, runs, images):
    """``channels_last=True`` converts the model to NHWC and predicts what ``channels_last=False`` predicts."""
    if not _channels_last_supported():
        pytest.skip("Ultralytics applies channels_last on CPU only on x86 with oneDNN; this machine has neither")
    from ultralytics import YOLO

    sources = images[_task(cfg)]

    def check(config):
        outputs, layouts = {}, {}
        for flag in (True, False):
            model = YOLO(runs.weights(config))
            with _Layers(*_layers(model)) as outputs[flag]:
                model.predict(sources, channels_last=flag, **PREDICT_ARGS)
            used = model.predictor.model.model  # AutoBackend -> the network it runs
            # the kernels whose two layouts differ (1x1 and depthwise kernels are both at once)
            kernels = [p for p in used.parameters() if p.ndim == 4 and p.shape[1] > 1 and min(p.shape[2:]) > 1]
            layouts[flag] = [p.is_contiguous(memory_format=torch.channels_last) for p in kernels]
        assert layouts[True] and all(layouts[True]), "channels_last=True left kernels in NCHW"
        assert not any(layouts[False]), "channels_last=False left kernels in NHWC"
        # oneDNN's NHWC kernels sum in another order: measured up to 2e-6 of a layer's largest value
        _assert_same_layers(model, outputs[True], outputs[False], "channels_last=True against False")

    _ours_or_stock("channels_last", cfg, check)


TRACKERS = ["bytetrack", "botsort"]
TRACK_CASES = [(t, c) for t in TRACKERS for c in DETECT]


@pytest.mark.parametrize("tracker,cfg", TRACK_CASES, ids=[f"track_{t}-{_stem(c)}" for t, c in TRACK_CASES])
def test_tracking(tracker, cfg, runs, tmp_path, monkeypatch):
    """``model.track`` frame by frame over a moving object: boxes with track ids, ids that persist across frames.

    A model trained for two tiny epochs scores far below the trackers' default thresholds (0.25) and finds no object,
    so a copy of Ultralytics' own tracker YAML lets every detection take part (thresholds 0) and matches on box overlap
    alone (``fuse_score=False``: with it, scores near 0 make every match too costly). What is checked is the track
    mode around our networks (Ultralytics' predictor callbacks, its association, Kalman filter and, for BoT-SORT,
    motion compensation on the frames), not the detector's quality.
    """
    assert importlib.util.find_spec("lap"), (
        "Ultralytics' trackers need the 'lap' package, which it would try to pip-install at run time: "
        "pip install -r requirements-dev.txt"
    )
    from ultralytics import YOLO
    from ultralytics.utils import YAML, checks

    wanted = []  # requirements Ultralytics finds missing while tracking: none may be, and none gets installed
    original = checks.check_requirements

    def no_install(*args, **kwargs):
        kwargs["install"] = False
        ok = original(*args, **kwargs)
        if not ok:
            wanted.append(args or kwargs)
        return ok

    monkeypatch.setattr(checks, "check_requirements", no_install)
    settings = YAML.load(checks.check_yaml(f"{tracker}.yaml"))
    settings.update(track_high_thresh=0.0, track_low_thresh=0.0, new_track_thresh=0.0, fuse_score=False)
    tracker_yaml = tmp_path / f"{tracker}-all.yaml"
    YAML.save(tracker_yaml, settings)
    frames = _moving_object()

    def check(config):
        model = YOLO(runs.weights(config))
        ids = []
        for i, frame in enumerate(frames):
            r = model.track(frame, persist=i > 0, tracker=str(tracker_yaml), **PREDICT_ARGS)[0]
            assert len(r.boxes) and r.boxes.is_track, f"frame {i}: no track ids ({len(r.boxes)} boxes)"
            frame_ids = r.boxes.id.int().tolist()
            assert len(frame_ids) == len(set(frame_ids)), f"frame {i}: repeated ids {frame_ids}"
            assert torch.isfinite(r.boxes.xyxy).all(), r.boxes.xyxy
            ids.append(set(frame_ids))
        assert not wanted, f"Ultralytics asked for missing packages while tracking: {wanted}"
        assert set.intersection(*ids), f"no track id lasts over the {len(frames)} frames: {ids}"

    _ours_or_stock(f"track {tracker}", cfg, check)
