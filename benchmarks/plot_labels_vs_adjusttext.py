"""Labels of the benchmark plots: ``yolo_hybrid.plot_labels`` against adjustText, on the committed results.

    pip install adjustText==1.4.0  # and scipy, which it needs; neither is a dependency of the project
    python benchmarks/plot_labels_vs_adjusttext.py [--out /tmp/plot_labels] [--repeat 3]

Draws the plots of ``benchmarks/results/bench.json`` (``yolo_hybrid.bench.plot``) and ``study_bccd.json``
(``yolo_hybrid.study.report.plot``) with each labeller, writes ``<out>/<plot>_<labeller>.png``, and prints per plot
and labeller, over all its panels: label pairs that overlap, pairs closer than 3 px (they read as one string), labels
over a marker (any, another point's), labels not wholly inside the axes, labels nearer another point than their own,
leader lines and crossing pairs of them, distance from a label's box to its point (mean, max, px), and seconds spent
placing. Each labeller runs ``--repeat`` times: ``overlap`` is given per run, ``layouts`` counts the different label
layouts the runs gave, the other columns are the first run's (seconds: the fastest run's).

Labellers: ours; adjustText with leaders (texts at their points, ``arrowprops``), the same with ``expand=(1.3, 1.6)``,
and the same with ``expand=(1.2, 1.4)`` and the marker boxes as ``objects`` to avoid.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

import yolo_hybrid.bench as bench  # noqa: E402
import yolo_hybrid.plot_labels as plot_labels  # noqa: E402
from yolo_hybrid.study import report as study_report  # noqa: E402

ROOT = Path(__file__).resolve().parent
LEADER = {"arrowstyle": "-", "lw": 0.4, "color": "0.45"}
# plot: (JSON, plot function, half a marker's side in points: scatter s=46 pt^2 in the benchmark, errorbar's 6 pt)
PLOTS = {
    "bench": ("bench.json", bench.plot, 3.4),
    "study_bccd": ("study_bccd.json", study_report.plot, 3.0),
}


def _adjusttext(expand=None, markers_pt=None):
    from adjustText import adjust_text

    def place(ax, xs, ys, labels, fontsize=6):
        kwargs = {} if expand is None else {"expand": expand}
        if markers_pt is not None:
            ax.figure.canvas.draw()
            r = markers_pt * ax.figure.dpi / 72
            points = ax.transData.transform(list(zip(xs, ys, strict=False)))
            kwargs["objects"] = [Bbox([[x - r, y - r], [x + r, y + r]]) for x, y in points]
        texts = [ax.text(x, y, s, fontsize=fontsize) for x, y, s in zip(xs, ys, labels, strict=False)]
        adjust_text(texts, x=xs, y=ys, ax=ax, arrowprops=LEADER, **kwargs)
        return texts

    return place


def _box(extent):
    return extent.x0, extent.y0, extent.x1, extent.y1


def _overlap(a, b, gap=0.0):
    return min(a[2], b[2]) + gap > max(a[0], b[0]) and min(a[3], b[3]) + gap > max(a[1], b[1])


def _distance(point, box):
    return math.hypot(max(box[0] - point[0], 0, point[0] - box[2]), max(box[1] - point[1], 0, point[1] - box[3]))


def _crosses(p, q, a, b):
    def side(o, s, t):
        return (s[0] - o[0]) * (t[1] - o[1]) - (s[1] - o[1]) * (t[0] - o[0])

    return side(p, q, a) * side(p, q, b) < 0 and side(a, b, p) * side(a, b, q) < 0


def _draw(plot: str, labeller, out: Path):
    """Draw one plot with ``labeller`` as its ``place_labels``: its metrics and label layout, measured as saved.

    ``panels`` holds per panel (ax, xs, ys, texts, {id(text): its leader's patch}, seconds placing).
    """
    name, plot_fn, marker_pt = PLOTS[plot]
    panels, measured = [], []

    def place(ax, xs, ys, labels, fontsize=6):
        patches = len(ax.patches)
        start = time.perf_counter()
        texts = labeller(ax, xs, ys, labels, fontsize=fontsize)
        seconds = time.perf_counter() - start
        # ours: annotations with an arrow_patch; adjustText: a FancyArrowPatch per leader whose patchA is the text
        leadered = {id(t): t.arrow_patch for t in texts if getattr(t, "arrow_patch", None) is not None}
        leadered |= {id(p.patchA): p for p in ax.patches[patches:] if getattr(p, "patchA", None) is not None}
        panels.append((ax, list(xs), list(ys), texts, leadered, seconds))
        return texts

    def close(fig):  # the plot closes its figure right after saving it: measure the saved layout then
        measured.append(_metrics(panels, marker_pt))
        close_figure(fig)

    ours, close_figure = plot_labels.place_labels, plt.close
    bench.place_labels = plot_labels.place_labels = place
    plt.close = close
    try:
        plot_fn(json.loads((ROOT / "results" / name).read_text()), out)
    finally:
        bench.place_labels = plot_labels.place_labels = ours
        plt.close = close_figure
    return measured[0]


def _metrics(panels, marker_pt: float) -> dict:
    m = dict.fromkeys(
        ("labels", "overlap", "touch", "on_marker", "on_other", "outside", "misread", "leaders", "crossing"), 0
    )
    distances, m["seconds"], layout = [], 0.0, []
    for ax, xs, ys, texts, leadered, seconds in panels:
        fig = ax.figure
        fig.canvas.draw()  # the saved layout: the plots save at the figure's dpi
        renderer = fig.canvas.get_renderer()
        frame = _box(ax.get_window_extent(renderer))
        points = [tuple(p) for p in ax.transData.transform(list(zip(xs, ys, strict=False)))]
        r = marker_pt * fig.dpi / 72
        markers = [(x - r, y - r, x + r, y + r) for x, y in points]
        boxes = [_box(Text.get_window_extent(t, renderer)) for t in texts]  # the text alone, not its leader
        layout += [tuple(round(v, 1) for v in box) for box in boxes]
        m["labels"] += len(texts)
        m["seconds"] += seconds
        for a, b in itertools.combinations(boxes, 2):
            m["overlap"] += _overlap(a, b)
            m["touch"] += _overlap(a, b, gap=3.0)
        leaders = []
        for i, box in enumerate(boxes):
            m["on_marker"] += any(_overlap(box, marker) for marker in markers)
            m["on_other"] += any(_overlap(box, marker) for j, marker in enumerate(markers) if j != i)
            inside = frame[0] <= box[0] and box[2] <= frame[2] and frame[1] <= box[1] and box[3] <= frame[3]
            m["outside"] += not inside
            own = _distance(points[i], box)
            distances.append(own)
            m["misread"] += any(_distance(q, box) < own for j, q in enumerate(points) if j != i)
            if id(texts[i]) in leadered:  # the line as drawn, in display space
                patch = leadered[id(texts[i])]
                ends = patch.get_transform().transform_path(patch.get_path()).vertices[[0, -1]]
                leaders.append(tuple(map(tuple, ends)))
        m["leaders"] += len(leaders)
        m["crossing"] += sum(_crosses(p, q, a, b) for (p, q), (a, b) in itertools.combinations(leaders, 2))
    m["dist_mean"] = sum(distances) / len(distances)
    m["dist_max"] = max(distances)
    return m, tuple(layout)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/plot_labels"))
    parser.add_argument("--repeat", type=int, default=3, help="runs per labeller, to see whether its layout varies")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    labellers = {
        "ours": plot_labels.place_labels,
        "adjustText": _adjusttext(),
        "adjustText expand": _adjusttext(expand=(1.3, 1.6)),
    }
    columns = None
    for plot, (_, _, marker_pt) in PLOTS.items():  # adjustText's objects: the markers of that plot
        labellers["adjustText expand+objects"] = _adjusttext(expand=(1.2, 1.4), markers_pt=marker_pt)
        for name, labeller in labellers.items():
            runs = []
            for _ in range(args.repeat):
                runs.append(_draw(plot, labeller, args.out / f"{plot}_{name.replace(' ', '_').replace('+', '_')}.png"))
            m = dict(runs[0][0], layouts=len({layout for _, layout in runs}))
            m["overlap"] = "/".join(str(r[0]["overlap"]) for r in runs)  # per run: a layout that varies may overlap
            m["seconds"] = min(r[0]["seconds"] for r in runs)
            if columns is None:
                columns = list(m)
                print("| plot | labeller | " + " | ".join(columns) + " |")
                print("|---" * (len(columns) + 2) + "|")
            cells = [f"{m[c]:.1f}" if isinstance(m[c], float) else str(m[c]) for c in columns]
            print(f"| {plot} | {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
