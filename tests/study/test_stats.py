"""Seed statistics against literal numbers: textbook t quantiles and hand-computed intervals."""

from __future__ import annotations

import pytest

from yolo_hybrid.study.stats import paired_interval, spread, t_quantile


@pytest.mark.parametrize(("df", "expected"), [(1, 12.7062), (2, 4.3027), (4, 2.7764), (9, 2.2622), (29, 2.0452)])
def test_t_quantile_matches_the_printed_table(df, expected):
    # two-sided 95 % critical values as printed in any t table (0.975 quantiles)
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-4)


def test_paired_interval_by_hand_no_difference():
    # differences 0.01, 0.02, 0.03: mean 0.02, sd 0.01, se 0.01/sqrt(3) = 0.005774, half width 4.3027 * se = 0.024841
    r = paired_interval({0: 0.31, 1: 0.32, 2: 0.33, 5: 0.9}, {0: 0.30, 1: 0.30, 2: 0.30})
    assert r["n"] == 3 and r["seeds"] == [0, 1, 2]  # seed 5 has no base run: not paired, not counted
    assert r["mean"] == pytest.approx(0.02) and r["sd"] == pytest.approx(0.01)
    assert r["low"] == pytest.approx(-0.004841, abs=1e-6) and r["high"] == pytest.approx(0.044841, abs=1e-6)
    assert r["verdict"] == "no difference detectable"


def test_paired_interval_verdicts_from_the_interval_alone():
    better = paired_interval({0: 0.33, 1: 0.34, 2: 0.35}, {0: 0.30, 1: 0.30, 2: 0.30})
    assert (round(better["low"], 6), round(better["high"], 6)) == (0.015159, 0.064841) and better["verdict"] == "better"
    worse = paired_interval({0: 0.27, 1: 0.26, 2: 0.25}, {0: 0.30, 1: 0.30, 2: 0.30})
    assert worse["high"] == pytest.approx(-0.015159, abs=1e-6) and worse["verdict"] == "worse"
    one = paired_interval({0: 0.4}, {0: 0.3})
    assert one["mean"] == pytest.approx(0.1) and one["low"] is None and one["verdict"] == "too few seeds"
    assert paired_interval({}, {0: 0.3})["verdict"] == "too few seeds"


def test_spread_is_mean_and_sample_sd():
    assert spread([0.2, 0.4]) == {"n": 2, "mean": pytest.approx(0.3), "sd": pytest.approx(0.141421356)}
    assert spread([0.5]) == {"n": 1, "mean": 0.5, "sd": None}
    assert spread([]) == {"n": 0, "mean": None, "sd": None}
