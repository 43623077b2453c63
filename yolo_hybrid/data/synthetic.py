"""A small synthetic "shapes" dataset for every Ultralytics task, made offline in seconds.

Images show filled rectangles, ellipses and triangles (random size, rotation, colour) on a noisy background. One
drawing gives the labels of every task: boxes (detect), polygons (segment), rotated boxes (obb), four extreme points
as keypoints (pose: top, right, bottom, left; so a horizontal flip swaps right and left) and, for classify, one shape
per image sorted into class folders. Written with an absolute ``path:`` so Ultralytics never resolves it against its
datasets directory or tries a download.

Examples:
    >>> from yolo_hybrid.data import make_dataset
    >>> data_yaml = make_dataset("datasets/shapes-detect", task="detect")  # 32 + 8 images of 160 px, about a second
    >>> data_yaml.is_absolute(), data_yaml.parts[-3:]
    (True, ('datasets', 'shapes-detect', 'data.yaml'))
    >>> # the same from a shell: python -m yolo_hybrid.data --task pose --out datasets/shapes-pose
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import cv2
import numpy as np

__all__ = ["CLASSES", "TASKS", "make_dataset", "main"]

CLASSES = ("rectangle", "ellipse", "triangle")
TASKS = ("detect", "segment", "pose", "obb", "classify")
KPT_FLIP_IDX = [0, 3, 2, 1]  # keypoints are (top, right, bottom, left)


def _shape_polygon(rng: np.random.Generator, cls: int, center, size: float) -> np.ndarray:
    """Polygon (K, 2) in pixels of one shape, rotated by a random angle."""
    if cls == 0:
        w, h = size, size * rng.uniform(0.45, 0.9)
        pts = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
    elif cls == 1:
        t = np.linspace(0, 2 * math.pi, 32, endpoint=False)
        pts = np.stack([np.cos(t) * size / 2, np.sin(t) * size * rng.uniform(0.5, 1.0) / 2], 1)
    else:
        t = np.array([-math.pi / 2, math.pi / 6, 5 * math.pi / 6])
        pts = np.stack([np.cos(t), np.sin(t)], 1) * size / 2
    angle = rng.uniform(0, math.pi)
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    return pts @ rot.T + np.asarray(center)


def _draw_image(rng: np.random.Generator, imgsz: int, max_objects: int, single: bool = False):
    """An image (H, W, 3) uint8 and its objects as (class, polygon) with polygons inside the image."""
    base = rng.integers(30, 90, size=3)
    img = np.clip(base + rng.normal(0, 12, (imgsz, imgsz, 3)), 0, 255).astype(np.uint8)
    objects = []
    for _ in range(1 if single else rng.integers(1, max_objects + 1)):
        cls = int(rng.integers(len(CLASSES)))
        size = rng.uniform(0.45, 0.8) * imgsz if single else rng.uniform(0.15, 0.4) * imgsz
        margin = size * 0.6
        center = (imgsz / 2, imgsz / 2) if single else rng.uniform(margin, imgsz - margin, 2)
        poly = np.clip(_shape_polygon(rng, cls, center, size), 0, imgsz - 1)
        color = tuple(int(c) for c in rng.integers(120, 256, size=3))
        cv2.fillPoly(img, [np.round(poly).astype(np.int32)], color)
        objects.append((cls, poly))
    return img, objects


def _label_line(task: str, cls: int, poly: np.ndarray, imgsz: int) -> str:
    norm = poly / imgsz
    x0, y0 = norm.min(0)
    x1, y1 = norm.max(0)
    box = [(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0]
    if task == "detect":
        values = box
    elif task == "segment":
        values = norm.reshape(-1).tolist()
    elif task == "obb":
        corners = cv2.boxPoints(cv2.minAreaRect(poly.astype(np.float32))) / imgsz
        values = np.clip(corners, 0, 1).reshape(-1).tolist()
    else:  # pose: box + (top, right, bottom, left) extreme points, visible
        picks = [norm[:, 1].argmin(), norm[:, 0].argmax(), norm[:, 1].argmax(), norm[:, 0].argmin()]
        values = box + [v for i in picks for v in (norm[i, 0], norm[i, 1], 2)]
    return " ".join([str(cls)] + [f"{v:.6f}" if not isinstance(v, int) else str(v) for v in values])


def make_dataset(
    root: str | Path,
    task: str = "detect",
    n_train: int = 32,
    n_val: int = 8,
    imgsz: int = 160,
    max_objects: int = 4,
    seed: int = 0,
) -> Path:
    """Write the dataset under ``root`` and return what Ultralytics' ``data=`` takes.

    Args:
        root (str | Path): Output directory (created; existing files are overwritten).
        task (str): One of ``detect``, ``segment``, ``pose``, ``obb``, ``classify``.
        n_train (int): Training images.
        n_val (int): Validation images.
        imgsz (int): Square image size in pixels.
        max_objects (int): Maximum shapes per image (classify: always one).
        seed (int): Random seed; the same arguments give the same files.

    Returns:
        (Path): ``root/data.yaml`` for detection-style tasks, ``root`` itself for classify.
    """
    if task not in TASKS:
        raise ValueError(f"task={task!r} is not one of {TASKS}")
    root = Path(root).resolve()
    rng = np.random.default_rng(seed)
    for split, count in (("train", n_train), ("val", n_val)):
        for k in range(count):
            img, objects = _draw_image(rng, imgsz, max_objects, single=task == "classify")
            if task == "classify":
                out = root / split / CLASSES[objects[0][0]] / f"{split}_{k:04d}.jpg"
            else:
                out = root / "images" / split / f"{k:04d}.jpg"
                label = root / "labels" / split / f"{k:04d}.txt"
                label.parent.mkdir(parents=True, exist_ok=True)
                label.write_text("\n".join(_label_line(task, c, p, imgsz) for c, p in objects) + "\n")
            out.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(out), img)
    if task == "classify":
        for split in ("train", "val"):  # every class folder must exist even if the draw skipped a class
            for name in CLASSES:
                (root / split / name).mkdir(parents=True, exist_ok=True)
        return root
    lines = [f"path: {root}", "train: images/train", "val: images/val", "names:"]
    lines += [f"  {i}: {name}" for i, name in enumerate(CLASSES)]
    if task == "pose":
        lines += ["kpt_shape: [4, 3]", f"flip_idx: {KPT_FLIP_IDX}"]
    data_yaml = root / "data.yaml"
    data_yaml.write_text("\n".join(lines) + "\n")
    return data_yaml


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m yolo_hybrid.data", description="Write a synthetic shapes dataset.")
    parser.add_argument("--task", default="detect", choices=TASKS)
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--train", type=int, default=32, help="training images")
    parser.add_argument("--val", type=int, default=8, help="validation images")
    parser.add_argument("--imgsz", type=int, default=160)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    path = make_dataset(args.out, args.task, args.train, args.val, args.imgsz, seed=args.seed)
    print(path)
    return path
