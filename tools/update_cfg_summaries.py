"""Write the per-scale summary comment (layers, parameters, gradients, GFLOPs at 640) into every bundled YAML.

Run after changing a block or a config:  python tools/update_cfg_summaries.py [--check]
With --check nothing is written; the exit code is 1 if any comment is stale.
"""

from __future__ import annotations

import argparse
import re
import sys

from yolo_hybrid.integration.configs import list_configs
from yolo_hybrid.integration.summary import summarize, summary_comment

SCALE_LINE = re.compile(r"^(?P<lead>\s+(?P<scale>[nsmlx]):\s*\[[^\]]*\])(?P<comment>\s*#.*)?$")


def updated_text(path) -> str:
    lines = path.read_text().splitlines(keepends=False)
    out, in_scales = [], False
    for line in lines:
        if line.startswith("scales:"):
            in_scales = True
        elif line and not line.startswith((" ", "#")):
            in_scales = False
        match = SCALE_LINE.match(line) if in_scales else None
        if match:
            stats = summarize(path, match["scale"])
            line = f"{match['lead']} # {summary_comment(path, match['scale'], stats)}"
            print(f"  {line.strip()}", flush=True)
        out.append(line)
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report stale comments")
    parser.add_argument("names", nargs="*", help="config file names (default: all)")
    args = parser.parse_args()
    stale = []
    for path in list_configs():
        if args.names and path.name not in args.names:
            continue
        print(path.name, flush=True)
        text = updated_text(path)
        if text != path.read_text():
            stale.append(path.name)
            if not args.check:
                path.write_text(text)
    print(("stale: " if args.check else "updated: ") + (", ".join(stale) or "none"))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
