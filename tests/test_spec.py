"""The declarative block descriptions: argument kinds never coerce, the decorator validates every construction, and
the block tables of docs/blocks/ are the ones they generate."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch.nn as nn

from tests.helpers import ROOT
from yolo_hybrid.errors import ConfigError
from yolo_hybrid.nn import YAML_BLOCKS
from yolo_hybrid.spec import (
    FLAG,
    HEADS,
    POSITIVE,
    POSITIVE_INT,
    RATIO,
    Arg,
    Choice,
    Int,
    Maybe,
    Number,
    Pair,
    Rule,
    divides,
    head_count,
    yaml_block,
)


@pytest.mark.parametrize(
    "kind,good,bad",
    [
        (POSITIVE_INT, [1, 7], [0, -1, True, 2.0, "3", None]),
        (Int(0), [0, 5], [-1, False, 0.0]),
        (RATIO, [0.25, 1, 1.0], [0, 1.01, -0.5, True, "0.5", None, float("nan")]),
        (POSITIVE, [1e-4, 3, 2.5], [0, -2, False, float("inf"), "1"]),
        (Number(0.0, 1.0, include_low=True, include_high=False), [0, 0.5, 0.99], [1, 1.0, -0.1, True]),
        (Choice((1, 2)), [1, 2], [3, True, 1.0, "1"]),
        (FLAG, [True, False], [1, 0, "true", None]),
        (Maybe(POSITIVE_INT), [None, 3], [0, "None", 1.5]),
        (Pair(POSITIVE_INT), [4, [4, 6], (2, 3)], [[4], [4, 5, 6], [4, 0], "4", [True, 2]]),
        (
            HEADS,
            [1, 8, "d1", "d64", "d128", "d64<=8", "d1<=1", "d32<=16"],
            [
                0,
                -2,
                True,
                2.0,
                "8",
                "d",
                "d0",
                "d064",
                "D64",
                "d-4",
                "d6.4",
                " d64",
                "d64 ",
                "64d",
                None,
                [8],
                "d64<=0",
                "d64<=",
                "d64<8",
                "d64=<8",
                "d64<=08",
                "d64 <= 8",
                "d64<=8 ",
                "<=8",
                "8<=d64",
                "d0<=8",
                "d64<=8<=4",
                "d64<=-1",
                "d64<=2.5",
            ],
        ),
    ],
)
def test_kinds_accept_exactly_their_values(kind, good, bad):
    assert all(kind.accepts(v) for v in good), [v for v in good if not kind.accepts(v)]
    assert not any(kind.accepts(v) for v in bad), [v for v in bad if kind.accepts(v)]


def _toy():
    @yaml_block(
        "repeat",
        Arg("e", RATIO, "ratio", "use 0.5"),
        Arg("heads", POSITIVE_INT, "heads", "use 4"),
        rules=(Rule("heads", lambda a: None if int(a.c2 * a.e) % a.heads == 0 else "must divide int(c2*e)", "use 4"),),
    )
    class Toy(nn.Module):
        def __init__(self, c1, c2, n=1, e=0.5, heads=4):
            super().__init__()
            self.built = (c1, c2, n, e, heads)

    return Toy


def test_decorator_validates_before_the_body_runs():
    toy = _toy()
    assert toy(8, 16, 2, 0.5, 2).built == (8, 16, 2, 0.5, 2)
    with pytest.raises(
        ConfigError, match=r"Toy: e=True \(YAML args\[1\]\) must be a number in \(0, 1\]\. Fix: use 0.5"
    ):
        toy(8, 16, 1, True)
    with pytest.raises(ConfigError, match=r"Toy: heads=3 \(YAML args\[2\]\) must divide int\(c2\*e\)\. Fix: use 4"):
        toy(8, 16, 1, 0.5, 3)
    with pytest.raises(ConfigError, match=r"n=-1 \(the row's repeats column"):
        toy(8, 16, -1)
    with pytest.raises(ConfigError, match=r"takes at most 3 YAML args \[c2, e, heads\]; 4 given"):
        toy(8, 16, 1, 0.5, 4, 9)
    assert toy.yaml_spec.yaml_names() == ["c2", "e", "heads"]


@pytest.mark.parametrize(
    "heads,channels,count",
    [(4, 256, 4), ("d64", 256, 4), ("d64", 200, 3), ("d64", 32, 1), ("d32", 64, 2), ("d1", 5, 5)],
)
def test_head_count_is_one_head_per_n_channels_and_at_least_one(heads, channels, count):
    assert head_count(heads, channels) == count


@pytest.mark.parametrize(
    "heads,channels,count",
    [
        ("d64<=8", 512, 8),
        ("d64<=8", 1024, 8),
        ("d64<=8", 256, 4),
        ("d64<=2", 64, 1),
        ("d64<=2", 320, 2),
        ("d32<=16", 256, 8),
        ("d32<=8", 16, 1),
        ("d1<=3", 5, 3),
    ],
)
def test_a_capped_head_count_is_one_per_n_channels_up_to_the_cap(heads, channels, count):
    assert head_count(heads, channels) == count


def test_a_per_channel_head_count_that_does_not_divide_names_the_count():
    rule = divides("heads", lambda a: a.c2, "c2", "use d8")
    assert rule.check(SimpleNamespace(c2=256, heads="d64")) is None
    assert rule.check(SimpleNamespace(c2=200, heads="d64")) == (
        "gives 3 heads here, which must divide c2 = 200 (at this scale)"
    )
    assert rule.check(SimpleNamespace(c2=200, heads=3)) == "must divide c2 = 200 (at this scale)"
    assert rule.check(SimpleNamespace(c2=200, heads="d64<=2")) is None  # 2 heads
    assert rule.check(SimpleNamespace(c2=200, heads="d64<=8")) == (
        "gives 3 heads here, which must divide c2 = 200 (at this scale)"
    )
    # counted on the layer's width c2, checked against a narrower one (CMT's query/key width c2 // qk_ratio)
    qk = divides("heads", lambda a: a.c2 // a.qk_ratio, "c2 // qk_ratio", "use d8", per=lambda a: a.c2)
    assert qk.check(SimpleNamespace(c2=192, qk_ratio=2, heads="d64")) is None  # 3 heads, 96 query/key channels
    assert qk.check(SimpleNamespace(c2=256, qk_ratio=3, heads="d64")) == (
        "gives 4 heads here, which must divide c2 // qk_ratio = 85 (c2 = 256 at this scale)"
    )


def test_description_must_match_the_signature():
    with pytest.raises(TypeError, match="differ from the signature"):

        @yaml_block("base", Arg("k", POSITIVE_INT, "kernel", "use 3"))
        class Wrong(nn.Module):
            def __init__(self, c1, c2, s=1):
                super().__init__()


def test_every_yaml_block_is_described():
    for name, (cls, kind) in YAML_BLOCKS.items():
        spec = cls.yaml_spec
        assert spec.kind == kind and spec.name == name and spec.summary
        assert all(a.fix and a.doc for a in spec.args), name


def test_docs_block_tables_are_generated():
    proc = subprocess.run(
        [sys.executable, "tools/update_block_table.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
