"""Write the block tables of the documentation (YAML name, parser treatment, YAML args with defaults and accepted
values) from the blocks' own descriptions (``cls.yaml_spec``, see ``yolo_hybrid.spec``): every block in
docs/blocks/index.md between ``<!-- blocks-table:start -->`` and ``<!-- blocks-table:end -->``, and each family's
blocks on its own page (docs/blocks/<family>.md, ``<!-- blocks-<family>:start -->``; the family is the block's module
in ``yolo_hybrid.nn``).

Run after changing a block's arguments:  python tools/update_block_table.py [--check]
With --check nothing is written; the exit code is 1 if a table is stale (checked by tests/test_spec.py).
"""

from __future__ import annotations

import argparse
import sys

from generated import ROOT, update

BLOCKS = ROOT / "docs" / "blocks"
FIX = "python tools/update_block_table.py"


def render(family: str | None = None) -> str:
    """The table of every YAML block, or of those defined in ``yolo_hybrid.nn.<family>``."""
    from yolo_hybrid.nn import YAML_BLOCKS

    lines = [
        "| YAML name | parser treatment | YAML args: `name=default` (accepted values) | what it is |",
        "|---|---|---|---|",
    ]
    lines += [
        cls.yaml_spec.table_row()
        for cls, _ in YAML_BLOCKS.values()
        if family is None or cls.__module__ == f"yolo_hybrid.nn.{family}"
    ]
    return "\n".join(lines)


def families() -> list[str]:
    from yolo_hybrid.nn import YAML_BLOCKS

    return sorted({cls.__module__.rsplit(".", 1)[1] for cls, _ in YAML_BLOCKS.values()})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report a stale table")
    args = parser.parse_args()
    status = update(BLOCKS / "index.md", {"blocks-table": render()}, check=args.check, fix=FIX)
    for family in families():
        page = BLOCKS / f"{family}.md"
        status |= update(page, {f"blocks-{family}": render(family)}, check=args.check, fix=FIX)
    return status


if __name__ == "__main__":
    sys.exit(main())
