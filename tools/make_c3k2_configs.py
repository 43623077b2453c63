"""Generate the YOLO11 / YOLO26 configs of every family and task from Ultralytics' own YAMLs.

Each config is the stock ``cfg/models/{11,26}/yolo{11,26}[-task].yaml`` of the installed Ultralytics (>= 8.4) with
only some backbone rows renamed (and, for CMT, given per-stage arguments); every other row, the neck and the head are
stock, so every layer keeps its index and a stock checkpoint's weights transfer into all unchanged layers. A header
says what was replaced and why. Afterwards run ``python tools/update_cfg_summaries.py`` for the summary comments.

    python tools/make_c3k2_configs.py [--check]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from yolo_hybrid.integration.configs import CFG_DIR

BASES = {"11": "YOLO11", "26": "YOLO26"}
TASKS = {"": "detection", "seg": "segmentation", "pose": "pose", "obb": "oriented-box", "cls": "classification"}
REQUIRES = {"11": "8.3.0", "26": "8.4.0"}

# Per family: backbone stage -> (module, args or None for the stock row's own args); "psa" is the C2PSA row.
PLANS = {
    "bot3": {"P5": ("C3k2BoT", None), "psa": ("C2BoT", None)},
    "cot": {"P3": ("C3k2CoT", None), "P4": ("C3k2CoT", None), "P5": ("C3k2CoT", None)},
    "smt": {"P3": ("C3k2SAM", None), "P4": ("C3k2SAM", None), "psa": ("C2MSA", None)},
    "cmt": {
        "P3": ("C3k2CMT", "[512, False, 0.25, False, d64, 4, 4, 1, 80]"),
        "P4": ("C3k2CMT", "[512, True, 0.5, False, d64, 2]"),
        "P5": ("C3k2CMT", "[1024, True, 0.5, False, d64, 1]"),
        "psa": ("C2CMT", None),
    },
}

HEADERS = {
    "bot3": """\
BoTNet (Srinivas et al., CVPR 2021): global MHSA with 2-D relative position logits, only where the map is small.
P5 (layer 8): C3k2BoT -- YOLO11's C3k2 whose inner blocks are Bottleneck Transformers (c3k: a C3 of two, i.e. a
BoT3 inside each C3k2 block); the C2PSA row (PSA: Ultralytics' position-sensitive attention) becomes C2BoT, the same
layout with Bottleneck Transformers: the paper's attention in place of Ultralytics' own, at the same place and depth.
Relative offsets are exact for maps up to 64x64 (imgsz 2048 at P5) and clipped beyond.""",
    "cot": """\
CoTNet (Li et al., TPAMI 2022): the paper's CoT layer (static k x k key, per-pixel dynamic filters from [query, key],
local aggregation, selective-kernel fusion) in place of the 3x3 conv of every bottleneck of the backbone's C3k2 at
P3, P4 and P5 (C3k2CoT, stock C3k2 arguments). P2 stays stock (cost at stride 4) and C2PSA stays Ultralytics' own:
CoT replaces convolutions, not attention.""",
    "smt": """\
SMT (Lin et al., ICCV 2023): scale-aware modulation in the shallow stages, self-attention in the last. The backbone's
C3k2 at P3 and P4 become C3k2SAM (SMT blocks with the SAM mixer, heads 4, FFN ratio 2) and the C2PSA row becomes
C2MSA (SMT blocks with MSA, heads 8, FFN ratio 2): SMT's attention in place of Ultralytics' PSA. P2, the P5 C3k2,
the neck and the head stay stock.""",
    "cmt": """\
CMT (Guo et al., CVPR 2022): local perception unit, lightweight MHSA (keys/values from a map reduced by sr, relative
position bias) and inverted-residual FFN. The backbone's C3k2 at P3/P4/P5 become C3k2CMT with CMT's per-stage
reductions (P3: sr 4, bias sized for 80 px maps; P4: sr 2; P5: sr 1) and the C2PSA row becomes C2CMT (sr 1): CMT's
attention in place of Ultralytics' PSA. Heads "d64": one per 64 channels of the layer, at least one (CMT-S's
channels per head; Ultralytics' PSA: c // 64), so the count follows the width: 1-2 per layer at scale n, 3-6 at x.
P2, the neck and the head stay stock.""",
}

ROW = re.compile(
    r"^(?P<lead>\s*- \[)(?P<from>[^,]+), (?P<n>[^,]+), (?P<module>[\w.]+), (?P<args>\[.*\])\](?P<rest>.*)$"
)


def stock_yaml(base: str, task: str) -> Path:
    from ultralytics.utils import ROOT

    return ROOT / "cfg" / "models" / base / f"yolo{base}{'-' + task if task else ''}.yaml"


def config_name(base: str, task: str, family: str) -> str:
    return f"yolo{base}{'-' + task if task else ''}-{family}.yaml"


def generate(base: str, task: str, family: str) -> str:
    """The text of one config."""
    lines = stock_yaml(base, task).read_text().splitlines()
    plan, out, section, stage, changed = PLANS[family], [], None, 0, []
    name = config_name(base, task, family)
    for line in lines:
        if line.startswith("backbone:") or line.startswith("head:"):
            section = line[:-1]
        match = ROW.match(line) if section == "backbone" else None
        if match:
            module, key = match["module"], None
            if module == "Conv" and match["args"].endswith(", 2]"):
                stage += 1  # a stride-2 Conv opens the next P level
            elif module == "C3k2":
                key = f"P{stage}"
            elif module == "C2PSA":
                key = "psa"
            if key in plan:
                new, args = plan[key]
                rest = re.sub(r"#.*$", "", match["rest"]).rstrip()
                comment = re.search(r"#\s*(\S+)", match["rest"])
                note = f"{comment.group(1)} " if comment and comment.group(1)[0].isdigit() else ""
                line = (
                    f"{match['lead']}{match['from']}, {match['n']}, {new}, {args or match['args']}]{rest} # "
                    f"{note}{new} (stock: {module} {match['args']})"
                )
                changed.append(key)
        if line.startswith("# Ultralytics") or line.startswith("# Model docs") or line.startswith("# Task docs"):
            continue
        out.append(
            line.replace(f"yolo{base}{'-' + task if task else ''}.yaml", name).replace(
                f"'model=yolo{base}n{'-' + task if task else ''}.yaml'",
                f"'model=yolo{base}n{'-' + task if task else ''}-{family}.yaml'",
            )
        )
    missing = sorted(set(plan) - set(changed))
    if missing:
        raise RuntimeError(f"{name}: stock rows for {missing} not found in {stock_yaml(base, task)}")
    scaled = name.replace(f"yolo{base}", f"yolo{base}n", 1)
    header = [
        f"# yolo_hybrid (AGPL-3.0): {BASES[base]} {TASKS[task]} with {family_title(family)};"
        " generated from Ultralytics'",
        f"# {stock_yaml(base, task).name} by tools/make_c3k2_configs.py (only the rows marked 'stock:' differ).",
        *(f"# {text}" for text in HEADERS[family].splitlines()),
        "# Every other layer keeps its stock index and shape:"
        f" .load('{scaled.replace('-' + family, '').replace('.yaml', '.pt')}') "
        "transfers its weights.",
        f"# Needs ultralytics>={REQUIRES[base]} ({BASES[base]} rows); the key below makes older releases say so.",
        f'# Usage: YOLO("{scaled}") or yolo train model={scaled.replace(f"yolo{base}n", f"yolo{base}s", 1)} ...  '
        "(the letter picks the scale)",
        "",
        f"yolo_hybrid_requires: ultralytics>={REQUIRES[base]}",
    ]
    while out and not out[0].strip():
        out.pop(0)
    return "\n".join(header + [""] + out) + "\n"


def family_title(family: str) -> str:
    return {
        "bot3": "BoTNet at P5",
        "cot": "CoTNet in the backbone",
        "smt": "SMT in the backbone",
        "cmt": "CMT in the backbone",
    }[family]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report configs that differ from the generated text")
    args = parser.parse_args()
    stale = []
    for base in BASES:
        for task in TASKS:
            for family in PLANS:
                path = CFG_DIR / "models" / config_name(base, task, family)
                text = generate(base, task, family)
                old = path.read_text() if path.exists() else None
                # Summary comments are written by update_cfg_summaries.py: compare without them.
                if old is None or _strip_summaries(old) != _strip_summaries(text):
                    stale.append(path.name)
                    if not args.check:
                        path.write_text(text if old is None else _keep_summaries(text, old))
    print(("stale: " if args.check else "written: ") + (", ".join(stale) or "none"))
    return 1 if args.check and stale else 0


_SUMMARY = re.compile(r"^(\s+[nslmx]:\s*\[[^\]]*\])\s*#.*$", re.M)


def _strip_summaries(text: str) -> str:
    return _SUMMARY.sub(r"\1", text)


def _keep_summaries(text: str, old: str) -> str:
    comments = dict(re.findall(r"^\s+([nslmx]):\s*\[[^\]]*\]\s*(#.*)$", old, re.M))
    return re.sub(
        r"^(\s+([nslmx]):\s*\[[^\]]*\])\s*#.*$", lambda m: f"{m[1]} {comments.get(m[2], '#')}", text, flags=re.M
    )


if __name__ == "__main__":
    sys.exit(main())
