"""Render the version group's results (``ultralytics-<version>.json``, one per release) as the Compatibility table
of docs/compatibility.md.

    python scripts/compat_table.py --results DIR            # print the Markdown
    python scripts/compat_table.py --results DIR --write    # put it into docs/compatibility.md between the markers
    python scripts/compat_table.py --results DIR --check    # exit 1 (with a diff) if the page's table is not this run's

Rows are releases (newest first), columns the checks of ``tests/versions/test_matrix.py``; a cell is ``passed/run``,
failures name the config and point to a numbered note holding the message (also used for the stock probes' known
limits); "run with" lists what a check needed beyond the plain stack. Standard library only; stable output (no times,
no paths), so a rerun on the same code gives the same text.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from generated import update  # noqa: E402  (tools/generated.py: the shared writer of generated sections)

PAGE = ROOT / "docs" / "compatibility.md"
COLUMNS = [  # (check, header)
    ("build", "builds by bare name, forward"),
    ("predict", "eval forward + predict"),
    ("train", "1 epoch `yolo train`"),
    ("reload", "reload + predict, fresh process"),
    ("onnx", "dynamic ONNX = PyTorch in onnxruntime"),
    ("stock", "stock Ultralytics on this stack"),
]
SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def release(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version))


def short(config: str) -> str:
    """``yolov8n-cls-attnpool.yaml`` -> ``cls-attnpool`` (a stock probe's label stays as it is)."""
    return re.sub(r"^yolov8n-|\.yaml$", "", config)


def load(folder: Path) -> list[dict]:
    runs = [json.loads(p.read_text()) for p in sorted(folder.glob("ultralytics-*.json"))]
    if not runs:
        raise SystemExit(f"no ultralytics-*.json in {folder}: run bash scripts/test_versions.sh first")
    return sorted(runs, key=lambda r: release(r["ultralytics"]), reverse=True)


class Notes:
    """Numbered notes below the table, one per distinct message, in order of first use."""

    def __init__(self):
        self.texts: list[str] = []

    def ref(self, text: str) -> str:
        if text not in self.texts:
            self.texts.append(text)
        return str(self.texts.index(text) + 1).translate(SUPERSCRIPT)


def cell(records: list[dict], notes: Notes, check: str) -> str:
    if not records:
        return "not run"
    if check == "stock":
        bad = [r for r in records if r["outcome"] not in ("passed",)]
        if not bad:
            return f"✓ {len(records)}/{len(records)} probes"
        return "; ".join(f"✗ {r['config']}{notes.ref(r['message'] or r['outcome'])}" for r in bad)
    ran = [r for r in records if r["outcome"] in ("passed", "failed", "xpassed", "xfailed")]
    passed = sum(r["outcome"] in ("passed", "xpassed") for r in ran)
    text = f"{passed}/{len(ran)}"
    failures: dict[str, list[str]] = {}
    for r in ran:
        if r["outcome"] in ("failed", "xfailed"):
            failures.setdefault(r["message"] or r["outcome"], []).append(short(r["config"]))
    for message, configs in failures.items():
        text += f" ✗ {', '.join(configs)}{notes.ref(message)}"
    skipped = [r for r in records if r["outcome"] == "skipped"]
    if skipped:
        reasons = sorted({r["message"] for r in skipped})
        text += f" ({len(skipped)} skipped{'˒'.join(notes.ref(m) for m in reasons)})"
    return text


def run_with(records: list[dict]) -> str:
    used: dict[str, list[str]] = {}
    for check, _ in COLUMNS:
        for r in records:
            if r["check"] == check:
                for flag in r.get("flags", []):
                    if check not in used.setdefault(flag, []):
                        used[flag].append(check)
    if not used:
        return "the plain stack"
    return "; ".join(f"`{flag}` ({', '.join(checks)})" for flag, checks in used.items())


def stack_line(runs: list[dict]) -> str:
    names = ("torch", "torchvision", "numpy", "onnx", "onnxruntime", "onnxscript")
    parts = []
    for name in names:
        have = [r for r in runs if r["stack"].get(name)]
        versions = sorted({r["stack"][name] for r in have})
        if not versions:
            continue
        text = f"{name} {' / '.join(versions)}"
        if len(have) < len(runs):
            text += (
                " (with "
                + ", ".join(r["ultralytics"] for r in sorted(have, key=lambda r: release(r["ultralytics"])))
                + ")"
            )
        parts.append(text)
    pythons = sorted({r["stack"]["python"] for r in runs})
    return ", ".join(parts) + f", Python {' / '.join(pythons)}"


def render(runs: list[dict]) -> str:
    notes = Notes()
    header = ["Ultralytics", *(title for _, title in COLUMNS), "run with"]
    rows = []
    for run in runs:
        records = run["records"]
        cells = [cell([r for r in records if r["check"] == check], notes, check) for check, _ in COLUMNS]
        rows.append([f"**{run['ultralytics']}**", *cells, run_with(records)])
    lines = [
        "Generated by `scripts/compat_table.py` from one run of `bash scripts/test_versions.sh`"
        f" (CPU; {stack_line(runs)};"
        " configs at scale n, 64 px). Cells: checks passed / run.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    if notes.texts:
        lines.append("")
        lines += [f"- {str(i).translate(SUPERSCRIPT)} {text}" for i, text in enumerate(notes.texts, 1)]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", required=True, type=Path, help="folder of ultralytics-<version>.json files")
    parser.add_argument("--page", "--readme", dest="page", type=Path, default=PAGE, help="the page holding the table")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="write the table into the page")
    mode.add_argument("--check", action="store_true", help="exit 1 if the page's table differs from this run")
    args = parser.parse_args(argv)
    table = render(load(args.results))
    if not (args.write or args.check):
        print(table, end="")
        return 0
    fix = f"python scripts/compat_table.py --results {args.results} --write (if the change is intended)"
    return update(args.page, {"compat-table": table}, check=args.check, fix=fix)


if __name__ == "__main__":
    sys.exit(main())
