"""Point labels that do not overlap, for the benchmark's scatter plots (matplotlib, no extra dependency).

Models of one scale cluster (YOLO11 and YOLO26 rows sit within a few ms and GFLOPs of each other), and labels at a
fixed offset then print over each other. Each label here takes the nearest free spot around its point: candidate
offsets on rings of growing radius, the first whose text box stays inside the axes, clear of every marker and every
label already placed, and does not read as another point's label; a label moved off the first ring gets a thin leader
line to its point, placed so that leaders do not cross.

Why not adjustText (1.4.0, the well-kept library for this): ``benchmarks/plot_labels_vs_adjusttext.py`` draws the
committed results both ways, adjustText with leaders as documented, with ``expand=(1.3, 1.6)``, and with the markers
as ``objects``. On bench.json's four panels (64 labels, three runs each), adjustText:

* covers markers, whose shape and colour are the legend: 29-40 labels lie on a marker, 10-14 on another point's
  (ours: 0 and 0); on study_bccd.json (12 labels) 8-12 lie on their own marker and one crosses the frame (ours: 0);
* reads worse: 19-27 labels lie nearer another point than their own (ours: 13), with 44-56 leaders (ours: 15);
  its default is nearer on average (9 px from label to point, ours 15) because it lays labels on the markers;
* stops at its 1 s time limit before it settles, so the PNG depends on the machine's speed: three runs gave three
  layouts (ours: the same bytes each time), and with its default one run in three let two labels overlap.

It is faster (about half our seconds with its defaults) and would add scipy, which Ultralytics does not bring.
"""

from __future__ import annotations

import math

__all__ = ["place_labels"]

_RINGS_PT = (5, 10, 16, 24, 34, 46, 60, 76, 94, 114)  # label offsets tried, in points, nearest first
_MARKER_RADIUS_PT = 4.0  # half the side of a scatter marker of size 46 (pt^2)


def _candidates():
    """(dx, dy) offsets in points, ring by ring; 12 directions on the inner rings, 24 further out."""
    for ring, radius in enumerate(_RINGS_PT):
        steps = 12 if ring < 3 else 24
        for k in range(steps):
            angle = 2 * math.pi * k / steps - math.pi / 12  # start right and slightly below, like the old labels
            yield radius * math.cos(angle), radius * math.sin(angle), ring


def _alignment(dx: float, dy: float) -> tuple[str, str]:
    """Text anchored on the side facing its point, so the box grows away from it."""
    ha = "left" if dx > 0.3 * abs(dy) else "right" if dx < -0.3 * abs(dy) else "center"
    va = "bottom" if dy > 0.3 * abs(dx) else "top" if dy < -0.3 * abs(dx) else "center"
    return ha, va


def _overlap(a, b) -> float:
    """Area shared by two (x0, y0, x1, y1) boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _crosses(p, q, a, b) -> bool:
    """Whether segments p-q and a-b cross (touching ends do not count)."""

    def side(o, s, t):
        return (s[0] - o[0]) * (t[1] - o[1]) - (s[1] - o[1]) * (t[0] - o[0])

    return side(p, q, a) * side(p, q, b) < 0 and side(a, b, p) * side(a, b, q) < 0


def _passes_through(p, q, box) -> bool:
    """Whether segment p-q enters ``box`` (sampled at 15 points: boxes are markers or labels, >= 10 px across)."""
    return any(
        box[0] <= p[0] + (q[0] - p[0]) * t / 16 <= box[2] and box[1] <= p[1] + (q[1] - p[1]) * t / 16 <= box[3]
        for t in range(1, 16)
    )


def _distance(point, box) -> float:
    """Distance from a point to a box (0 inside)."""
    return math.hypot(max(box[0] - point[0], 0, point[0] - box[2]), max(box[1] - point[1], 0, point[1] - box[3]))


def place_labels(ax, xs, ys, labels, fontsize: float = 6) -> list:
    """Annotate point ``i`` of ``ax`` at ``(xs[i], ys[i])`` with ``labels[i]``, no two labels overlapping.

    Call after the axes' limits and layout are final (``tight_layout`` first): positions are decided in display
    space. A label away from its point gets a leader line. Among the candidates, a label takes the one that hides
    least (text outside the axes or over a marker or label), then the one that misleads least (nearer to another
    point than to its own, a leader crossing another leader, a marker or a label), then the nearest.

    Args:
        ax (matplotlib.axes.Axes): Axes holding the points.
        xs (Sequence[float]): Data x of each point.
        ys (Sequence[float]): Data y of each point.
        labels (Sequence[str]): Text of each point.
        fontsize (float): Label size in points.

    Returns:
        (list[matplotlib.text.Annotation]): The labels, in the order of ``labels``.

    Examples:
        >>> import matplotlib; matplotlib.use("Agg"); import matplotlib.pyplot as plt
        >>> fig, ax = plt.subplots(); _ = ax.scatter([1, 1.01], [1, 1.01])
        >>> len(place_labels(ax, [1, 1.01], [1, 1.01], ["a", "b"]))
        2
    """
    fig = ax.figure
    fig.canvas.draw()  # fixes limits and gives the renderer that measures text
    renderer = fig.canvas.get_renderer()
    px_per_pt = fig.dpi / 72.0
    frame = ax.get_window_extent(renderer)
    inside = (frame.x0, frame.y0, frame.x1, frame.y1)
    points = [tuple(p) for p in ax.transData.transform(list(zip(xs, ys, strict=False)))]
    r = _MARKER_RADIUS_PT * px_per_pt
    markers = [(x - r, y - r, x + r, y + r) for x, y in points]
    crowd = [sum(math.dist(p, q) < 60 * px_per_pt for q in points) for p in points]
    boxes, leaders, annotations = [], [], [None] * len(labels)
    for i in sorted(range(len(labels)), key=lambda j: (-crowd[j], -points[j][1])):
        best = None
        others = markers[:i] + markers[i + 1 :]
        for dx, dy, ring in _candidates():
            ha, va = _alignment(dx, dy)
            text = ax.annotate(
                labels[i], (xs[i], ys[i]), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize, ha=ha, va=va
            )
            extent = text.get_window_extent(renderer)
            text.remove()
            box = (extent.x0 - 1, extent.y0 - 1, extent.x1 + 1, extent.y1 + 1)
            # first what the label would hide (outside the axes, over a marker or label), then what misleads
            hidden = (box[2] - box[0]) * (box[3] - box[1]) - _overlap(box, inside)
            hidden += sum(_overlap(box, other) for other in boxes + markers)
            own = _distance(points[i], box)
            misleads = sum(_distance(q, box) < own for j, q in enumerate(points) if j != i)  # reads as q's label
            end = (points[i][0] + dx * px_per_pt, points[i][1] + dy * px_per_pt)  # the leader's end, if any
            if ring > 0:
                misleads += 2 * sum(_crosses(points[i], end, a, b) for a, b in leaders)
                misleads += 2 * sum(_passes_through(points[i], end, other) for other in others + boxes)
            cost = (hidden, misleads)
            if best is None or cost < best[0]:
                best = (cost, dx, dy, ring, box, end)
            if cost == (0, 0):
                break
        _, dx, dy, ring, box, end = best
        ha, va = _alignment(dx, dy)
        leader = {"arrowstyle": "-", "lw": 0.4, "color": "0.45", "shrinkA": 0, "shrinkB": 2} if ring > 0 else None
        annotations[i] = ax.annotate(
            labels[i],
            (xs[i], ys[i]),
            xytext=(dx, dy),
            textcoords="offset points",
            fontsize=fontsize,
            ha=ha,
            va=va,
            arrowprops=leader,
        )
        boxes.append(box)
        if ring > 0:
            leaders.append((points[i], end))
    return annotations
