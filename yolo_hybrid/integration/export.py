"""Tell our blocks when Ultralytics' exporter traces an ONNX export at a static size (``yolo_hybrid.nn.query_blocks``).

The exporter hands the model nothing that says whether ``dynamic=True`` was asked for: the flag lives on the
``Exporter`` whose ``export_onnx`` method runs ``torch.onnx.export``. The probe finds that call among the frames that
lead to the traced forward and reads ``self.args.dynamic``; nothing of Ultralytics is modified. Outside that method
(a plain ``torch.onnx.export``, another exporter, a release that renames it) the answer is False, and attention is
exported over the whole map as before.
"""

from __future__ import annotations

import sys

__all__ = ["ultralytics_static_onnx_export", "add_export_probe"]


def ultralytics_static_onnx_export() -> bool:
    """True while ``Exporter.export_onnx`` of Ultralytics runs with ``dynamic`` off."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "export_onnx":
            exporter = frame.f_locals.get("self")
            if type(exporter).__name__ == "Exporter" and type(exporter).__module__.startswith("ultralytics."):
                return not getattr(getattr(exporter, "args", None), "dynamic", True)
        frame = frame.f_back
    return False


def add_export_probe() -> None:
    from yolo_hybrid.nn.query_blocks import add_static_export_probe

    add_static_export_probe(ultralytics_static_onnx_export)
