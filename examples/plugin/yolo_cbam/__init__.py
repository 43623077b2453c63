"""Example yolo_hybrid plugin: CBAM blocks usable by name in Ultralytics model YAMLs once this package is installed."""

from pathlib import Path

__all__ = ["CONFIG"]

CONFIG = Path(__file__).with_name("yolov8-cbam.yaml")  # YOLO(str(CONFIG)) or `yolo train model=<this path>`
