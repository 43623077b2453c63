"""Starting from stock weights: for every bundled config, a stock model of the same base, task and scale loads into
ours with every unchanged layer's tensors transferred and equal; the table of docs/training.md is this run's (also
``python tools/update_transfer_table.py --check``); the real checkpoint
route (a saved .pt, YOLO(...).load(path)) transfers the same."""

from __future__ import annotations

import re

import pytest
import torch

from tests.helpers import ROOT, assert_ok, run_python
from yolo_hybrid.integration.configs import list_configs
from yolo_hybrid.integration.transfer import stock_config, transfer_report

CONFIGS = list_configs()


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda p: p.stem)
def test_every_unchanged_layer_transfers_and_the_docs_say_so(cfg):
    report = transfer_report(cfg)
    assert report["missing"] == [], f"{cfg.name}: unchanged layers not transferred: {report['missing'][:5]}"
    if cfg.name != "yolov8-cls-botnet50.yaml":  # a ResNet-50 body: nothing of yolov8-cls is kept, by design
        assert report["unchanged"] and report["replaced"], report
        # our forms of C2f/C3k2/C2PSA keep the stock outer convolutions: they inherit cv1 and cv2
        for i, (stock, ours) in report["replaced"].items():
            if ours.startswith(("C2f", "C3k2")) or ours in ("C2BoT", "C2MSA", "C2CMT"):
                assert {"cv1", "cv2"} <= set(report["inherited"][i]), (i, stock, ours, report["inherited"][i])
    page = (ROOT / "docs" / "training.md").read_text()
    line = re.search(rf"^\| `{re.escape(cfg.name)}` \| `{re.escape(report['stock'])}` \| (\d+)/(\d+) \|", page, re.M)
    assert line, f"{cfg.name}: no row in docs/training.md's transfer table (python tools/update_transfer_table.py)"
    assert (int(line[1]), int(line[2])) == (report["transferred"], report["total"]), "stale: update_transfer_table.py"


def test_stock_config_names_the_base_and_task():
    assert stock_config("yolo26-seg-cot.yaml").as_posix().endswith("cfg/models/26/yolo26-seg.yaml")
    assert stock_config("yolov8-cls-botnet50.yaml").as_posix().endswith("cfg/models/v8/yolov8-cls.yaml")
    with pytest.raises(FileNotFoundError):
        stock_config("resnet-bot3.yaml")


def test_saved_stock_checkpoint_loads_by_path_like_a_user_does(tmp_path):
    """No download: a stock yolo26n saved the way Ultralytics saves checkpoints, then .load(path) in a fresh process."""
    from ultralytics import YOLO

    stock = YOLO("yolo26n.yaml").model
    torch.save({"model": stock, "train_args": {}}, tmp_path / "yolo26n.pt")
    expected = transfer_report("yolo26-smt.yaml")
    out = assert_ok(
        run_python(
            f"from ultralytics import YOLO\nYOLO('yolo26n-smt.yaml').load({str(tmp_path / 'yolo26n.pt')!r})\n",
            env={**__import__("os").environ, "YOLO_VERBOSE": "True"},
            cwd=tmp_path,
        )
    )
    assert f"Transferred {expected['transferred']}/{expected['total']} items" in out, out[-2000:]
