"""Registration into Ultralytics' parser: channel parity with stock blocks, idempotence, reload, errors, lookup."""

from __future__ import annotations

import copy
import importlib
import json
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


# Issue #34, names Ultralytics may take: a future release defining one of our names is simulated by binding a
# stand-in class into ultralytics.nn.tasks before registering (autoload off). The stand-in is an nn.Identity, which
# Ultralytics' parser builds as a module it does not scale (c2 = c1), so a detection model still builds around it.
COLLISION = r"""
import json, re, warnings
import torch
import ultralytics.nn.tasks as tasks


class BoT3(torch.nn.Identity):
    pass


BoT3.__module__ = "ultralytics.nn.modules.future"
tasks.BoT3 = BoT3
tasks.C2fCoT = 42  # a global that is not a module class: no block may replace it, even when asked
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import yolo_hybrid  # registers at once: ultralytics.nn.tasks is imported

    report = yolo_hybrid.register()
from ultralytics import YOLO
from ultralytics.utils import YAML

from yolo_hybrid.errors import ConfigError

out = {key: report.get(key) for key in ("blocks", "shadowed", "overridden", "override_unused")}
out["warnings"] = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
out["bound"] = {n: getattr(getattr(tasks, n, None), "__module__", "") + f".{n}" for n in ("BoT3", "CoT3")}


def layer8(make):
    try:
        m = make().model[8]
        return f"{type(m).__module__}.{type(m).__name__}"
    except Exception as error:
        return f"{type(error).__name__}: {error}"


d = YAML.load(yolo_hybrid.config_path("yolov8-bot3.yaml"))
mine = lambda: tasks.DetectionModel({**d, "yaml_file": "my-bot3.yaml", "scale": "n"}, verbose=False)
out["user_yaml"] = layer8(mine)
out["bundled_name"] = layer8(lambda: YOLO("yolov8n-bot3.yaml").model)
out["bundled_path"] = layer8(lambda: YOLO(str(yolo_hybrid.config_path("yolov8-bot3.yaml"))).model)
out["other_block"] = layer8(lambda: YOLO("yolov8n-cmt.yaml").model)


class MyConv(torch.nn.Module):
    def __init__(self, c1, c2):
        super().__init__()


try:
    yolo_hybrid.register_block(MyConv, kind="base", name="Conv")
    out["user_conv"] = "registered"
except ConfigError as error:
    out["user_conv"] = f"ConfigError: {error}"
snippet = re.search(r"or \(b\) .*?: (import .*\))\.$", next((w for w in out["warnings"] if "'BoT3'" in w), ""))
if snippet:  # option (b), exactly as the warning prints it, then a copy of the bundled config using the new name
    exec(snippet.group(1))
    d["backbone"][8][2] = "BoT3X"
    out["renamed"] = layer8(mine)
print("REPORT", json.dumps(out))
"""


def _collision_run(**env) -> dict:
    out = assert_ok(run_python(COLLISION, env=_env(YOLO_HYBRID_NO_AUTOLOAD="1", **env), cwd=ROOT))
    return json.loads(next(line for line in out.splitlines() if line.startswith("REPORT "))[7:])


@pytest.fixture(scope="module")
def collision():
    """One process where Ultralytics defines BoT3 and no override is set."""
    return _collision_run(YOLO_HYBRID_OVERRIDE="")


@pytest.fixture(scope="module")
def overridden():
    """One process where Ultralytics defines BoT3 and the user lets ours take it (plus two names that do nothing)."""
    return _collision_run(YOLO_HYBRID_OVERRIDE=" BoT3, CoT3,,BoT4 ,C2fCoT")


STAND_IN = "ultralytics.nn.modules.future.BoT3"


def test_a_name_ultralytics_defines_drops_only_that_block(collision):
    # Before the fix one collision aborted discovery: no block at all was registered.
    assert collision["blocks"] == sorted(set(yolo_hybrid.YAML_BLOCKS) - {"BoT3", "C2fCoT"})
    assert collision["bound"] == {"BoT3": STAND_IN, "CoT3": "yolo_hybrid.nn.cot.CoT3"}  # stock keeps the bare name
    assert collision["shadowed"]["BoT3"] == {
        "ours": "yolo_hybrid.nn.bot.BoT3",
        "ultralytics": STAND_IN,
        "source": "yolo_hybrid",
    }
    assert collision["overridden"] == {} and collision["override_unused"] == {}
    assert collision["other_block"] == "yolo_hybrid.nn.cmt.CMTBlock"


def _bundled_configs_with_rows_of(name: str) -> list[str]:
    from ultralytics.utils import YAML

    from yolo_hybrid.integration.configs import list_configs

    return [p.name for p in list_configs() if any(row[2] == name for row in _rows(YAML.load(p)))]


def _rows(d: dict) -> list:
    return list(d.get("backbone") or []) + list(d.get("head") or [])


def test_collision_warning_names_both_classes_what_builds_and_both_fixes(collision):
    about = [w for w in collision["warnings"] if w.startswith("yolo_hybrid: 'BoT3'")]
    assert len(about) == 1, collision["warnings"]  # one warning per collided name
    text = about[0]
    using = _bundled_configs_with_rows_of("BoT3")
    assert len(using) > 3
    for needle in (
        "'BoT3' is already defined by Ultralytics 8.",
        f"({STAND_IN})",
        "yolo_hybrid's block yolo_hybrid.nn.bot.BoT3",
        f"YAML rows naming 'BoT3' build {STAND_IN}",
        f"bundled configs naming it ({using[0]}, ",
        f"({len(using)} in all)) refuse to build",
        "(a) set YOLO_HYBRID_OVERRIDE=BoT3 in the environment before Python starts",
        "register_block(yolo_hybrid.nn.bot.BoT3, name='BoT3X', kind='repeat', flops=yolo_hybrid.nn.FLOP_RULES)",
    ):
        assert needle in text, (needle, text)


def test_yaml_rows_of_a_taken_name_build_stock_and_bundled_configs_refuse(collision):
    assert collision["user_yaml"] == STAND_IN  # a user's YAML: the name is Ultralytics', as the warning says
    for key, shown in (("bundled_name", "yolov8n-bot3.yaml"), ("bundled_path", "cfg/models/yolov8-bot3.yaml")):
        text = collision[key]
        assert text.startswith("ConfigError: ") and f"{shown}, layer 8 [-1, 3, 'BoT3', [1024]]" in text, text
        assert f"defines 'BoT3' itself ({STAND_IN})" in text and "Fix: set YOLO_HYBRID_OVERRIDE=BoT3" in text, text


def test_renaming_ours_as_the_warning_says_builds_ours(collision):
    assert collision["renamed"] == "yolo_hybrid.nn.bot.BoT3"


def test_user_block_under_a_stock_name_still_raises(collision):
    assert collision["user_conv"].startswith(
        "ConfigError: 'Conv' is already defined by Ultralytics (ultralytics.nn.modules.conv.Conv); a block of "
        "that name would shadow it. Fix: register MyConv under another name"
    ), collision["user_conv"]
    assert "YOLO_HYBRID_OVERRIDE" not in collision["user_conv"]


def test_override_lets_ours_take_the_name_with_a_warning(overridden):
    assert overridden["bound"]["BoT3"] == "yolo_hybrid.nn.bot.BoT3"
    assert (
        overridden["bundled_name"] == overridden["bundled_path"] == overridden["user_yaml"] == "yolo_hybrid.nn.bot.BoT3"
    )
    assert "BoT3" in overridden["blocks"] and "BoT3" not in overridden["shadowed"]
    assert overridden["overridden"]["BoT3"] == {
        "ours": "yolo_hybrid.nn.bot.BoT3",
        "ultralytics": STAND_IN,
        "source": "yolo_hybrid",
    }
    about = [w for w in overridden["warnings"] if w.startswith("yolo_hybrid: YOLO_HYBRID_OVERRIDE names 'BoT3'")]
    assert (
        len(about) == 1
        and f"yolo_hybrid.nn.bot.BoT3 (registered by yolo_hybrid) replaced Ultralytics' own 'BoT3' ({STAND_IN}"
        in about[0]
    ), about


def test_override_of_a_name_ultralytics_does_not_define_warns(overridden):
    why = overridden["override_unused"]["CoT3"]
    assert (
        "'CoT3', which Ultralytics 8." in why
        and "does not define: nothing is replaced" in why
        and "Fix: remove 'CoT3'" in why
    )
    assert overridden["bound"]["CoT3"] == "yolo_hybrid.nn.cot.CoT3"
    assert sum("'CoT3'" in w for w in overridden["warnings"]) == 1


def test_override_of_an_unknown_block_name_warns_with_a_suggestion(overridden):
    why = overridden["override_unused"]["BoT4"]
    assert "names 'BoT4', which is not a block registered at import" in why and "did you mean 'BoT3'?" in why, why
    assert set(overridden["override_unused"]) == {"CoT3", "BoT4"}  # blanks ignored; C2fCoT: its own warning below


def test_override_never_replaces_a_global_that_is_not_a_module_class(overridden):
    assert overridden["shadowed"]["C2fCoT"]["ultralytics"] == "int instance"
    text = next(w for w in overridden["warnings"] if "'C2fCoT'" in w)
    assert (
        "YOLO_HYBRID_OVERRIDE names 'C2fCoT'" in text
        and "(int instance) is not a module class, which no block may replace" in text
    ), text
    assert "register_block(yolo_hybrid.nn.cot.C2fCoT, name='C2fCoTX'" in text
