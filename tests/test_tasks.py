"""Every task trains for one epoch on the bundled synthetic data with our configs (tiny images, n scale)."""

from __future__ import annotations

import pytest

from yolo_hybrid.data import make_dataset

CASES = [
    ("segment", "yolov8n-seg-bot3.yaml", "BoT3"),
    ("pose", "yolov8n-pose-bot3.yaml", "BoT3"),
    ("obb", "yolov8n-obb-bot3.yaml", "BoT3"),
    ("classify", "yolov8n-cls-bot3.yaml", "BoT3"),
    ("detect", "yolov8n-cot.yaml", "C2fCoT"),
    ("classify", "yolov8n-cls-cot.yaml", "C2fCoT"),
    ("detect", "yolov8n-smt.yaml", "MSABlock"),
    ("detect", "yolov8n-cmt.yaml", "CMTBlock"),
]


@pytest.mark.parametrize("task,cfg,block", CASES, ids=[c[1] for c in CASES])
def test_one_epoch_per_task(task, cfg, block, tmp_path):
    from ultralytics import YOLO

    data = make_dataset(tmp_path / "data", task, n_train=8, n_val=4, imgsz=64)
    model = YOLO(cfg)
    assert model.task == task
    model.train(
        data=str(data),
        epochs=1,
        imgsz=64,
        batch=4,
        workers=0,
        device="cpu",
        plots=False,
        project=str(tmp_path / "runs"),
        name="t",
        exist_ok=True,
        verbose=False,
    )
    assert (tmp_path / "runs" / "t" / "weights" / "last.pt").is_file()
    assert type(model.model.model[8]).__name__ == block


def test_dataset_labels_are_well_formed(tmp_path):
    """Labels parse as Ultralytics expects: class + 4 box values / polygon pairs / 4 corners / box + 4x3 keypoints."""
    expected_len = {
        "detect": lambda n: n == 5,
        "segment": lambda n: n >= 7 and (n - 1) % 2 == 0,
        "obb": lambda n: n == 9,
        "pose": lambda n: n == 5 + 12,
    }
    for task, ok in expected_len.items():
        data = make_dataset(tmp_path / task, task, n_train=4, n_val=2, imgsz=64, seed=3)
        for label in (data.parent / "labels").rglob("*.txt"):
            for line in label.read_text().splitlines():
                values = line.split()
                assert ok(len(values)), (task, line)
                assert int(values[0]) in (0, 1, 2)
                assert all(0.0 <= float(v) <= 1.0 for v in values[1:] if v != "2")
    root = make_dataset(tmp_path / "cls", "classify", n_train=6, n_val=3, imgsz=64)
    assert sum(1 for _ in root.rglob("*.jpg")) == 9
    assert sorted(p.name for p in (root / "train").iterdir()) == ["ellipse", "rectangle", "triangle"]
