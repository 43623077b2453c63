"""Write ``tests/data/compat-<yolo_hybrid version>.pt``: a checkpoint of every YAML block, saved as Ultralytics'
trainer saves one (fp16 EMA model pickled by class path), with its own input and the output it gave.

Run once per release:  python tools/make_compat_checkpoint.py
Every later release must keep loading every file written so (tests/integration/test_checkpoint_compat.py): class
paths (``yolo_hybrid.nn.bot.BoT3``), attribute names and state-dict keys are a contract.
"""

from __future__ import annotations

import copy
import datetime
from pathlib import Path

import torch

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def compat_input() -> torch.Tensor:
    """The fixed image every compat checkpoint is checked on (no RNG: identical in every release)."""
    y, x = torch.meshgrid(torch.linspace(0, 1, 64), torch.linspace(0, 1, 48), indexing="ij")
    return torch.stack([x, y, (x * y).sqrt()])[None]


def main() -> None:
    import ultralytics
    from ultralytics.nn.tasks import ClassificationModel

    import yolo_hybrid

    torch.manual_seed(0)
    model = ClassificationModel(str(DATA / "compat-all-blocks.yaml"), verbose=False)
    model.train()(torch.rand(2, 3, 64, 48))  # one training forward: BN statistics are not all defaults
    ema = copy.deepcopy(model).half().eval()
    with torch.no_grad():
        out = copy.deepcopy(ema).float()(compat_input())
    probs = out[0] if isinstance(out, (tuple, list)) else out
    checkpoint = {
        "epoch": -1,
        "best_fitness": None,
        "model": None,
        "ema": ema,
        "updates": 0,
        "optimizer": None,
        "train_args": {"task": "classify", "imgsz": 64, "model": "compat-all-blocks.yaml"},
        "date": datetime.datetime.now().astimezone().isoformat(),
        "version": ultralytics.__version__,
        "yolo_hybrid": {"version": yolo_hybrid.__version__, "probs": probs.float()},
    }
    path = DATA / f"compat-{yolo_hybrid.__version__}.pt"
    torch.save(checkpoint, path)
    print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB, ultralytics {ultralytics.__version__})")


if __name__ == "__main__":
    main()
