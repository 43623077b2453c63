"""Train (stock CLI, 1 epoch, network blocked) -> checkpoint round trips -> ONNX export parity in onnxruntime."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers import ROOT, assert_ok, run_python, yolo_cli
from yolo_hybrid.data import make_dataset

IMGSZ = 64


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One epoch of yolov8n-bot3 through Ultralytics' own CLI entry point, with every network call refused."""
    work = tmp_path_factory.mktemp("e2e")
    data = make_dataset(work / "shapes", "detect", n_train=16, n_val=4, imgsz=IMGSZ)
    proc = yolo_cli(
        "train",
        "model=yolov8n-bot3.yaml",
        f"data={data}",
        "epochs=1",
        f"imgsz={IMGSZ}",
        "batch=8",
        "workers=0",
        "device=cpu",
        "plots=False",
        f"project={work}",
        "name=train",
        "exist_ok=True",
        cwd=work,
    )
    out = assert_ok(proc)
    assert "NETWORK_EVENTS=0 " in out, out[-2000:]
    weights = work / "train" / "weights" / "best.pt"
    assert weights.is_file()
    return {"work": work, "data": data, "weights": weights}


def test_checkpoint_loads_and_predicts_in_fresh_process(trained):
    image = next((trained["data"].parent / "images" / "val").glob("*.jpg"))
    out = assert_ok(
        run_python(
            "from ultralytics import YOLO\n"
            f"m = YOLO({str(trained['weights'])!r})\n"
            f"r = m.predict({str(image)!r}, imgsz={IMGSZ}, device='cpu', verbose=False)[0]\n"
            "print('BLOCK', type(m.model.model[8]).__module__, type(m.model.model[8]).__name__,"
            " 'BOXES', len(r.boxes))\n",
            cwd=trained["work"],
        )
    )
    assert "BLOCK yolo_hybrid.nn.bot BoT3 BOXES" in out


def test_checkpoint_under_ultralytics_safe_load(trained):
    code = (
        "import os, torch\nfrom ultralytics import YOLO\n"
        f"m = YOLO({str(trained['weights'])!r})\n"
        "print('SAFE', type(m.model.model[8]).__name__, m.model.model[8].m[0].attn.max_size)\n"
    )
    out = assert_ok(run_python(code, env={**os.environ, "ULTRALYTICS_SAFE_LOAD": "1"}, cwd=trained["work"]))
    assert "SAFE BoT3 (64, 64)" in out


def test_safe_load_rejects_without_our_allow_list(trained):
    """Negative control: a weights-only load refuses our classes unless they are registered as safe globals."""
    out = run_python(
        f"from ultralytics import YOLO\nYOLO({str(trained['weights'])!r})\n",
        env={**os.environ, "YOLO_HYBRID_NO_AUTOLOAD": "1", "ULTRALYTICS_SAFE_LOAD": "1"},
        cwd=trained["work"],
    )
    assert out.returncode != 0 and "outside the supported Ultralytics checkpoint format" in out.stderr, out.stderr


def test_fine_tune_from_checkpoint(trained):
    proc = yolo_cli(
        "train",
        f"model={trained['weights']}",
        f"data={trained['data']}",
        "epochs=1",
        f"imgsz={IMGSZ}",
        "batch=8",
        "workers=0",
        "device=cpu",
        "plots=False",
        f"project={trained['work']}",
        "name=ft",
        "exist_ok=True",
        "val=False",
        cwd=trained["work"],
        env={**os.environ, "YOLO_VERBOSE": "True"},
    )
    out = assert_ok(proc)
    assert "Transferred" in out and (trained["work"] / "ft" / "weights" / "last.pt").is_file()


def test_onnx_dynamic_export_matches_pytorch(trained):
    ort = pytest.importorskip("onnxruntime")
    from ultralytics import YOLO

    model = YOLO(trained["weights"])
    onnx_path = model.export(format="onnx", dynamic=True, imgsz=IMGSZ, device="cpu")
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    shapes = session.get_inputs()[0].shape
    assert isinstance(shapes[2], str) and isinstance(shapes[3], str), shapes  # dynamic H, W
    torch_model = YOLO(trained["weights"]).model.fuse().eval()
    for size in [(IMGSZ, IMGSZ), (96, 160)]:
        x = torch.rand(2, 3, *size)
        with torch.no_grad():
            expected = torch_model(x)[0].numpy()
        (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})[:1]
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-3)


def test_standalone_onnxruntime_detector_matches_ultralytics(trained, tmp_path):
    """examples/deploy_onnxruntime.py, with torch/ultralytics/yolo_hybrid unimportable, gives Ultralytics' detections.

    A low threshold keeps many candidates (the model trained one epoch), and a non-square image exercises the
    letterbox padding and the mapping back to the original pixels.
    """
    pytest.importorskip("onnxruntime")
    import cv2
    from ultralytics import YOLO

    onnx = YOLO(trained["weights"]).export(format="onnx", imgsz=IMGSZ, device="cpu")  # static, as most deploy
    val = sorted((trained["data"].parent / "images" / "val").glob("*.jpg"))
    wide = tmp_path / "wide.png"
    cv2.imwrite(str(wide), cv2.resize(cv2.imread(str(val[0])), (96, 40)))
    images, conf = [str(val[1]), str(wide)], 0.002
    out_json = tmp_path / "detections.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "deploy_onnxruntime.py"),
            onnx,
            *images,
            "--conf",
            str(conf),
            "--json",
            str(out_json),
            "--out-dir",
            str(tmp_path / "drawn"),
            "--forbid-torch",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "YOLO_HYBRID_NO_AUTOLOAD": "1"},
        timeout=300,
    )
    out = assert_ok(proc)
    assert "torch imported: False" in out
    standalone = json.loads(out_json.read_text())
    exported = YOLO(onnx, task="detect")
    compared = 0
    for image in images:
        ref = exported.predict(image, imgsz=IMGSZ, conf=conf, device="cpu", verbose=False)[0].boxes
        ours = standalone[image]
        assert len(ours) == len(ref), (image, len(ours), len(ref))
        for box, score, cls in zip(ref.xyxy.tolist(), ref.conf.tolist(), ref.cls.int().tolist(), strict=False):
            match = [
                d
                for d in ours
                if d["class"] == cls
                and abs(d["score"] - score) < 1e-4
                and max(abs(a - b) for a, b in zip(d["box"], box, strict=False)) < 0.5
            ]
            assert match, (image, box, score, cls)
            compared += 1
        drawn = cv2.imread(str(tmp_path / "drawn" / (Path(image).stem + ".png")))
        assert drawn.shape == cv2.imread(image).shape
    assert compared > 0


# --- YOLO26: a hybrid with the end-to-end (NMS-free) head, fine-tuned from a stock checkpoint through the CLI ---


@pytest.fixture(scope="module")
def trained26(tmp_path_factory):
    """One epoch of yolo26n-cot via the stock CLI with ``pretrained=`` a stock yolo26n checkpoint (saved here, the
    way Ultralytics saves one: no download)."""
    from ultralytics import YOLO

    work = tmp_path_factory.mktemp("e2e26")
    data = make_dataset(work / "shapes", "detect", n_train=16, n_val=4, imgsz=IMGSZ)
    torch.save({"model": YOLO("yolo26n.yaml").model, "train_args": {}}, work / "yolo26n.pt")
    proc = yolo_cli(
        "train",
        "model=yolo26n-cot.yaml",
        f"pretrained={work / 'yolo26n.pt'}",
        f"data={data}",
        "epochs=1",
        f"imgsz={IMGSZ}",
        "batch=8",
        "workers=0",
        "device=cpu",
        "plots=False",
        f"project={work}",
        "name=train",
        "exist_ok=True",
        cwd=work,
        env={**os.environ, "YOLO_VERBOSE": "True"},
    )
    out = assert_ok(proc)
    assert "NETWORK_EVENTS=0 " in out, out[-2000:]
    transferred = re.search(r"Transferred (\d+)/(\d+) items", out)
    weights = work / "train" / "weights" / "best.pt"
    assert weights.is_file()
    return {"work": work, "data": data, "weights": weights, "transferred": transferred, "out": out}


def test_yolo26_hybrid_fine_tunes_from_stock_weights(trained26):
    from ultralytics.utils import YAML

    from yolo_hybrid.integration.transfer import transfer_report

    data = YAML.load(str(trained26["data"]))
    nc = data.get("nc") or len(data["names"])
    expected = transfer_report("yolo26-cot.yaml", nc=nc)  # the dataset's classes: the class layers do not transfer
    assert trained26["transferred"] is not None, trained26["out"][-2000:]
    assert tuple(map(int, trained26["transferred"].groups())) == (expected["transferred"], expected["total"])


def test_yolo26_hybrid_validates_predicts_and_exports(trained26):
    """The end-to-end head (``nms=False`` selects it in Ultralytics 8.4): val metrics, predictions in a fresh process,
    dynamic ONNX equal to PyTorch."""
    ort = pytest.importorskip("onnxruntime")
    from ultralytics import YOLO

    model = YOLO(trained26["weights"])
    assert model.model.model[-1].one2one_cv2 is not None, "the trained checkpoint lost YOLO26's one-to-one head"
    metrics = model.val(
        data=str(trained26["data"]), imgsz=IMGSZ, batch=4, device="cpu", plots=False, verbose=False, nms=False
    )
    assert 0.0 <= metrics.box.map50 <= 1.0
    image = next((trained26["data"].parent / "images" / "val").glob("*.jpg"))
    out = assert_ok(
        run_python(
            "from ultralytics import YOLO\n"
            f"m = YOLO({str(trained26['weights'])!r})\n"
            f"r = m.predict({str(image)!r}, imgsz={IMGSZ}, conf=0.0, nms=False, device='cpu', verbose=False)[0]\n"
            "print('BLOCK', type(m.model.model[4]).__name__, 'BOXES', len(r.boxes))\n",
            cwd=trained26["work"],
        )
    )
    boxes = int(re.search(r"BLOCK C3k2CoT BOXES (\d+)", out).group(1))
    assert 0 < boxes <= 300  # NMS-free: at most max_det rows, straight from the one-to-one head
    # The network: Ultralytics' default export (raw one-to-many outputs, NMS outside) equals PyTorch element-wise.
    raw = ort.InferenceSession(
        model.export(format="onnx", dynamic=True, imgsz=IMGSZ, device="cpu"), providers=["CPUExecutionProvider"]
    )
    torch_raw = YOLO(trained26["weights"]).model.fuse().eval()
    for size in [(IMGSZ, IMGSZ), (96, 160)]:
        x = torch.rand(2, 3, *size)
        with torch.no_grad():
            expected = torch_raw(x)[0].numpy()
        (got,) = raw.run(None, {raw.get_inputs()[0].name: x.numpy()})[:1]
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-3)
    # The NMS-free head with its top-k in the graph (nms=False). Ultralytics bakes k = min(300, anchors at the export
    # size) into the graph, so it is exported at 160 px (525 anchors) and run at sizes with >= 300 anchors.
    session = ort.InferenceSession(
        model.export(format="onnx", dynamic=True, nms=False, imgsz=160, device="cpu"),
        providers=["CPUExecutionProvider"],
    )
    torch_model = YOLO(trained26["weights"]).model
    torch_model.end2end = True  # before fuse(), which drops the head not selected
    torch_model = torch_model.fuse().eval()
    for size in [(160, 160), (160, 224)]:
        x = torch.rand(2, 3, *size)
        with torch.no_grad():
            expected = torch_model(x)[0].numpy()
        (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})[:1]
        assert got.shape == expected.shape == (2, 300, 6)  # the top max_det of the one-to-one head
        # The same scores; the same box and class for every score no other candidate shares. Tied scores (a 1-epoch
        # model has many) are ordered arbitrarily by top-k, in ONNX Runtime as in PyTorch: stock yolo26n does the same.
        np.testing.assert_allclose(np.sort(got[..., 4], 1), np.sort(expected[..., 4], 1), rtol=1e-3, atol=1e-4)
        for image_got, image_expected in zip(got, expected, strict=False):
            gaps = np.abs(image_got[:, None, 4] - image_got[None, :, 4]) + np.eye(len(image_got))
            unique = gaps.min(1) > 1e-4
            distance = np.abs(image_got[unique, None, :] - image_expected[None, :, :]).max(-1).min(1)
            assert (distance < 1e-2 * max(1.0, np.abs(image_expected).max())).all(), distance
