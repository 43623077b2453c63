"""Seed statistics of the accuracy study: mean and spread, and the paired difference to a base with its interval.

Seeds pair the runs: ``yolov8n-cot`` seed 1 and ``yolov8n`` seed 1 share the seed's initialisation stream and data
order, so the difference is taken seed by seed and its t interval is over those differences (n seeds, n - 1 degrees
of freedom). The verdict reads the interval alone: above zero ``better``, below ``worse``, across it ``no difference
detectable`` (which is not "equal": with three seeds the interval is wide).
"""

from __future__ import annotations

import math
import statistics

__all__ = ["spread", "paired_interval", "t_quantile", "VERDICTS"]

VERDICTS = ("better", "no difference detectable", "worse", "too few seeds")


def spread(values: list[float]) -> dict:
    """Mean and sample standard deviation (n - 1) of ``values``; sd is None for a single value.

    Examples:
        >>> spread([0.5, 0.6, 0.7])
        {'n': 3, 'mean': 0.6, 'sd': 0.1}
    """
    if not values:
        return {"n": 0, "mean": None, "sd": None}
    mean = statistics.fmean(values)
    return {
        "n": len(values),
        "mean": round(mean, 10),
        "sd": round(statistics.stdev(values), 10) if len(values) > 1 else None,
    }


def _t_cdf(x: float, df: int) -> float:
    """P(T <= x) for Student's t with ``df`` degrees of freedom: 1/2 plus Simpson's rule over the density on [0, x].

    The density is smooth and bounded, so 4,000 Simpson intervals give ~1e-12 for the quantiles used here; scipy
    would do this in one call but is not among Ultralytics' dependencies, and one quantile does not justify it.
    """
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)

    def pdf(t: float) -> float:
        return math.exp(log_c - (df + 1) / 2 * math.log1p(t * t / df))

    steps = 4000
    h = abs(x) / steps
    total = pdf(0.0) + pdf(abs(x)) + sum((4 if i % 2 else 2) * pdf(i * h) for i in range(1, steps))
    area = total * h / 3
    return 0.5 + math.copysign(area, x)


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (bisection on :func:`_t_cdf`), 0.5 < p < 1."""
    low, high = 0.0, 1.0
    while _t_cdf(high, df) < p:
        high *= 2
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if _t_cdf(mid, df) < p else (low, mid)
    return (low + high) / 2


def paired_interval(ours: dict[int, float], base: dict[int, float], level: float = 0.95) -> dict:
    """Mean difference ``ours - base`` over the seeds both have, with its two-sided t interval and a verdict.

    Args:
        ours (dict[int, float]): Metric per seed of the model.
        base (dict[int, float]): Metric per seed of its stock base.
        level (float): Confidence level of the interval.

    Returns:
        (dict): ``n``, ``seeds``, ``mean``, ``sd``, ``low``, ``high`` (None below two seeds) and ``verdict``.

    Examples:
        >>> r = paired_interval({0: 0.33, 1: 0.34, 2: 0.35}, {0: 0.30, 1: 0.30, 2: 0.30})
        >>> round(r["low"], 4), round(r["high"], 4), r["verdict"]
        (0.0152, 0.0648, 'better')
    """
    seeds = sorted(set(ours) & set(base))
    diffs = [ours[s] - base[s] for s in seeds]
    out = {"n": len(diffs), "seeds": seeds, **dict.fromkeys(("mean", "sd", "low", "high"))}
    if not diffs:
        return {**out, "verdict": "too few seeds"}
    out["mean"] = statistics.fmean(diffs)
    if len(diffs) < 2:
        return {**out, "verdict": "too few seeds"}
    out["sd"] = statistics.stdev(diffs)
    half = t_quantile(0.5 + level / 2, len(diffs) - 1) * out["sd"] / math.sqrt(len(diffs))
    out["low"], out["high"] = out["mean"] - half, out["mean"] + half
    verdict = "better" if out["low"] > 0 else "worse" if out["high"] < 0 else "no difference detectable"
    return {**out, "verdict": verdict}
