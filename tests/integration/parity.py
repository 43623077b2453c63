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
# YOLO11 (Ultralytics 8.3+): our C3k2 and C2PSA forms take the stock row's own args (a user swaps only the name).
YOLO11_SWAPS = {
    "C3k2": ["C3k2BoT", "C3k2CoT", "C3k2SAM", "C3k2CMT"],
    "C2PSA": ["C2BoT", "C2MSA", "C2CMT"],
}


def stock_and_ours(start: int = 0, repeat_rows: dict | None = None, base_rows: dict | None = None):
    """(stock yolov8 dict, our dict) differing only in module names/args of C2f and strided head Conv rows.

    The C2f rows get the repeat blocks of ``repeat_rows`` (default: ours) in rotation from ``start``, the strided head
    Convs those of ``base_rows``; ``layouts()`` picks starts covering them all.
    """
    from ultralytics.utils import ROOT, YAML

    repeat_rows, base_rows = repeat_rows or REPEAT_ROWS, base_rows or BASE_ROWS
    stock = YAML.load(ROOT / "cfg/models/v8/yolov8.yaml")
    ours = copy.deepcopy(stock)
    repeat_names, base_names = list(repeat_rows), list(base_rows)
    replaced, k, b = {}, start, start
    rows = ours["backbone"] + ours["head"]
    for i, row in enumerate(rows):
        if row[2] == "C2f":
            name = repeat_names[k % len(repeat_names)]
            k += 1
            row[2], row[3] = name, repeat_rows[name](row[3][0])
            replaced[i] = name
        elif row[2] == "Conv" and i >= len(ours["backbone"]):
            name = base_names[b % len(base_names)]
            b += 1
            row[2], row[3] = name, base_rows[name](row[3][0])
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
    hooks = [
        m.register_forward_hook(lambda mod, inp, out, i=i: outs.__setitem__(i, out)) for i, m in enumerate(model.model)
    ]
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


def layouts(repeat_rows: dict | None = None, base_rows: dict | None = None):
    """Enough rotations that every repeat block and every base block replaces some stock row."""
    repeat_rows, base_rows = repeat_rows or REPEAT_ROWS, base_rows or BASE_ROWS
    stock, _, replaced = stock_and_ours(0, repeat_rows, base_rows)
    rows = sum(1 for name in replaced.values() if name in repeat_rows)
    return [
        stock_and_ours(start, repeat_rows, base_rows) for start in range(0, max(len(repeat_rows), len(base_rows)), rows)
    ]


def mismatches(scale: str, repeat_rows: dict | None = None, base_rows: dict | None = None) -> list[str]:
    """Human-readable differences between stock and ours at ``scale`` (empty when in parity), over all layouts.

    ``repeat_rows`` / ``base_rows``: ``{YAML name: c2 -> args}`` of the blocks to put in C2f / strided Conv rows
    (default: every yolo_hybrid block).
    """
    return [
        p for stock, ours, replaced in layouts(repeat_rows, base_rows) for p in _compare(stock, ours, replaced, scale)
    ]


def _compare(stock, ours, replaced, scale: str) -> list[str]:
    a, b = layer_table(stock, scale), layer_table(ours, scale)
    problems = []
    for i, (s_row, o_row) in enumerate(zip(a, b, strict=False)):
        if i in replaced:
            if o_row[0] != replaced[i]:
                problems.append(f"{scale} layer {i}: built {o_row[0]}, expected {replaced[i]}")
            if s_row[1:] != o_row[1:]:
                problems.append(
                    f"{scale} layer {i} {o_row[0]}: (c1, c2, n)={o_row[1:]} but stock {s_row[0]} {s_row[1:]}"
                )
        elif s_row != o_row:
            problems.append(f"{scale} layer {i}: {o_row} != stock {s_row}")
    return problems


def name_swaps(base: str, swaps: dict, start: int = 0):
    """(stock dict, our dict, replaced) for Ultralytics' ``cfg/models/<base>``: every row whose module is a key of
    ``swaps`` gets one of its names in rotation from ``start``, with the row's args unchanged."""
    from ultralytics.utils import ROOT, YAML

    stock = YAML.load(ROOT / "cfg/models" / base)
    ours = copy.deepcopy(stock)
    replaced, turn = {}, dict.fromkeys(swaps, start)
    for i, row in enumerate(ours["backbone"] + ours["head"]):
        stock_name = row[2]
        if stock_name in swaps:
            names = swaps[stock_name]
            row[2] = replaced[i] = names[turn[stock_name] % len(names)]
            turn[stock_name] += 1
    return stock, ours, replaced


def swap_mismatches(scale: str, base: str = "11/yolo11.yaml", swaps: dict | None = None) -> list[str]:
    """``mismatches`` for name swaps in a stock YAML (default: our YOLO11 forms), over enough rotations that every
    name replaces some row."""
    swaps = swaps or YOLO11_SWAPS
    rotations = max(len(names) for names in swaps.values())
    return [p for start in range(rotations) for p in _compare(*name_swaps(base, swaps, start), scale)]


def has_yolo11() -> bool:
    import ultralytics.nn.tasks as tasks

    return hasattr(tasks, "C3k2") and hasattr(tasks, "C2PSA")


if __name__ == "__main__":
    import yolo_hybrid

    report = yolo_hybrid.register()
    found = [p for scale in "nsm" for p in mismatches(scale)]
    if has_yolo11():
        from ultralytics.utils import ROOT

        bases = [base for base in ("11/yolo11.yaml", "26/yolo26.yaml") if (ROOT / "cfg/models" / base).is_file()]
        found += [p for base in bases for scale in "nsm" for p in swap_mismatches(scale, base)]
    print(f"strategy={report['strategy']} mismatches={len(found)}")
    print("\n".join(found))
    sys.exit(1 if found else 0)
