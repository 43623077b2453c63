"""Write the README's accuracy-study tables from the committed study results, between
``<!-- study-<name>:start -->`` and ``<!-- study-<name>:end -->`` (``benchmarks/results/study_<name>.md``).

Run after a study's JSON changes:  python tools/update_study_tables.py [--check]
With --check nothing is written; the exit code is 1 if a README table is stale. (The .md itself is checked against
its JSON by tests/study/test_report.py.)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RESULTS = ROOT / "benchmarks" / "results"
MARKER = re.compile(r"<!-- study-(?P<name>[\w-]+):start -->\n.*?<!-- study-(?P=name):end -->", re.S)


def updated(text: str) -> str:
    """``text`` with every study block replaced by its results' Markdown (an empty study says so)."""

    def block(match: re.Match) -> str:
        name = match["name"]
        table = RESULTS / f"study_{name}.md"
        body = table.read_text().rstrip("\n") if table.exists() else f"(no runs recorded yet: {table.name} absent)"
        return f"<!-- study-{name}:start -->\n{body}\n<!-- study-{name}:end -->"

    return MARKER.sub(block, text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report a stale table")
    args = parser.parse_args()
    text = README.read_text()
    new = updated(text)
    if args.check:
        if new != text:
            print("README's study tables are stale: run python tools/update_study_tables.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
