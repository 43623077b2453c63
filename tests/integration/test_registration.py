"""Registration into Ultralytics' parser: channel parity with stock blocks, idempotence, reload, errors, lookup."""

from __future__ import annotations

import copy
import importlib
import threading

import pytest

import yolo_hybrid
from tests.helpers import ROOT, assert_ok, run_python
from tests.integration import parity
from yolo_hybrid.errors import ConfigError, UnsupportedUltralyticsError


@pytest.mark.parametrize("scale", ["n", "s", "m"])
def test_channel_width_depth_parity_with_stock(scale):
    assert parity.mismatches(scale) == []


@pytest.mark.parametrize("base", ["11/yolo11.yaml", "26/yolo26.yaml"])
@pytest.mark.parametrize("scale", ["n", "s", "m"])
def test_yolo11_forms_keep_stock_channels_after_a_name_swap(base, scale):
    """Each C3k2/C2PSA row of stock YOLO11/YOLO26 with only its module name changed to one of ours (in rotation)."""
    assert parity.swap_mismatches(scale, base) == []


def test_parity_table_is_not_trivial():
    """The compared table really varies with scale (so equality above is meaningful)."""
    layouts = parity.layouts()
    exercised = {name for _, _, replaced in layouts for name in replaced.values()}
    exercised |= {name for names in parity.YOLO11_SWAPS.values() for name in names}  # swap_mismatches, every name
    body_blocks = {name for name, (_, kind) in yolo_hybrid.YAML_BLOCKS.items() if kind != "head"}
    assert exercised == body_blocks  # every registered body block is exercised (heads: tests/nn/test_pooling.py)
    _, ours, replaced = layouts[0]
    n, m = parity.layer_table(ours, "n"), parity.layer_table(ours, "m")
    assert [row[2] for row in n] != [row[2] for row in m]  # widths differ
    assert any(n[i][3] != m[i][3] for i in replaced)  # depths differ


def test_alias_strategy_parity_in_fresh_process():
    proc = run_python(
        "import runpy, sys; sys.argv=['parity']; "
        f"runpy.run_path({str(ROOT / 'tests/integration/parity.py')!r}, run_name='__main__')",
        env=_env(YOLO_HYBRID_STRATEGY="alias"),
        cwd=ROOT,
    )
    out = assert_ok(proc)
    assert "strategy=alias mismatches=0" in out


def _env(**extra):
    import os

    return {**os.environ, **extra}


def test_register_is_idempotent_and_thread_safe():
    import ultralytics.nn.tasks as tasks

    first = yolo_hybrid.register()
    wrapped = tasks.parse_model
    results = []
    threads = [threading.Thread(target=lambda: results.append(yolo_hybrid.register())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r is first for r in results)
    assert tasks.parse_model is wrapped
    assert tasks.parse_model.__wrapped__.__name__ == "parse_model"  # wrapped exactly once
    assert not hasattr(tasks.parse_model.__wrapped__, "__wrapped__")
    assert sorted(first["blocks"]) == sorted(yolo_hybrid.YAML_BLOCKS)


def test_reload_of_tasks_registers_again():
    proc = run_python(
        "import importlib, yolo_hybrid\n"
        "import ultralytics.nn.tasks as t\n"
        "old = t.parse_model\n"
        "importlib.reload(t)\n"
        "assert t.parse_model is not old and t.parse_model.__yolo_hybrid__['strategy'] == 'ast'\n"
        "from ultralytics import YOLO\n"
        "m = YOLO('yolov8n-bot3.yaml')\n"
        "print(type(m.model.model[8]).__name__)\n",
        env=_env(),
        cwd=ROOT,
    )
    assert assert_ok(proc).strip().endswith("BoT3")


def _yaml(**changes):
    from ultralytics.utils import YAML

    d = YAML.load(yolo_hybrid.config_path("yolov8-bot3.yaml"))
    d.update(changes)
    return d


@pytest.mark.parametrize(
    "args,needles",
    [
        ([1024, 0.5, 1.0, None, None, 6], ["layer 8", "BoT3", "heads=6", "Fix"]),
        ([1024, True], ["layer 8", "e=True", "Fix"]),
        ([1024, 0.5, 1.0, 20, 20, 4, 64, "extra"], ["layer 8", "BoT3 takes at most 7 YAML args", "Fix"]),
    ],
)
def test_bad_yaml_row_names_layer_argument_and_fix(args, needles):
    from ultralytics.nn.tasks import DetectionModel

    d = _yaml(scale="n")
    d["backbone"][8] = [-1, 3, "BoT3", args]
    with pytest.raises(ConfigError) as info:
        DetectionModel(copy.deepcopy(d), verbose=False)
    for needle in needles:
        assert needle in str(info.value), str(info.value)


def test_stock_errors_pass_through_unchanged():
    from ultralytics.nn.tasks import DetectionModel

    d = _yaml(scale="n")
    d["backbone"][0] = [-1, 1, "NoSuchBlock", [64]]
    with pytest.raises(KeyError):
        DetectionModel(d, verbose=False)


def test_bare_names_resolve_without_shadowing():
    from ultralytics.utils import ROOT as ULTRALYTICS_ROOT
    from ultralytics.utils.checks import check_yaml

    from yolo_hybrid.integration.configs import list_configs

    ours = list_configs()
    assert len(ours) >= 6
    stock_names = {p.name for p in (ULTRALYTICS_ROOT / "cfg").rglob("*.yaml")}
    assert not stock_names & {p.name for p in ours}, "a bundled config would shadow a stock one"
    assert check_yaml("yolov8-bot3.yaml") == str(yolo_hybrid.config_path("yolov8-bot3.yaml"))
    assert check_yaml("yolov8.yaml").startswith(str(ULTRALYTICS_ROOT))  # stock names still resolve to stock files
    with pytest.raises(FileNotFoundError, match="does not exist"):
        check_yaml("yolov8-nosuchblock.yaml")


def test_scale_letter_in_bare_name():
    from ultralytics import YOLO

    model = YOLO("yolov8s-bot3.yaml")
    assert model.model.yaml["scale"] == "s"
    bot3 = model.model.model[8]
    assert type(bot3).__name__ == "BoT3" and bot3.cv3.conv.out_channels == 512


def test_config_path_error_lists_configs():
    with pytest.raises(FileNotFoundError, match="yolov8-bot3.yaml"):
        yolo_hybrid.config_path("yolov8-nothing.yaml")


def test_unsupported_version_message(monkeypatch):
    from yolo_hybrid.integration import version

    monkeypatch.delenv("YOLO_HYBRID_IGNORE_VERSION", raising=False)
    with pytest.raises(UnsupportedUltralyticsError, match=r"ultralytics 8\.0\.200 is installed.*pip install"):
        version.check_ultralytics_version("8.0.200")
    with pytest.raises(UnsupportedUltralyticsError, match="9.1.0"):
        version.check_ultralytics_version("9.1.0")
    version.check_ultralytics_version("8.4.190")
    monkeypatch.setenv("YOLO_HYBRID_IGNORE_VERSION", "1")
    version.check_ultralytics_version("9.1.0")


def test_unsupported_version_at_registration_is_one_clear_error():
    proc = run_python(
        "import ultralytics\nultralytics.__version__ = '8.0.100'\n"
        "from yolo_hybrid.integration.register import register_into\n"
        "import ultralytics.nn.tasks as t\n"
        "print('hook-registered:', getattr(t.parse_model, '__yolo_hybrid__', None) is not None)\n",
        env=_env(YOLO_HYBRID_NO_AUTOLOAD="1"),
        cwd="/",
    )
    out = assert_ok(proc)
    assert "hook-registered: False" in out
    proc = run_python(
        "import ultralytics\nultralytics.__version__ = '8.0.100'\nimport yolo_hybrid\nyolo_hybrid.register()\n",
        env=_env(YOLO_HYBRID_NO_AUTOLOAD="1"),
        cwd="/",
    )
    assert proc.returncode != 0
    assert "UnsupportedUltralyticsError" in proc.stderr and "8.0.100" in proc.stderr and "pip install" in proc.stderr


def test_supported_range_matches_pyproject():
    import tomllib

    from yolo_hybrid.integration.version import SUPPORTED_ULTRALYTICS

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"ultralytics{SUPPORTED_ULTRALYTICS}" in deps


def test_safe_globals_are_exactly_our_module_classes():
    import torch.nn as nn

    from yolo_hybrid.integration.safe_load import yolo_hybrid_module_classes

    classes = yolo_hybrid_module_classes()
    names = {c.__name__ for c in classes}
    assert {"BoT3", "C2fBoT", "BoTStage", "BottleneckTransformer", "RelPosMHSA2d"} <= names
    assert all(issubclass(c, nn.Module) and c.__module__.startswith("yolo_hybrid.") for c in classes)


def test_reimport_of_package_is_harmless():
    import sys

    from yolo_hybrid import _autoload

    importlib.reload(_autoload)
    _autoload.install()
    _autoload.install()
    assert sum(type(f).__name__ == "TasksFinder" for f in sys.meta_path) == 1


def test_explicit_strategy_after_registration_is_checked():
    from yolo_hybrid.integration.register import registration_report

    yolo_hybrid.register()
    used = registration_report()["strategy"]
    other = "alias" if used == "ast" else "ast"
    assert yolo_hybrid.register(strategy=used)["strategy"] == used
    with pytest.raises(ConfigError, match=rf"already registered .*{used!r}.*YOLO_HYBRID_STRATEGY={other}"):
        yolo_hybrid.register(strategy=other)
    with pytest.raises(ConfigError, match="unknown registration strategy 'fast'"):
        yolo_hybrid.register(strategy="fast")


@pytest.mark.parametrize(
    "typo,suggestion", [("BoT4", "'BoT3'"), ("bot3", "'BoT3'"), ("Cot3", "'CoT3'"), ("C2fbot", "'C2fBoT'")]
)
def test_misspelt_module_name_suggests_ours(typo, suggestion):
    from ultralytics.nn.tasks import DetectionModel

    from yolo_hybrid.integration.parser import UnknownModuleError

    d = _yaml(scale="n", yaml_file="my-model.yaml")
    d["backbone"][8] = [-1, 3, typo, [1024]]
    with pytest.raises(KeyError) as info:  # still a KeyError, as Ultralytics' own
        DetectionModel(d, verbose=False)
    assert isinstance(info.value, UnknownModuleError)
    text = str(info.value)
    assert "my-model.yaml, layer 8" in text and f"did you mean {suggestion}" in text, text


def test_misspelt_config_name_lists_close_bundled_names():
    from ultralytics import YOLO

    with pytest.raises(FileNotFoundError, match=r"Did you mean yolov8-bot3\.yaml\?"):
        YOLO("yolov8n-bot4.yaml")
    with pytest.raises(FileNotFoundError, match=r"Did you mean yolov8-seg-smt\.yaml\?"):
        YOLO("yolov8s-seg-smtt.yaml")
    with pytest.raises(FileNotFoundError) as info:  # nothing close: Ultralytics' own message, no guess
        YOLO("yolov8n-qwerty.yaml")
    assert "Did you mean" not in str(info.value)


def test_unsupported_version_is_repeated_where_a_user_fails():
    # The hook only warns at start-up; the user's next step (a bundled config, a YAML row of ours) must say why again.
    code = (
        "import warnings\nwarnings.simplefilter('ignore')\n"
        "import ultralytics\nultralytics.__version__ = '8.0.100'\n"
        "from ultralytics import YOLO\n"
        "try:\n    YOLO('yolov8n-bot3.yaml')\nexcept Exception as e:\n    print('ERROR', type(e).__name__, e)\n"
        "YOLO('yolov8n.yaml')\nprint('stock ok')\n"
    )
    out = assert_ok(run_python(code, env=_env(), cwd="/"))
    assert "ERROR UnsupportedUltralyticsError 'BoT3' is a yolo_hybrid block" in out, out
    assert "ultralytics 8.0.100 is installed" in out and "pip install" in out and "stock ok" in out


def test_patched_parser_is_cached_like_bytecode(tmp_path):
    # The re-compiled parse_model is cached next to our bytecode (here: a private PYTHONPYCACHEPREFIX), so a second
    # interpreter loads it instead of compiling; PYTHONDONTWRITEBYTECODE=1 writes nothing, as for .pyc files.
    code = (
        "import ultralytics.nn.tasks as t\n"
        "from ultralytics import YOLO\n"
        "report = t.parse_model.__yolo_hybrid__\n"
        "m = YOLO('yolov8n-bot3.yaml').model.model[8]\n"
        "print('CACHE', report['strategy'], report.get('parse_model_cache'), type(m).__name__,"
        " m.cv3.conv.out_channels)\n"
    )
    env = _env(PYTHONPYCACHEPREFIX=str(tmp_path / "pyc"))
    env.pop("YOLO_HYBRID_NO_AUTOLOAD", None)
    outputs = []
    for dont_write in ("1", "", ""):
        env["PYTHONDONTWRITEBYTECODE"] = dont_write
        out = assert_ok(run_python(code, env=env, cwd=ROOT))
        outputs.append(next(line for line in out.splitlines() if line.startswith("CACHE")))
    assert outputs == ["CACHE ast miss BoT3 256", "CACHE ast miss BoT3 256", "CACHE ast hit BoT3 256"], outputs
    assert len(list((tmp_path / "pyc" / "yolo_hybrid").glob("parse_model.*.marshal"))) == 1
