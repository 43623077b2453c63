"""Block families. ``YAML_BLOCKS`` lists every class usable by name in a model YAML and how Ultralytics' parser must
treat it: ``"repeat"`` blocks are built like C3/C2f (``(c1, c2_scaled, n, *args)``), ``"base"`` blocks like Conv
(``(c1, c2_scaled, *args)``)."""

from yolo_hybrid.nn.bot import BoT3, BoTStage, BottleneckTransformer, C2fBoT, RelPosMHSA2d

__all__ = ["YAML_BLOCKS", "RelPosMHSA2d", "BottleneckTransformer", "BoTStage", "BoT3", "C2fBoT"]

YAML_BLOCKS = {
    "BoT3": (BoT3, "repeat"),
    "C2fBoT": (C2fBoT, "repeat"),
    "BoTStage": (BoTStage, "repeat"),
    "BottleneckTransformer": (BottleneckTransformer, "base"),
}

from yolo_hybrid import _autoload  # noqa: E402

_autoload.flush_pending()  # Ultralytics may have been imported (and tasks loaded) by the block modules above
