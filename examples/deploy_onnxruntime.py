"""A standalone detector on an exported YOLO ONNX model: numpy, OpenCV and onnxruntime only.

No torch, no Ultralytics, no yolo_hybrid: copy this file next to ``best.onnx`` on the target machine.

    pip install numpy opencv-python-headless onnxruntime
    python deploy_onnxruntime.py best.onnx image.jpg [more.jpg] [--conf 0.25] [--iou 0.7] [--out-dir detections]

Steps, as Ultralytics' predictor does them: letterbox (keep aspect ratio, pad with grey 114 to the model's input size,
centred), BGR -> RGB, scale to [0, 1]; run; decode the detection head's (1, 4 + nc, anchors) output (centre x/y,
width, height in input pixels, then one score per class); keep the best class of each anchor above ``--conf``; per-class
non-maximum suppression at IoU ``--iou``; map the boxes back to the original image; draw them into a PNG per image.
Class names, task and input size come from the metadata Ultralytics writes into the ONNX file.

``--json FILE`` writes every detection; ``--forbid-torch`` first makes torch, ultralytics and yolo_hybrid
unimportable, proving that the deployed graph needs none of them.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path

GREY = 114


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


def letterbox(image, height: int, width: int):
    """Resize keeping the aspect ratio, pad to (height, width) with grey, centred.

    Returns:
        (tuple): NCHW float32 RGB tensor in [0, 1], the scale ``gain`` and the (left, top) padding in pixels.
    """
    import cv2
    import numpy as np

    h0, w0 = image.shape[:2]
    gain = min(height / h0, width / w0)
    new_w, new_h = round(w0 * gain), round(h0 * gain)
    pad_w, pad_h = (width - new_w) / 2, (height - new_h) / 2
    if (new_w, new_h) != (w0, h0):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    top, bottom = round(pad_h - 0.1), round(pad_h + 0.1)
    left, right = round(pad_w - 0.1), round(pad_w + 0.1)
    image = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(GREY, GREY, GREY))
    tensor = image[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    return np.ascontiguousarray(tensor), gain, (left, top)


def box_iou(box, boxes):
    """IoU of one xyxy box with each of (N, 4) xyxy boxes."""
    import numpy as np

    inter_w = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    inter_h = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = inter_w * inter_h
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / (area + areas - inter + 1e-9)


def nms(boxes, scores, classes, iou: float, max_det: int):
    """Greedy per-class suppression; returns kept indices, highest score first."""
    import numpy as np

    shifted = boxes + classes[:, None].astype(boxes.dtype) * 7680.0  # boxes of different classes never overlap
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size and len(keep) < max_det:
        best, order = order[0], order[1:]
        keep.append(best)
        order = order[box_iou(shifted[best], shifted[order]) <= iou]
    return np.array(keep, dtype=np.int64)


def decode(pred, conf: float, iou: float, max_det: int = 300):
    """Detections from one image's head output (4 + nc, anchors): (N, 6) rows of x1, y1, x2, y2, score, class."""
    import numpy as np

    scores_all = pred[4:]
    classes = scores_all.argmax(0)
    scores = scores_all[classes, np.arange(pred.shape[1])]
    mask = scores > conf
    cx, cy, w, h = pred[:4, mask]
    boxes = np.stack((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), 1)
    scores, classes = scores[mask], classes[mask]
    keep = nms(boxes, scores, classes, iou, max_det)
    return np.concatenate((boxes[keep], scores[keep, None], classes[keep, None].astype(boxes.dtype)), 1)


def to_original(detections, gain: float, pad, shape):
    """Undo the letterbox: remove the padding, divide by the gain, clip to the image."""
    import numpy as np

    out = detections.copy()
    out[:, [0, 2]] = np.clip((out[:, [0, 2]] - pad[0]) / gain, 0, shape[1])
    out[:, [1, 3]] = np.clip((out[:, [1, 3]] - pad[1]) / gain, 0, shape[0])
    return out


def draw(image, detections, names: dict):
    """Boxes and labels drawn on a copy of the image (OpenCV's built-in font: nothing to download)."""
    import cv2

    image = image.copy()
    for x1, y1, x2, y2, score, cls in detections:
        colour = tuple(int(c) for c in ((37 * int(cls)) % 256, (97 * int(cls) + 80) % 256, (173 * int(cls) + 40) % 256))
        cv2.rectangle(image, (int(x1), int(y1)), (int(x2), int(y2)), colour, 2)
        label = f"{names.get(int(cls), int(cls))} {score:.2f}"
        cv2.putText(
            image, label, (int(x1), max(int(y1) - 4, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1, cv2.LINE_AA
        )
    return image


class Detector:
    """An exported Ultralytics detection model in onnxruntime.

    Args:
        model (str): Path of the ``.onnx`` file.
        imgsz (int | None): Input size for a dynamic-shape model (default: the size it was exported at).
    """

    def __init__(self, model: str, imgsz: int | None = None):
        import onnxruntime as ort

        self.session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
        meta = self.session.get_modelmeta().custom_metadata_map
        task = meta.get("task", "detect")
        if task != "detect":
            raise ValueError(f"{model}: task {task!r}; this example decodes detection models (task 'detect') only")
        self.names = ast.literal_eval(meta["names"]) if "names" in meta else {}
        exported = ast.literal_eval(meta["imgsz"]) if "imgsz" in meta else [640, 640]
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        height, width = inp.shape[2:]
        if isinstance(height, int) and isinstance(width, int):  # static graph: its size, whatever --imgsz says
            self.size = (height, width)
        else:
            self.size = (imgsz, imgsz) if imgsz else tuple(exported)

    def __call__(self, image, conf: float = 0.25, iou: float = 0.7):
        """Detections (N, 6) of x1, y1, x2, y2, score, class in the original image's pixels."""
        tensor, gain, pad = letterbox(image, *self.size)
        pred = self.session.run(None, {self.input_name: tensor})[0][0]
        return to_original(decode(pred, conf, iou), gain, pad, image.shape)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("images", nargs="+")
    parser.add_argument("--imgsz", type=int, default=None, help="input size of a dynamic model (default: metadata)")
    parser.add_argument("--conf", type=float, default=0.25)
    parser.add_argument("--iou", type=float, default=0.7)
    parser.add_argument("--out-dir", default=None, help="write <image>.png with the boxes drawn (default: none)")
    parser.add_argument("--json", default=None, help="write all detections to this JSON file")
    parser.add_argument("--forbid-torch", action="store_true")
    args = parser.parse_args(argv)
    if args.forbid_torch:
        forbid("torch", "ultralytics", "yolo_hybrid")

    import cv2
    import onnxruntime

    detector = Detector(args.model, args.imgsz)
    results = {}
    for path in args.images:
        image = cv2.imread(path)
        if image is None:
            raise SystemExit(f"{path}: not an image OpenCV can read")
        detections = detector(image, args.conf, args.iou)
        results[path] = [
            {
                "box": [round(float(v), 3) for v in row[:4]],
                "score": round(float(row[4]), 6),
                "class": int(row[5]),
                "name": detector.names.get(int(row[5]), str(int(row[5]))),
            }
            for row in detections
        ]
        print(
            f"{path}: {len(detections)} detections " + ", ".join(f"{d['name']} {d['score']:.2f}" for d in results[path])
        )
        if args.out_dir:
            out = Path(args.out_dir) / f"{Path(path).stem}.png"
            out.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(out), draw(image, detections, detector.names))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    print(f"onnxruntime {onnxruntime.__version__}, input {detector.size}, torch imported: {'torch' in sys.modules}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
