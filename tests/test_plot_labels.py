"""Benchmark plot labels (``yolo_hybrid.plot_labels``): readable where points cluster, as the PNG's YOLO11/26 rows
do."""

from __future__ import annotations

import itertools
import math

import pytest

from yolo_hybrid.plot_labels import place_labels

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.text import Text  # noqa: E402

MARKER_PX = 4.0 * 120 / 72  # half a marker's side at the benchmark's 120 dpi


def _box(extent):
    return extent.x0, extent.y0, extent.x1, extent.y1


def _overlap(a, b):
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def _labelled(xs, ys):
    fig, ax = plt.subplots(figsize=(6.5, 4.8), dpi=120)
    ax.scatter(xs, ys, s=46)
    fig.tight_layout()
    labels = [f"yolo11n-model-{i}" for i in range(len(xs))]
    annotations = place_labels(ax, xs, ys, labels)
    fig.canvas.draw()
    return fig, ax, annotations, labels


def test_clustered_labels_do_not_cover_each_other_markers_or_the_frame():
    # eight models within 0.3 GFLOPs and 6 ms of each other, as yolo11s/yolo26s and their blocks, plus outliers
    xs = [21.8, 21.9, 21.8, 22.0, 23.0, 23.1, 23.0, 22.3, 28.8, 38.1, 38.1, 25.9]
    ys = [240.0, 244.0, 238.0, 236.0, 233.0, 231.0, 235.0, 223.0, 287.0, 457.0, 433.0, 281.0]
    fig, ax, annotations, labels = _labelled(xs, ys)
    renderer = fig.canvas.get_renderer()
    boxes = [_box(Text.get_window_extent(a, renderer)) for a in annotations]  # the text alone, not its leader
    frame = _box(ax.get_window_extent(renderer))
    points = ax.transData.transform(list(zip(xs, ys, strict=False)))
    markers = [(x - MARKER_PX, y - MARKER_PX, x + MARKER_PX, y + MARKER_PX) for x, y in points]
    assert [a.get_text() for a in annotations] == labels
    for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2):
        assert not _overlap(a, b), (labels[i], labels[j])
    for i, box in enumerate(boxes):
        assert not any(_overlap(box, marker) for marker in markers), labels[i]
        assert frame[0] <= box[0] and box[2] <= frame[2] and frame[1] <= box[1] and box[3] <= frame[3], labels[i]
        # each label reads as its point's: right beside it (under 10 pt), or tied to it by a leader
        (x, y), leader = points[i], annotations[i].arrow_patch
        near = math.hypot(max(box[0] - x, 0, x - box[2]), max(box[1] - y, 0, y - box[3])) < 10 * 120 / 72
        assert near or (leader is not None and annotations[i].xy == (xs[i], ys[i])), labels[i]
    plt.close(fig)


def test_a_label_that_had_to_move_is_tied_to_its_point():
    xs, ys = [1.0, 1.002, 1.004, 1.001, 3.0], [1.0, 1.001, 1.0, 0.999, 2.0]
    fig, ax, annotations, _ = _labelled(xs, ys)
    lone = annotations[-1]
    assert lone.arrow_patch is None  # a point alone keeps its label next to it, with no line
    moved = [a for a in annotations[:-1] if a.arrow_patch is not None]
    assert moved  # four markers overlap: at most one label fits beside them without a leader
    for a in moved:
        assert a.xy in list(zip(xs, ys, strict=False))  # the leader ends at the point the label names
    plt.close(fig)
