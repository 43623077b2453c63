"""The accuracy study's report: the summary per model, the schema check, the Markdown table and the plot.

Everything here is computed from the runs in the study JSON, so the committed ``.md`` and ``.png`` can be regenerated
(``python -m yolo_hybrid.study --report-only ...``) and checked against the JSON.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from yolo_hybrid.bench import _ratios
from yolo_hybrid.study.schedule import base_config
from yolo_hybrid.study.stats import paired_interval, spread

__all__ = ["summarize", "check_study", "markdown", "plot", "latency_from_bench", "METRICS"]

METRICS = (("val", "map50_95"), ("val", "map50"), ("test", "map50_95"), ("test", "map50"))
_RUN_SCHEMA = {
    "config": str,
    "seed": int,
    "epochs": int,
    "imgsz": int,
    "batch": int,
    "device": str,
    "protocol": dict,
    "train_seconds": (int, float),
    "eval_seconds": (int, float),
    "seconds_per_epoch": (int, float, type(None)),
    "resumed_at": list,
    "peak_rss_mib": (int, float),
    "val": dict,
    "test": (dict, type(None)),
    "versions": dict,
    "started": str,
    "finished": str,
}
_SPLIT_SCHEMA = {"map50_95": float, "map50": float, "per_class_map50_95": dict}
_VERSIONS = ("torch", "ultralytics", "yolo_hybrid", "python", "commit")


def latency_from_bench(bench_json: str | Path | None) -> dict:
    """The rows of a ``python -m yolo_hybrid.bench`` JSON by model (``onnx_ms``, ``gflops``, ``rounds``, ...; empty if
    absent)."""
    if not bench_json or not Path(bench_json).exists():
        return {}
    return {row["model"]: row for row in json.loads(Path(bench_json).read_text())["rows"]}


def _latency_ratio(cost: dict, base_cost: dict) -> float | None:
    """ONNX Runtime latency over the base's as the benchmark states it (``yolo_hybrid.bench._ratios``: the median of
    the per-round ratios where both were timed in the same rounds, else the ratio of the medians)."""
    return _ratios(cost, base_cost).get("onnx_ms")


def summarize(report: dict, latency: dict | None = None) -> dict:
    """Per config: mean ± sd of each metric over seeds and the paired difference to its stock base, per split.

    Args:
        report (dict): The study JSON (``protocol``, ``configs``, ``runs``).
        latency (dict | None): :func:`latency_from_bench`'s mapping, for the cost columns.

    Returns:
        (dict): ``{config: {"base", "seeds", "<split>_<metric>": spread, "diff_<split>_<metric>": interval, ...}}``.
    """
    latency = latency or {}
    by_config: dict[str, dict[int, dict]] = {}
    for run in report["runs"]:
        by_config.setdefault(run["config"], {})[run["seed"]] = run
    summary = {}
    for config in report["configs"]:
        runs = by_config.get(config, {})
        base = base_config(config)
        entry = {"base": base, "seeds": sorted(runs)}
        for split, metric in METRICS:
            key = f"{split}_{metric}"
            values = {s: r[split][metric] for s, r in runs.items() if r.get(split)}
            entry[key] = spread([values[s] for s in sorted(values)])
            if base != config:
                base_values = {s: r[split][metric] for s, r in by_config.get(base, {}).items() if r.get(split)}
                entry[f"diff_{key}"] = paired_interval(values, base_values)
        seconds = [r["seconds_per_epoch"] for r in runs.values() if r.get("seconds_per_epoch")]
        entry["seconds_per_epoch"] = spread(seconds)["mean"]
        cost, base_cost = latency.get(config, {}), latency.get(base, {})
        entry["gflops"] = cost.get("gflops")
        entry["onnx_ms"] = cost.get("onnx_ms")
        entry["onnx_ratio_to_base"] = _latency_ratio(cost, base_cost)
        summary[config] = entry
    return summary


def check_study(report: dict) -> None:
    """Raise ``ValueError`` naming the first field of the study JSON that is missing or of the wrong type."""
    for key in ("protocol", "configs", "seeds", "runs", "summary"):
        if key not in report:
            raise ValueError(f"study report: no '{key}'")
    for key in ("dataset", "imgsz", "epochs", "batch", "device_type", "recipe", "scale"):
        if key not in report["protocol"]:
            raise ValueError(f"study protocol: no '{key}'")
    for run in report["runs"]:
        where = f"run {run.get('config')} seed {run.get('seed')}"
        for key, kind in _RUN_SCHEMA.items():
            if key not in run or isinstance(run[key], bool) or not isinstance(run[key], kind):
                raise ValueError(f"{where}: '{key}' missing or not {kind}")
        if run["protocol"] != report["protocol"]:
            raise ValueError(f"{where}: ran under another protocol than the study's")
        for split in ("val", "test"):
            if run[split] is None:
                continue
            for key, kind in _SPLIT_SCHEMA.items():
                if not isinstance(run[split].get(key), kind):
                    raise ValueError(f"{where}: '{split}.{key}' missing or not {kind}")
            if not 0.0 <= run[split]["map50_95"] <= run[split]["map50"] <= 1.0:
                raise ValueError(f"{where}: '{split}' needs 0 <= mAP50-95 <= mAP50 <= 1")
        for key in _VERSIONS:
            if key not in run["versions"]:
                raise ValueError(f"{where}: 'versions.{key}' missing")
    for config in report["configs"]:
        if config not in report["summary"]:
            raise ValueError(f"summary: no entry for {config}")


def _mean_sd(s: dict) -> str:
    if s["mean"] is None:
        return "–"
    return f"{s['mean']:.3f} ± {s['sd']:.3f}" if s["sd"] is not None else f"{s['mean']:.3f}"


def _diff(d: dict | None) -> str:
    if d is None:
        return "(stock)"
    if d["mean"] is None:
        return "–"
    if d["low"] is None:
        return f"{d['mean']:+.3f} ({d['verdict']})"
    return f"{d['mean']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}] {d['verdict']}"


def markdown(report: dict) -> str:
    """The study's table: protocol line, one row per model, and the dataset credit."""
    p = report["protocol"]
    ds = p["dataset"]
    images = ", ".join(f"{k} {v}" for k, v in ds["images"].items())
    devices = " / ".join(sorted({r["device"] for r in report["runs"]}))
    protocol = (
        f"Dataset **{ds['name']}** ({images} images; {len(ds['classes'])} classes). {p['recipe']}: scale "
        f"{p['scale']}, {p['imgsz']} px, {p['epochs']} epochs, batch {p['batch']}, seeds "
        f"{', '.join(map(str, report['seeds']))}, on {devices or p['device_type']}; best epoch chosen on val, "
        "test evaluated once per run. Mean ± sd over seeds; Δ = paired difference to the stock base (same seed) with "
        "its 95 % t interval and the verdict read from it."
    )
    lines = [
        *textwrap.wrap(protocol, 118, break_on_hyphens=False),
        "",
        "| model | seeds | val mAP50-95 | Δ val mAP50-95 | test mAP50-95 | Δ test mAP50-95 | val mAP50 | "
        "ORT CPU latency × base | GFLOPs | s/epoch |",
        "|---|---:|---:|---|---:|---|---:|---:|---:|---:|",
    ]
    for config in report["configs"]:
        s = report["summary"][config]
        ratio = f"{s['onnx_ratio_to_base']:.2f}" if s.get("onnx_ratio_to_base") else "–"
        gflops = f"{s['gflops']:.1f}" if s.get("gflops") else "–"
        sec = f"{s['seconds_per_epoch']:.0f}" if s.get("seconds_per_epoch") else "–"
        lines.append(
            f"| `{config}` | {len(s['seeds'])} | {_mean_sd(s['val_map50_95'])} | {_diff(s.get('diff_val_map50_95'))} | "
            f"{_mean_sd(s['test_map50_95'])} | {_diff(s.get('diff_test_map50_95'))} | {_mean_sd(s['val_map50'])} | "
            f"{ratio} | {gflops} | {sec} |"
        )
    if p.get("credit"):
        lines += ["", *textwrap.wrap(f"Dataset credit: {p['credit']}", 118, break_on_hyphens=False)]
    return "\n".join(lines) + "\n"


def plot(report: dict, path: Path) -> None:
    """mAP50-95 (mean, sd as error bars) against ONNX Runtime CPU latency, val and test side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from yolo_hybrid.plot_labels import place_labels

    fig, axes = plt.subplots(1, 2, figsize=(12, 5), dpi=120)
    for ax, split in zip(axes, ("val", "test"), strict=False):
        xs, ys, names = [], [], []
        for config in report["configs"]:
            s = report["summary"][config]
            m = s[f"{split}_map50_95"]
            if m["mean"] is None or not s.get("onnx_ms"):
                continue
            stock = s["base"] == config
            ax.errorbar(
                s["onnx_ms"],
                m["mean"],
                yerr=m["sd"] or 0,
                fmt="s" if stock else "o",
                capsize=3,
                color="black" if stock else None,
            )
            xs.append(s["onnx_ms"])
            ys.append(m["mean"])
            names.append(Path(config).stem)
        ax.set_xlabel("ONNX Runtime CPU latency, ms (benchmark of the same commit, 640 px, 1 thread)")
        ax.set_ylabel(f"{split} mAP50-95 (mean ± sd over seeds)")
        ax.set_title(f"{report['protocol']['dataset']['name']}: {split}")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        if xs:
            place_labels(ax, xs, ys, names)
    fig.savefig(path, dpi=120)
    plt.close(fig)
