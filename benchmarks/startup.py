"""Start-up and registration cost of yolo_hybrid's hook. Prints a table and writes JSON.

    python benchmarks/startup.py [--runs 40] [--json benchmarks/results/startup.json]

Measured in fresh interpreters of this environment, interleaving hook on / off (YOLO_HYBRID_NO_AUTOLOAD=1):
* wall time of ``python -c pass`` (median);
* ``-X importtime`` cumulative import of ``yolo_hybrid`` at start-up (median; bytecode cached);
* whether torch / ultralytics are imported at start-up (must be no);
* wall time of ``import ultralytics.nn.tasks`` (median), and the registration time reported by each strategy.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _env(hook: bool, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra)
    env["YOLO_OFFLINE"] = "1"
    if hook:
        env.pop("YOLO_HYBRID_NO_AUTOLOAD", None)
    else:
        env["YOLO_HYBRID_NO_AUTOLOAD"] = "1"
    return env


def _wall(args, env) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def _py(code: str, env: dict) -> str:
    return subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--json", default=str(Path(__file__).with_name("results") / "startup.json"))
    args = parser.parse_args()
    on, off = _env(True), _env(False)
    _wall(["-c", "pass"], on)  # warm caches, write bytecode

    walls = {"on": [], "off": []}
    for _ in range(args.runs):
        walls["on"].append(_wall(["-c", "pass"], on))
        walls["off"].append(_wall(["-c", "pass"], off))
    import_us = []
    for _ in range(args.runs):
        err = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "pass"], env=on, capture_output=True, text=True
        ).stderr
        match = re.search(r"\|\s+(\d+)\s+\|\s+yolo_hybrid$", err, re.M)
        import_us.append(int(match.group(1)) if match else float("nan"))
    loaded = _py("import sys; print('torch' in sys.modules, 'ultralytics' in sys.modules)", on).split()

    tasks_code = "import time; t = time.perf_counter(); import ultralytics.nn.tasks; print(time.perf_counter() - t)"
    tasks_s = {"on": [], "off": []}
    for _ in range(max(5, args.runs // 8)):
        tasks_s["on"].append(float(_py(tasks_code, on)))
        tasks_s["off"].append(float(_py(tasks_code, off)))
    reg_code = "import ultralytics.nn.tasks as t; print(t.parse_model.__yolo_hybrid__['seconds'])"
    registration = {}
    for strategy in ("ast", "alias"):
        env = _env(True, YOLO_HYBRID_STRATEGY=strategy)
        registration[strategy] = statistics.median(float(_py(reg_code, env)) for _ in range(5)) * 1e3

    med = {k: statistics.median(v) * 1e3 for k, v in walls.items()}
    result = {
        "python": sys.version.split()[0],
        "runs": args.runs,
        "python_c_pass_ms": {"hook_on": med["on"], "hook_off": med["off"], "overhead": med["on"] - med["off"]},
        "yolo_hybrid_import_at_startup_ms": statistics.median(import_us) / 1e3,
        "torch_imported_at_startup": loaded[0] == "True",
        "ultralytics_imported_at_startup": loaded[1] == "True",
        "import_ultralytics_nn_tasks_ms": {k: statistics.median(v) * 1e3 for k, v in tasks_s.items()},
        "registration_ms": registration,
    }
    rows = [
        ("python -c pass, hook on (median)", f"{med['on']:.1f} ms"),
        ("python -c pass, hook off (median)", f"{med['off']:.1f} ms"),
        ("start-up overhead (difference)", f"{med['on'] - med['off']:.2f} ms"),
        ("yolo_hybrid import at start-up (-X importtime)", f"{result['yolo_hybrid_import_at_startup_ms']:.2f} ms"),
        ("torch / ultralytics imported at start-up", f"{loaded[0]} / {loaded[1]}"),
        ("import ultralytics.nn.tasks, hook on", f"{result['import_ultralytics_nn_tasks_ms']['on']:.0f} ms"),
        ("import ultralytics.nn.tasks, hook off", f"{result['import_ultralytics_nn_tasks_ms']['off']:.0f} ms"),
        ("registration, ast strategy", f"{registration['ast']:.1f} ms"),
        ("registration, alias strategy", f"{registration['alias']:.1f} ms"),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value:>10}")
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
