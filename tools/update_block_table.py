"""Write the README's block table (YAML name, parser treatment, YAML args with defaults and accepted values) from the
blocks' own descriptions (``cls.yaml_spec``, see ``yolo_hybrid.spec``), between ``<!-- blocks-table:start -->`` and
``<!-- blocks-table:end -->``.

Run after changing a block's arguments:  python tools/update_block_table.py [--check]
With --check nothing is written; the exit code is 1 if the README's table is stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- blocks-table:start -->", "<!-- blocks-table:end -->"


def render() -> str:
    from yolo_hybrid.nn import YAML_BLOCKS

    lines = [
        "| YAML name | parser treatment | YAML args: `name=default` (accepted values) | what it is |",
        "|---|---|---|---|",
    ]
    lines += [cls.yaml_spec.table_row() for cls, _ in YAML_BLOCKS.values()]
    return "\n".join(lines)


def updated(text: str) -> str:
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{render()}\n{END}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report a stale table")
    args = parser.parse_args()
    text = README.read_text()
    new = updated(text)
    if args.check:
        if new != text:
            print("README block table is stale: run python tools/update_block_table.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
