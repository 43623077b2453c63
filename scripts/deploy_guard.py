"""Start-up module of the deploy venv (.venv-deploy), imported by its ``yolo_hybrid_deploy.pth``.

1. Appends the main venv's site-packages (its path is written below by scripts/setup_deploy.sh) to ``sys.path``, after
   this venv's own packages: torch, torchvision, Ultralytics and the editable yolo_hybrid are reused, and the
   toolchains' own numpy/protobuf/onnx pins win here without touching the main venv.
2. Sends byte-code of the main venv's files to this venv's ``pycache`` folder, so nothing is written there.
3. Defaults ``YOLO_AUTOINSTALL=false``: Ultralytics' ``check_requirements`` never runs pip.
4. Refuses any child process that would run a package installer (pip, uv, ensurepip; install, uninstall, download):
   MNN's converter runs ``pip install -U aliyun-log-python-sdk`` through ``os.system`` on every export, with whatever
   ``pip`` comes first on PATH. ``YOLO_HYBRID_ALLOW_PIP=1`` (set by the installer) lifts the guard; pip itself is
   never blocked.
"""

import os
import re
import site
import sys

MAIN_SITE = "@MAIN_SITE@"
_VENV = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

if sys.pycache_prefix is None:
    sys.pycache_prefix = os.path.join(_VENV, "pycache")
if os.path.isdir(MAIN_SITE):
    site.addsitedir(MAIN_SITE)  # appended last; runs its .pth files too (editable yolo_hybrid, start-up hook)
os.environ.setdefault("YOLO_AUTOINSTALL", "false")

_INSTALLER = re.compile(r"(pip3?(\.\d+)?|uv)(\.exe)?")
_ACTIONS = {"install", "uninstall", "download", "wheel", "sync", "add"}


def _runs_installer(argv) -> bool:
    words = [
        os.path.basename(os.fsdecode(a))
        for a in (os.fsdecode(argv).split() if isinstance(argv, (str, bytes)) else argv or [])
        if isinstance(a, (str, bytes, os.PathLike))
    ]
    if "ensurepip" in words:
        return True
    for i, word in enumerate(words):
        if _INSTALLER.fullmatch(word) or (word == "-m" and words[i + 1 : i + 2] == ["pip"]):
            return any(w in _ACTIONS for w in words[i + 1 :])
    return False


def _audit(event, args):
    if event not in ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn"):
        return
    argv = args[0] if event == "os.system" else args[2] if event == "os.spawn" else args[1]
    if os.environ.get("YOLO_HYBRID_ALLOW_PIP") == "1" or "pip._internal.cli.main" in sys.modules:
        return
    if _runs_installer(argv):
        raise PermissionError(f"yolo_hybrid deploy venv: refused to run a package installer: {argv!r}")


sys.addaudithook(_audit)
