"""Starting from stock weights: which of a stock checkpoint's tensors reach a model built from one of our configs.

``YOLO("yolo26n-cot.yaml").load("yolo26n.pt")`` (and ``yolo train ... pretrained=yolo26n.pt``) copies every tensor
whose state-dict key and shape match (Ultralytics' ``intersect_dicts``). Our configs keep every row they do not
replace at its stock index, so every unchanged layer transfers in full; a replaced layer transfers what has the stock
name and shape (the ``cv1``/``cv2``(/``cv3``) convolutions of a C2f/C3k2/C2PSA replaced by our form of that layout
when their widths agree). ``transfer_report`` proves it without a download: it builds the stock model, loads it as
Ultralytics would, and compares tensors.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["stock_config", "transfer_report"]


def stock_config(cfg: str | Path) -> Path:
    """The stock Ultralytics YAML a config of ours derives from (``yolo26-seg-cot.yaml`` -> ``26/yolo26-seg.yaml``).

    Raises:
        FileNotFoundError: The installed Ultralytics has no such YAML (e.g. YOLO26 before 8.4).
    """
    from ultralytics.utils import ROOT

    stem = Path(cfg).stem
    match = re.match(r"^yolo(v?)(\d+)(-(?:seg|pose|obb|cls))?-", stem)
    if match is None:
        raise FileNotFoundError(f"{stem}: not named yolo<version>[-task]-<family>")
    v, version, task = match[1], match[2], match[3] or ""
    path = ROOT / "cfg" / "models" / f"v{version}" if v else ROOT / "cfg" / "models" / version
    path = path / f"yolo{v}{version}{task}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist in this Ultralytics")
    return path


def _modules(keys: list[str]) -> dict[str, list[str]]:
    """State-dict keys grouped by module (an Ultralytics Conv is one: its conv and bn), BN step counters left out
    (a scalar has every shape in common with every other: it says nothing about what was inherited)."""
    groups: dict[str, list[str]] = {}
    for key in keys:
        if key.endswith("num_batches_tracked"):
            continue
        parts = key.split(".")
        owner = parts[:-2] if len(parts) > 2 and parts[-2] in ("conv", "bn") else parts[:-1]
        groups.setdefault(".".join(owner), []).append(key)
    return groups


def transfer_report(cfg: str | Path, scale: str = "n", nc: int | None = None) -> dict:
    """Load a stock model of the same base, task and scale into ``cfg``'s model as ``YOLO.load`` does.

    ``cfg`` is a path or the bare name of a bundled config; ``nc`` builds ours with that many classes, as training on
    a dataset does (the stock checkpoint keeps its own: class layers then differ in shape and are not transferred).

    Returns:
        (dict): ``transferred``/``total`` (tensors, as Ultralytics' "Transferred N/M items"), ``unchanged``
        (indices of rows equal to the stock rows), ``missing`` (tensors of unchanged rows not transferred or not
        equal afterwards: empty when every unchanged layer kept its stock weights), ``inherited`` (replaced row ->
        its modules whose every tensor came from the stock row), ``replaced`` (replaced row -> (stock module, our
        module)).
    """
    import torch

    from yolo_hybrid.integration.configs import find_config
    from yolo_hybrid.integration.parser import _rows
    from yolo_hybrid.integration.summary import build_model

    cfg = Path(cfg) if Path(cfg).is_file() else find_config(Path(cfg).name) or Path(cfg)
    stock_path = stock_config(cfg)
    stock, ours = build_model(stock_path, scale), build_model(cfg, scale, nc=nc)
    torch.manual_seed(0)
    for parameter in stock.parameters():  # distinct values, so "equal after loading" means "copied"
        parameter.data.normal_()
    ours.load(stock)  # BaseModel.load: intersect_dicts by key and shape, load_state_dict(strict=False)
    theirs, mine = stock.state_dict(), ours.state_dict()
    transferred = [k for k, v in mine.items() if k in theirs and theirs[k].shape == v.shape]
    stock_rows, our_rows = _rows(stock.yaml), _rows(ours.yaml)
    unchanged = [i for i, (a, b) in enumerate(zip(stock_rows, our_rows, strict=False)) if a == b]
    missing, inherited, replaced = [], {}, {}
    for i, (a, b) in enumerate(zip(stock_rows, our_rows, strict=False)):
        prefix = f"model.{i}."
        keys = [k for k in mine if k.startswith(prefix)]
        if i in unchanged:
            missing += [k for k in keys if k not in theirs or not torch.equal(mine[k], theirs[k])]
        else:
            replaced[i] = (a[2], b[2])
            copied = {k for k in keys if k in transferred and torch.equal(mine[k], theirs[k])}
            inherited[i] = [
                name[len(prefix) :] for name, members in _modules(keys).items() if all(k in copied for k in members)
            ]
    return {
        "config": Path(cfg).name,
        "stock": stock_path.name,
        "scale": scale,
        "transferred": len(transferred),
        "total": len(mine),
        "unchanged": unchanged,
        "missing": missing,
        "inherited": inherited,
        "replaced": replaced,
    }
