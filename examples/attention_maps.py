"""Where does the PatchConvNet attention-pooling head look? Writes PNG overlays of its CLS attention on the images.

    python examples/attention_maps.py [--weights best.pt] [--epochs 15] [--out attention_maps.png]

Without --weights it first trains yolov8n-cls-attnpool.yaml briefly on the bundled synthetic classification data
(offline, CPU, about a minute and a half). The attention (CLS query over the stride-32 map) is upsampled to the image
and blended over it on a fixed scale (blue: no weight, red: 3x the uniform weight or more); each tile is titled with
true -> predicted class, its probability, and the attention's normalised entropy H (1 = uniform).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path


def letterbox_square(image, size: int):
    """Resize the shorter side to ``size`` and centre-crop, as Ultralytics' classification preprocessing does."""
    import cv2

    h, w = image.shape[:2]
    r = size / min(h, w)
    image = cv2.resize(image, (round(w * r), round(h * r)), interpolation=cv2.INTER_LINEAR)
    h, w = image.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return image[top : top + size, left : left + size]


def overlay(image, attention, label: str):
    """BGR image with the attention map (H', W') upsampled, colour-mapped and blended, plus a caption."""
    import cv2
    import numpy as np

    h, w = image.shape[:2]
    # Fixed scale, not per-image min-max: 1 = the uniform weight 1/(H'W'); blue <= 0, red >= 3x uniform. A flat
    # (unfocused) map then looks flat instead of showing its noise at full contrast.
    relative = attention.astype(np.float32) * attention.size
    heat = np.clip(cv2.resize(relative, (w, h), interpolation=cv2.INTER_CUBIC) / 3.0, 0.0, 1.0)
    colored = cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_JET)
    blended = cv2.addWeighted(image, 0.55, colored, 0.45, 0)
    tile = np.concatenate([image, blended], axis=1)
    tile = cv2.copyMakeBorder(tile, 22, 4, 4, 4, cv2.BORDER_CONSTANT, value=(255, 255, 255))
    cv2.putText(tile, label, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return tile


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", help="a trained .pt with an AttnPoolClassify head (default: train one)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--imgsz", type=int, default=160)
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--workdir", default="attention_run")
    parser.add_argument("--out", default="attention_maps.png")
    args = parser.parse_args(argv)

    from yolo_hybrid.integration.offline import prepare_offline

    workdir = Path(args.workdir).resolve()
    prepare_offline(workdir / "ultralytics_config")

    import cv2
    import numpy as np
    import torch
    from ultralytics import YOLO

    from yolo_hybrid import attention_maps
    from yolo_hybrid.data import make_dataset

    data = make_dataset(workdir / "shapes-cls", "classify", n_train=150, n_val=30, imgsz=args.imgsz, seed=1)
    if args.weights:
        model = YOLO(args.weights)
    else:
        model = YOLO("yolov8n-cls-attnpool.yaml")
        model.train(
            data=str(data),
            epochs=args.epochs,
            imgsz=args.imgsz,
            batch=16,
            workers=0,
            device="cpu",
            plots=False,
            project=str(workdir / "runs"),
            name="train",
            exist_ok=True,
            seed=0,
            verbose=False,
        )
        model = YOLO(workdir / "runs" / "train" / "weights" / "best.pt")
    names = model.names
    per_class = [sorted(d.glob("*.jpg")) for d in sorted((data / "val").iterdir())]
    paths = [p for group in zip(*per_class, strict=False) for p in group][: args.images]  # round-robin over the classes
    images = [letterbox_square(cv2.imread(str(p)), args.imgsz) for p in paths]
    batch = torch.from_numpy(np.stack([im[:, :, ::-1] for im in images])).permute(0, 3, 1, 2).float() / 255
    probs, maps = attention_maps(model.model.float().eval(), batch)
    tiles = []
    for path, image, p, m in zip(paths, images, probs, maps, strict=False):
        m = m.numpy()
        weights = m / max(float(m.sum()), 1e-12)
        entropy = float(-(weights * np.log(weights + 1e-12)).sum() / math.log(weights.size))
        label = f"{path.parent.name} -> {names[int(p.argmax())]} {float(p.max()):.2f}  H={entropy:.2f}"
        tiles.append(overlay(image, m, label))
        print(
            f"{path.name}: true {path.parent.name}, predicted {names[int(p.argmax())]} ({float(p.max()):.2f}), "
            f"attention map {m.shape}, normalised entropy {entropy:.2f}"
        )
    cols = 2
    rows = [np.concatenate(tiles[i : i + cols], axis=1) for i in range(0, len(tiles) - len(tiles) % cols, cols)]
    grid = np.concatenate(rows, axis=0)
    cv2.imwrite(args.out, grid)
    print(f"wrote {args.out} ({grid.shape[1]}x{grid.shape[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
