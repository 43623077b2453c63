"""Write the accuracy-study tables from the committed study results (``benchmarks/results/study_<name>.md``) between
``<!-- study-<name>:start -->`` and ``<!-- study-<name>:end -->``, in README.md and docs/study.md.

Run after a study's JSON changes:  python tools/update_study_tables.py [--check]
With --check nothing is written; the exit code is 1 if a table is stale (checked by tests/study/test_report.py). (The
.md itself is checked against its JSON by tests/study/test_report.py.)
"""

from __future__ import annotations

import argparse
import sys

from generated import ROOT, sections, update

FILES = [ROOT / "README.md", ROOT / "docs" / "study.md"]
RESULTS = ROOT / "benchmarks" / "results"


def body(name: str) -> str:
    """A study's Markdown table (an empty study says so)."""
    table = RESULTS / f"study_{name}.md"
    return table.read_text() if table.exists() else f"(no runs recorded yet: {table.name} absent)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report a stale table")
    args = parser.parse_args()
    status = 0
    for path in FILES:
        names = [s.removeprefix("study-") for s in sections(path.read_text(), "study-")]
        bodies = {f"study-{name}": body(name) for name in names}
        status |= update(path, bodies, check=args.check, fix="python tools/update_study_tables.py")
    return status


if __name__ == "__main__":
    sys.exit(main())
