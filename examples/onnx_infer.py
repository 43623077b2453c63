"""Run an exported YOLO detection ONNX model with onnxruntime alone: no torch, no Ultralytics, no yolo_hybrid.

    python examples/onnx_infer.py model.onnx image.jpg [more images] [--imgsz 160] [--conf 0.25]

With ``--forbid-torch`` the script first makes ``torch``, ``ultralytics`` and ``yolo_hybrid`` unimportable, proving the
exported graph needs none of them (the demo runs it that way).
"""

from __future__ import annotations

import argparse
import sys


def forbid(*names: str) -> None:
    """Make the named top-level packages unimportable in this process."""

    class Blocker:
        def find_spec(self, fullname, path=None, target=None):
            if fullname.split(".")[0] in names:
                raise ImportError(f"{fullname} is blocked: the ONNX model must run without it")
            return None

    for name in list(sys.modules):
        if name.split(".")[0] in names:
            raise RuntimeError(f"{name} was already imported before the blocker was installed")
    sys.meta_path.insert(0, Blocker())


def letterbox(image, size: int):
    """Resize keeping aspect ratio and pad to size x size with grey, as Ultralytics does; returns NCHW float32."""
    import cv2
    import numpy as np

    h, w = image.shape[:2]
    r = min(size / h, size / w)
    nh, nw = round(h * r), round(w * r)
    canvas = np.full((size, size, 3), 114, dtype=np.uint8)
    top, left = (size - nh) // 2, (size - nw) // 2
    canvas[top : top + nh, left : left + nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    return canvas[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("images", nargs="+")
    parser.add_argument("--imgsz", type=int, default=160)
    parser.add_argument("--conf", type=float, default=0.25)
    parser.add_argument("--forbid-torch", action="store_true")
    args = parser.parse_args(argv)
    if args.forbid_torch:
        forbid("torch", "ultralytics", "yolo_hybrid")

    import cv2
    import onnxruntime as ort

    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    for path in args.images:
        image = cv2.imread(path)
        (pred,) = session.run(None, {name: letterbox(image, args.imgsz)})[:1]
        scores = pred[0, 4:]  # (nc, anchors): detection head output is (1, 4 + nc, anchors)
        best = scores.max(0)
        keep = int((best > args.conf).sum())
        print(f"{path}: output {tuple(pred.shape)}, {keep} anchors above conf {args.conf}, "
              f"max score {float(best.max()):.3f}, class of max {int(scores[:, best.argmax()].argmax())}")
    print("onnxruntime", ort.__version__, "| torch imported:", "torch" in sys.modules)
    return 0


if __name__ == "__main__":
    sys.exit(main())
