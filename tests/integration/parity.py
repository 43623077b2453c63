"""Channel/width/depth parity of our blocks with stock C2f/Conv rows, at scales n, s, m.

Importable by the tests, and runnable as a script in a fresh interpreter (``python parity.py``) so the tests can check
each registration strategy (``YOLO_HYBRID_STRATEGY=ast|alias``) in its own process.
"""

from __future__ import annotations

import copy
import sys

import torch
import torch.nn as nn

# Every stock C2f row gets one of our repeat blocks (rotating), the two stride-2 head Convs our base block.
REPEAT_ROWS = {
    "BoT3": lambda c2: [c2],
    "C2fBoT": lambda c2: [c2, True],
    "BoTStage": lambda c2: [c2, 1, 1.0],
    "CoT3": lambda c2: [c2],
    "C2fCoT": lambda c2: [c2, True],
    "SAMBlock": lambda c2: [c2],
    "MSABlock": lambda c2: [c2, 8],
    "SMTStage": lambda c2: [c2, 4, 8],
    "C2fSAM": lambda c2: [c2],
    "CMTBlock": lambda c2: [c2, 2, 2],
}
BASE_ROWS = {"BottleneckTransformer": lambda c2: [c2, 2], "CoTBottleneck": lambda c2: [c2, 2]}


def stock_and_ours(start: int = 0):
    """(stock yolov8 dict, our dict) differing only in module names/args of C2f and strided head Conv rows.

    The C2f rows get our repeat blocks in rotation from ``start``; ``layouts()`` picks starts covering them all.
    """
    from ultralytics.utils import ROOT, YAML

    stock = YAML.load(ROOT / "cfg/models/v8/yolov8.yaml")
    ours = copy.deepcopy(stock)
    repeat_names, base_names = list(REPEAT_ROWS), list(BASE_ROWS)
    replaced, k, b = {}, start, start
    rows = ours["backbone"] + ours["head"]
    for i, row in enumerate(rows):
        if row[2] == "C2f":
            name = repeat_names[k % len(repeat_names)]
            k += 1
            row[2], row[3] = name, REPEAT_ROWS[name](row[3][0])
            replaced[i] = name
        elif row[2] == "Conv" and i >= len(ours["backbone"]):
            name = base_names[b % len(base_names)]
            b += 1
            row[2], row[3] = name, BASE_ROWS[name](row[3][0])
            replaced[i] = name
    return stock, ours, replaced


def _first_in_channels(module: nn.Module) -> int:
    return next(m for m in module.modules() if isinstance(m, nn.Conv2d)).in_channels


def _repeats(module: nn.Module) -> int:
    inner = getattr(module, "m", None)
    return len(inner) if isinstance(inner, (nn.Sequential, nn.ModuleList)) else 1


def layer_table(d: dict, scale: str) -> list[tuple]:
    """Per layer: (module type, c1 of its first conv, output channels at 64x64, inner repeats)."""
    from ultralytics.nn.tasks import DetectionModel

    d = copy.deepcopy(d)
    d["scale"] = scale
    model = DetectionModel(d, verbose=False).eval()
    outs = {}
    hooks = [m.register_forward_hook(lambda mod, inp, out, i=i: outs.__setitem__(i, out)) for i, m in enumerate(model.model)]
    with torch.no_grad():
        model(torch.zeros(1, 3, 64, 64))
    for h in hooks:
        h.remove()
    table = []
    for i, m in enumerate(model.model):
        has_conv = any(isinstance(x, nn.Conv2d) for x in m.modules())
        out = outs[i]
        table.append(
            (
                type(m).__name__,
                _first_in_channels(m) if has_conv else None,
                out.shape[1] if isinstance(out, torch.Tensor) else None,
                _repeats(m),
            )
        )
    return table


def layouts():
    """Enough rotations that every repeat block and every base block replaces some stock row."""
    stock, _, replaced = stock_and_ours()
    rows = sum(1 for name in replaced.values() if name in REPEAT_ROWS)
    return [stock_and_ours(start) for start in range(0, max(len(REPEAT_ROWS), len(BASE_ROWS)), rows)]


def mismatches(scale: str) -> list[str]:
    """Human-readable differences between stock and ours at ``scale`` (empty when in parity), over all layouts."""
    return [p for stock, ours, replaced in layouts() for p in _compare(stock, ours, replaced, scale)]


def _compare(stock, ours, replaced, scale: str) -> list[str]:
    a, b = layer_table(stock, scale), layer_table(ours, scale)
    problems = []
    for i, (s_row, o_row) in enumerate(zip(a, b)):
        if i in replaced:
            if o_row[0] != replaced[i]:
                problems.append(f"{scale} layer {i}: built {o_row[0]}, expected {replaced[i]}")
            if s_row[1:] != o_row[1:]:
                problems.append(f"{scale} layer {i} {o_row[0]}: (c1, c2, n)={o_row[1:]} but stock {s_row[0]} {s_row[1:]}")
        elif s_row != o_row:
            problems.append(f"{scale} layer {i}: {o_row} != stock {s_row}")
    return problems


if __name__ == "__main__":
    import yolo_hybrid

    report = yolo_hybrid.register()
    found = [p for scale in "nsm" for p in mismatches(scale)]
    print(f"strategy={report['strategy']} mismatches={len(found)}")
    print("\n".join(found))
    sys.exit(1 if found else 0)
