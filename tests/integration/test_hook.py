"""The start-up hook (.pth) in fresh interpreters: cheap, lazy, switchable, harmless when Ultralytics is broken."""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path

from tests.helpers import ROOT, assert_ok, run_python


def _env(**extra):
    env = {**os.environ, **extra}
    env.pop("YOLO_HYBRID_NO_AUTOLOAD", None) if "YOLO_HYBRID_NO_AUTOLOAD" not in extra else None
    return env


def test_pth_file_is_installed():
    pth = Path(sysconfig.get_paths()["purelib"]) / "yolo_hybrid_autoload.pth"
    assert pth.is_file(), "install the package (pip install -e .) so the start-up hook is in site-packages"
    assert "import yolo_hybrid" in pth.read_text()
    assert pth.read_text() == (ROOT / "yolo_hybrid_autoload.pth").read_text(), "stale hook: re-run scripts/setup.sh"


def test_hook_survives_system_exit_while_importing_the_package(tmp_path):
    # A package whose import raises SystemExit (a broken dependency calling sys.exit) must not end every Python
    # start in the environment, pip's included: the .pth turns anything but KeyboardInterrupt into a warning.
    site_dir = tmp_path / "site"
    (site_dir / "yolo_hybrid").mkdir(parents=True)
    (site_dir / "yolo_hybrid" / "__init__.py").write_text("raise SystemExit(3)\n")
    shutil.copy(ROOT / "yolo_hybrid_autoload.pth", site_dir / "yolo_hybrid_autoload.pth")
    code = f"import site\nsite.addsitedir({str(site_dir)!r})\nprint('still alive')\n"
    proc = run_python(code, env=_env(), cwd=tmp_path, flags=("-S",))
    out = assert_ok(proc)
    assert "still alive" in out and "SystemExit" in out


def test_registration_failure_with_system_exit_only_warns(monkeypatch):
    import warnings

    from yolo_hybrid import _autoload
    from yolo_hybrid.integration import register

    def exits(*args, **kwargs):
        raise SystemExit("a dependency called sys.exit")

    monkeypatch.setattr(register, "register_into", exits)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _autoload._on_tasks_imported(object())
    assert any("SystemExit" in str(w.message) for w in caught)


def test_startup_is_lazy_and_installs_the_finder(tmp_path):
    out = assert_ok(
        run_python(
            "import sys\n"
            "print('torch' in sys.modules, 'ultralytics' in sys.modules, 'yolo_hybrid' in sys.modules)\n"
            "print(type(sys.meta_path[0]).__name__)\n",
            env=_env(),
            cwd=tmp_path,
        )
    )
    assert out.split() == ["False", "False", "True", "TasksFinder"]


def test_stock_import_registers_without_user_import(tmp_path):
    out = assert_ok(
        run_python(
            "from ultralytics import YOLO\n"
            "m = YOLO('yolov8n-bot3.yaml')\n"
            "print(type(m.model.model[8]).__module__, type(m.model.model[8]).__name__)\n",
            env=_env(),
            cwd=tmp_path,
        )
    )
    assert "yolo_hybrid.nn.bot BoT3" in out


def test_stock_yolo_console_script_builds_bot3(tmp_path):
    yolo = shutil.which("yolo", path=str(Path(sys.executable).parent))
    assert yolo, "the yolo console script of this environment"
    import subprocess

    proc = subprocess.run(
        [yolo, "export", "model=yolov8n-bot3.yaml", "format=torchscript", "imgsz=64", "device=cpu"],
        env=_env(YOLO_VERBOSE="True"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "YOLOv8n-bot3 summary" in assert_ok(proc)
    (exported,) = tmp_path.rglob("*.torchscript")
    import torch

    assert "BoT3" in {m.original_name for m in torch.jit.load(str(exported)).modules()}


def test_env_switch_disables_the_hook(tmp_path):
    proc = run_python(
        "import sys\nprint('yolo_hybrid' in sys.modules)\nfrom ultralytics import YOLO\nYOLO('yolov8n-bot3.yaml')\n",
        env=_env(YOLO_HYBRID_NO_AUTOLOAD="1"),
        cwd=tmp_path,
    )
    assert proc.stdout.split()[0] == "False"
    assert proc.returncode != 0 and "does not exist" in proc.stderr  # nothing of ours is known


def _fake_ultralytics(root: Path, tasks_body: str, init_body: str = "__version__ = '8.4.0'\n") -> Path:
    pkg = root / "ultralytics"
    (pkg / "nn").mkdir(parents=True)
    (pkg / "__init__.py").write_text(init_body)
    (pkg / "nn" / "__init__.py").write_text("")
    (pkg / "nn" / "tasks.py").write_text(tasks_body)
    return root


def test_broken_ultralytics_only_warns(tmp_path):
    fake = _fake_ultralytics(tmp_path, "parse_model = None  # no parser of any shape we know\n")
    env = _env(PYTHONPATH=str(fake))
    proc = run_python("import ultralytics.nn.tasks as t\nprint('imported', t.parse_model)\n", env=env, cwd=tmp_path)
    out = assert_ok(proc)
    assert "imported None" in out
    assert "RuntimeWarning" in out and "yolo_hybrid: blocks were not registered" in out


def test_missing_ultralytics_python_still_starts(tmp_path):
    fake = _fake_ultralytics(tmp_path, "", init_body="raise ImportError('ultralytics is not installed')\n")
    env = _env(PYTHONPATH=str(fake))
    assert_ok(run_python("pass", env=env, cwd=tmp_path))
    proc = run_python("import yolo_hybrid\nyolo_hybrid.register()\n", env=env, cwd=tmp_path)
    assert proc.returncode != 0
    assert "UnsupportedUltralyticsError: Ultralytics cannot be imported" in proc.stderr
    assert "pip install" in proc.stderr


def test_registration_debug_report(tmp_path):
    proc = run_python("import ultralytics.nn.tasks\n", env=_env(YOLO_HYBRID_DEBUG="1"), cwd=tmp_path)
    out = assert_ok(proc)
    assert "[yolo_hybrid] registered" in out and "via ast (import hook)" in out


def test_children_of_ultralytics_see_blocks(tmp_path):
    """A spawned worker (DDP workers and forkserver/spawn dataloaders are such children) knows our YAML names."""
    code = (
        "import multiprocessing as mp\n"
        "def child(q):\n"
        "    import ultralytics.nn.tasks as t\n"
        "    q.put(t.parse_model.__yolo_hybrid__['strategy'] if hasattr(t.parse_model, '__yolo_hybrid__') else None)\n"
        "if __name__ == '__main__':\n"
        "    ctx = mp.get_context('spawn'); q = ctx.Queue(); p = ctx.Process(target=child, args=(q,)); p.start()\n"
        "    print('child strategy:', q.get(timeout=300)); p.join()\n"
    )
    script = tmp_path / "spawn_child.py"
    script.write_text(code)
    import subprocess

    proc = subprocess.run(
        [sys.executable, str(script)], env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert "child strategy: ast" in assert_ok(proc)
    assert ROOT.exists()
