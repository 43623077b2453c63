"""Train (stock CLI, 1 epoch, network blocked) -> checkpoint round trips -> ONNX export parity in onnxruntime."""

from __future__ import annotations

import json
import os
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
    proc = yolo_cli("train", "model=yolov8n-bot3.yaml", f"data={data}", "epochs=1", f"imgsz={IMGSZ}", "batch=8",
                    "workers=0", "device=cpu", "plots=False", f"project={work}", "name=train", "exist_ok=True",
                    cwd=work)
    out = assert_ok(proc)
    assert "NETWORK_EVENTS=0 " in out, out[-2000:]
    weights = work / "train" / "weights" / "best.pt"
    assert weights.is_file()
    return {"work": work, "data": data, "weights": weights}


def test_checkpoint_loads_and_predicts_in_fresh_process(trained):
    image = next((trained["data"].parent / "images" / "val").glob("*.jpg"))
    out = assert_ok(run_python(
        "from ultralytics import YOLO\n"
        f"m = YOLO({str(trained['weights'])!r})\n"
        f"r = m.predict({str(image)!r}, imgsz={IMGSZ}, device='cpu', verbose=False)[0]\n"
        "print('BLOCK', type(m.model.model[8]).__module__, type(m.model.model[8]).__name__, 'BOXES', len(r.boxes))\n",
        cwd=trained["work"]))
    assert "BLOCK yolo_hybrid.nn.bot BoT3 BOXES" in out


def test_checkpoint_under_ultralytics_safe_load(trained):
    code = (
        "import os, torch\nfrom ultralytics import YOLO\n"
        f"m = YOLO({str(trained['weights'])!r})\n"
        "print('SAFE', type(m.model.model[8]).__name__, m.model.model[8].m[0].attn.max_size)\n"
    )
    out = assert_ok(run_python(code, env={**os.environ, "ULTRALYTICS_SAFE_LOAD": "1"},
                               cwd=trained["work"]))
    assert "SAFE BoT3 (64, 64)" in out


def test_safe_load_rejects_without_our_allow_list(trained):
    """Negative control: a weights-only load refuses our classes unless they are registered as safe globals."""
    out = run_python(
        f"from ultralytics import YOLO\nYOLO({str(trained['weights'])!r})\n",
        env={**os.environ, "YOLO_HYBRID_NO_AUTOLOAD": "1", "ULTRALYTICS_SAFE_LOAD": "1"}, cwd=trained["work"])
    assert out.returncode != 0 and "outside the supported Ultralytics checkpoint format" in out.stderr, out.stderr


def test_fine_tune_from_checkpoint(trained):
    proc = yolo_cli("train", f"model={trained['weights']}", f"data={trained['data']}", "epochs=1", f"imgsz={IMGSZ}",
                    "batch=8", "workers=0", "device=cpu", "plots=False", f"project={trained['work']}", "name=ft",
                    "exist_ok=True", "val=False", cwd=trained["work"], env={**os.environ,
                                                                           "YOLO_VERBOSE": "True"})
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
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "deploy_onnxruntime.py"), onnx, *images,
                           "--conf", str(conf), "--json", str(out_json), "--out-dir", str(tmp_path / "drawn"),
                           "--forbid-torch"], capture_output=True, text=True,
                          env={**os.environ, "YOLO_HYBRID_NO_AUTOLOAD": "1"}, timeout=300)
    out = assert_ok(proc)
    assert "torch imported: False" in out
    standalone = json.loads(out_json.read_text())
    exported = YOLO(onnx, task="detect")
    compared = 0
    for image in images:
        ref = exported.predict(image, imgsz=IMGSZ, conf=conf, device="cpu", verbose=False)[0].boxes
        ours = standalone[image]
        assert len(ours) == len(ref), (image, len(ours), len(ref))
        for box, score, cls in zip(ref.xyxy.tolist(), ref.conf.tolist(), ref.cls.int().tolist()):
            match = [d for d in ours if d["class"] == cls and abs(d["score"] - score) < 1e-4
                     and max(abs(a - b) for a, b in zip(d["box"], box)) < 0.5]
            assert match, (image, box, score, cls)
            compared += 1
        drawn = cv2.imread(str(tmp_path / "drawn" / (Path(image).stem + ".png")))
        assert drawn.shape == cv2.imread(image).shape
    assert compared > 0
