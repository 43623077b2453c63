"""Generated sections of the README and the documentation pages: the text between ``<!-- <name>:start -->`` and
``<!-- <name>:end -->`` is written by a tool and checked by the tests, never edited by hand.

Every table writer goes through this one module (tools/update_*.py, scripts/compat_table.py, benchmarks/deploy.py):

    from generated import update
    sys.exit(update(ROOT / "docs" / "blocks" / "index.md", {"blocks-table": body}, check=args.check,
                    fix="python tools/update_block_table.py"))

A section's text is ``"\\n" + body + "\\n"`` between its two markers (``body`` without its trailing newlines). With
``check=True`` nothing is written: a stale section prints a unified diff and the fix, and the exit code is 1.
Standard library only.
"""

from __future__ import annotations

import difflib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def markers(name: str) -> tuple[str, str]:
    """The start and end marker of section ``name``."""
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def sections(text: str, prefix: str = "") -> list[str]:
    """Names of the generated sections in ``text`` whose name starts with ``prefix``, in order."""
    return re.findall(rf"<!-- ({re.escape(prefix)}[\w-]*):start -->", text)


def replace(text: str, name: str, body: str, where: str = "the file") -> str:
    """``text`` with section ``name`` holding ``body``; SystemExit if the markers are missing."""
    start, end = markers(name)
    i, j = text.find(start), text.find(end)
    if i < 0 or j < i:
        raise SystemExit(f"{where} has no {start} ... {end} block")
    return f"{text[: i + len(start)]}\n{body.rstrip(chr(10))}\n{text[j:]}"


def update(path: Path, bodies: dict[str, str], check: bool = False, fix: str = "") -> int:
    """Write (or with ``check`` only compare) the sections ``bodies`` ({name: body}) of ``path``.

    Returns 0 if written or current, 1 if ``check`` found a stale section (a diff and ``fix`` on stderr).
    """
    path = Path(path)
    try:
        where = str(path.resolve().relative_to(ROOT))
    except ValueError:
        where = str(path)
    text = path.read_text()
    new = text
    for name, body in bodies.items():
        new = replace(new, name, body, where)
    if not check:
        if new != text:
            path.write_text(new)
            print(f"{where}: {', '.join(bodies)} updated")
        else:
            print(f"{where}: {', '.join(bodies)} already current")
        return 0
    if new == text:
        print(f"{where}: {', '.join(bodies)} current")
        return 0
    diff = difflib.unified_diff(text.splitlines(), new.splitlines(), where, "generated", lineterm="", n=1)
    print("\n".join(list(diff)[:60]), file=sys.stderr)
    print(f"{where}: {', '.join(bodies)} stale" + (f": run {fix}" if fix else ""), file=sys.stderr)
    return 1
