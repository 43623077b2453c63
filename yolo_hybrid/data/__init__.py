"""Offline data for demos and tests: a synthetic shapes dataset for every Ultralytics task."""

from yolo_hybrid.data.synthetic import CLASSES, TASKS, make_dataset

__all__ = ["CLASSES", "TASKS", "make_dataset"]
