"""The examples run end to end: the attention-map script (1 epoch, tiny images, a PNG) and the plugin package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import cv2
import pytest

from tests.helpers import ROOT, assert_ok, run_python, yolo_cli
from yolo_hybrid.data import make_dataset


def test_attention_maps_example_writes_png(tmp_path):
    out = tmp_path / "maps.png"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "attention_maps.py"),
            "--epochs",
            "1",
            "--imgsz",
            "64",
            "--images",
            "4",
            "--workdir",
            str(tmp_path / "work"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    text = assert_ok(proc)
    assert "attention map (2, 2)" in text
    image = cv2.imread(str(out))
    assert image is not None and image.shape[0] > 64 and image.shape[1] > 128


# --- examples/plugin: a third-party block package, installed, used through the stock CLI with no import anywhere ---


def _layered_venv(path: Path) -> Path:
    """A new venv (no pip of its own) that sees this venv's packages through a .pth, like a user's environment with
    torch and Ultralytics installed; returns its interpreter. Whatever is installed into it stays out of this venv."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    python = path / "bin" / "python"
    site_dir = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    parent = sysconfig.get_paths()["purelib"]
    # "a_" sorts before every other .pth, so our start-up hook in the parent's site-packages runs as in a real install
    (Path(site_dir) / "a_parent_site.pth").write_text(f"import site; site.addsitedir({parent!r})\n")
    return python


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    """examples/plugin pip-installed (offline, from a copy: a build must not litter the repository) into a fresh venv,
    plus one epoch of its YAML through Ultralytics' own CLI in that venv."""
    work = tmp_path_factory.mktemp("plugin")
    source = work / "source"
    shutil.copytree(ROOT / "examples" / "plugin", source)
    python = _layered_venv(work / "venv")
    assert_ok(
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "--python",
                str(python),
                "install",
                "--disable-pip-version-check",
                "--no-deps",
                "--no-build-isolation",
                "--no-index",
                str(source),
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
    )
    config = Path(run_python("import yolo_cbam; print(yolo_cbam.CONFIG)", python=python).stdout.strip())
    assert config.is_file() and str(config).startswith(str(work / "venv")), config
    data = make_dataset(work / "shapes", "detect", n_train=16, n_val=4, imgsz=64)
    proc = yolo_cli(
        "train",
        f"model={config}",
        f"data={data}",
        "epochs=1",
        "imgsz=64",
        "batch=8",
        "workers=0",
        "device=cpu",
        "plots=False",
        f"project={work}",
        "name=train",
        "exist_ok=True",
        cwd=work,
        python=python,
    )
    out = assert_ok(proc)
    assert "NETWORK_EVENTS=0 " in out, out[-2000:]
    weights = work / "train" / "weights" / "best.pt"
    assert weights.is_file()
    return {"work": work, "python": python, "config": config, "weights": weights, "data": data}


@pytest.mark.slow
def test_plugin_checkpoint_reloads_in_fresh_process_and_under_safe_load(plugin):
    image = next((plugin["data"].parent / "images" / "val").glob("*.jpg"))
    code = (
        "import sys\nfrom ultralytics import YOLO\n"
        f"m = YOLO({str(plugin['weights'])!r})\n"
        f"r = m.predict({str(image)!r}, imgsz=64, device='cpu', verbose=False)[0]\n"
        "print('LAYERS', [type(m.model.model[i]).__module__ + '.' + type(m.model.model[i]).__name__"
        " for i in (8, 16, 19)],"
        " 'BOXES', len(r.boxes))\n"
    )
    for extra in ({}, {"ULTRALYTICS_SAFE_LOAD": "1"}):
        out = assert_ok(run_python(code, env={**os.environ, **extra}, cwd=plugin["work"], python=plugin["python"]))
        assert (
            "LAYERS ['yolo_cbam.blocks.C2fCBAM', 'yolo_cbam.blocks.CBAMConv', 'yolo_cbam.blocks.CBAMConv'] BOXES" in out
        ), out[-2000:]
    # Control: the test environment itself does not have the plugin (it went into the throwaway venv only).
    outside = run_python(code, cwd=plugin["work"])
    assert outside.returncode != 0 and "No module named 'yolo_cbam'" in outside.stderr, outside.stderr[-2000:]


@pytest.mark.slow
def test_plugin_blocks_have_stock_channel_parity(plugin):
    code = (
        "from tests.integration import parity\n"
        "rows = {'C2fCBAM': lambda c2: [c2, True]}, {'CBAMConv': lambda c2: [c2, 3, 2]}\n"
        "print('MISMATCHES', {s: parity.mismatches(s, *rows) for s in 'nsm'})\n"
        "import yolo_cbam.blocks, yolo_hybrid.registry as r\n"
        "print('SOURCE', r.registered_blocks()['CBAMConv'].source)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # tests.integration.parity; the plugin comes from the venv
    out = assert_ok(run_python(code, env=env, cwd=plugin["work"], python=plugin["python"]))
    assert "MISMATCHES {'n': [], 's': [], 'm': []}" in out
    assert "SOURCE entry point 'cbam' = 'yolo_cbam.blocks' of yolo-cbam-example" in out
