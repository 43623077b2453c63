"""What the side-by-side benchmark scripts share: their command line and their start.

Run as ``python benchmarks/<name>.py``, each script finds this module next to it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

RESULTS = Path(__file__).with_name("results")


def arguments(doc: str, configs, runs: int, result: str, stem: bool = False) -> argparse.ArgumentParser:
    """The options every script takes: ``--configs --imgsz --threads --runs --warmup --json`` (``results/<result>``).

    ``stem=True``: ``--out`` (``results/<result>``, the path stem of a ``.json`` and a ``.md``) instead of ``--json``.
    """
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=list(configs))
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument("--warmup", type=int, default=2)
    if stem:
        parser.add_argument("--out", default=str(RESULTS / result), help="path stem of the .json and .md")
    else:
        parser.add_argument("--json", default=str(RESULTS / result))
    return parser


def prepare(name: str, threads: int) -> Path:
    """Ultralytics offline with private settings, our blocks registered, ``threads`` torch threads; a new work folder.

    Call it before anything imports Ultralytics: its settings are read once, on first import.
    """
    from yolo_hybrid.integration.offline import prepare_offline

    prepare_offline(tempfile.mkdtemp(prefix=f"yolo_hybrid_{name}_cfg_"))
    import torch

    import yolo_hybrid

    yolo_hybrid.register()
    torch.set_num_threads(threads)
    return Path(tempfile.mkdtemp(prefix=f"yolo_hybrid_{name}_"))


def write_report(args: argparse.Namespace, rows: list, **extra) -> None:
    """Write ``{"imgsz", "threads", "runs", **extra, "rows"}`` to ``args.json`` and say where."""
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    report = {"imgsz": args.imgsz, "threads": args.threads, "runs": args.runs, **extra, "rows": rows}
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {path}")
