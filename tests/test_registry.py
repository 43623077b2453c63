"""The public block registry (yolo_hybrid.register_block): user blocks of each kind, collisions, discovery of plugins
by entry point and by YOLO_HYBRID_BLOCKS in fresh processes, and failing plugins that only warn."""

from __future__ import annotations

import json
import os
import textwrap

import pytest
import torch.nn as nn

from tests.helpers import ROOT, assert_ok, run_python
from yolo_hybrid import register_block
from yolo_hybrid.errors import ConfigError
from yolo_hybrid.registry import registered_blocks

# In a child process: register tests/user_blocks.py by importing it, then report channel parity of its repeat and base
# blocks against stock C2f / strided Conv rows, and of its head against Classify, at n/s/m.
PARITY = r"""
import copy, json
import torch
import tests.user_blocks
from tests.integration import parity
from ultralytics.nn.tasks import ClassificationModel, guess_model_task
from ultralytics.utils import ROOT, YAML

report = {"detect": {s: parity.mismatches(s, {"ResidualStack": lambda c2: [c2, 0.5]},
                                          {"GatedConv": lambda c2: [c2, 3, 2]}) for s in "nsm"}}
stock = YAML.load(ROOT / "cfg/models/v8/yolov8-cls.yaml")
ours = copy.deepcopy(stock)
ours["head"][-1] = [-1, 1, "MaxPoolClassify", ["nc"]]
report["guess"] = guess_model_task(ours)
for s in "nsm":
    a = ClassificationModel({**stock, "scale": s}, nc=7, verbose=False)
    b = ClassificationModel({**ours, "scale": s}, nc=7, verbose=False)
    head = b.model[-1]
    out = b.eval()(torch.zeros(1, 3, 64, 64))
    report[s] = [type(head).__name__, head.fc[0].in_features, a.model[-1].conv.conv.in_channels, list(out.shape)]
print("REPORT", json.dumps(report))
"""


def _report(out: str) -> dict:
    return json.loads(next(line for line in out.splitlines() if line.startswith("REPORT "))[7:])


@pytest.mark.parametrize("strategy", ["ast", "alias"])
def test_user_blocks_of_each_kind_have_stock_channel_parity(strategy):
    code = PARITY + "import yolo_hybrid\nprint('STRATEGY', yolo_hybrid.register()['strategy'])\n"
    out = assert_ok(run_python(code, env={**os.environ, "YOLO_HYBRID_STRATEGY": strategy}, cwd=ROOT))
    assert f"STRATEGY {strategy}" in out
    report = _report(out)
    assert report["detect"] == {"n": [], "s": [], "m": []}
    assert report["guess"] == "classify"
    for scale in "nsm":
        name, head_c1, stock_c1, shape = report[scale]
        assert name == "MaxPoolHead" and head_c1 == stock_c1 and shape == [1, 7]  # nc is not width-scaled


def test_user_block_errors_name_yaml_layer_and_suggest_names():
    code = textwrap.dedent("""
        import copy
        import tests.user_blocks
        from ultralytics.nn.tasks import DetectionModel
        from ultralytics.utils import ROOT, YAML
        d = YAML.load(ROOT / "cfg/models/v8/yolov8.yaml")
        for row, name in (([-1, 1, "Picky", [128, 3]], "picky"), ([-1, 1, "GatedConvv", [128]], "typo")):
            bad = copy.deepcopy(d)
            bad["backbone"][1] = row
            bad["yaml_file"] = f"{name}.yaml"
            try:
                DetectionModel(bad, verbose=False)
            except Exception as error:
                print(type(error).__name__, "|", error)
    """)
    out = assert_ok(run_python(code, cwd=ROOT))
    assert (
        "ConfigError | picky.yaml, layer 1 [-1, 1, 'Picky', [128, 3]]: ValueError: c2=32 is not divisible by groups=3"
        in out
    )
    assert "typo.yaml, layer 1" in out and "did you mean 'GatedConv'" in out


def test_registration_is_idempotent_and_bound_in_tasks():
    import ultralytics.nn.tasks as tasks

    from yolo_hybrid.nn import BoT3

    before = registered_blocks()
    assert register_block(BoT3) is BoT3 and register_block(BoT3, kind="repeat") is BoT3
    assert registered_blocks().keys() == before.keys() and registered_blocks()["BoT3"].source == "yolo_hybrid"
    assert tasks.BoT3 is BoT3 or getattr(tasks.BoT3, "_yh_target", None) is BoT3


def test_live_view_follows_registrations_and_is_read_only():
    from yolo_hybrid.registry import live_blocks

    view = live_blocks()

    class LiveViewBlock(nn.Module):
        def __init__(self, c1, c2, n=1):
            super().__init__()

    assert "LiveViewBlock" not in view
    register_block(LiveViewBlock)
    assert view["LiveViewBlock"].cls is LiveViewBlock and view.keys() == registered_blocks().keys()
    with pytest.raises(TypeError):
        view["LiveViewBlock"] = None


def test_name_taken_by_one_of_ours_is_an_error():
    class BoT3(nn.Module):
        def __init__(self, c1, c2, n=1):
            super().__init__()

    with pytest.raises(
        ConfigError,
        match=r"'BoT3' is already registered to yolo_hybrid\.nn\.bot\.BoT3 \(by "
        r"yolo_hybrid\).*Fix: register it under another name",
    ):
        register_block(BoT3)
    assert registered_blocks()["BoT3"].cls.__module__ == "yolo_hybrid.nn.bot"


def test_stock_name_is_an_error_and_never_shadowed():
    import ultralytics.nn.tasks as tasks
    from ultralytics.nn.modules import C2f

    class C2fLike(nn.Module):
        def __init__(self, c1, c2, n=1):
            super().__init__()

    with pytest.raises(
        ConfigError,
        match=r"'C2f' is already defined by Ultralytics \(ultralytics\.nn\.modules\.block"
        r"\.C2f\).*Fix: register C2fLike under another name",
    ):
        register_block(C2fLike, name="C2f")
    assert tasks.C2f is C2f and "C2f" not in registered_blocks()


@pytest.mark.parametrize(
    "call, error, needle",
    [
        (lambda cls: register_block(cls, kind="neck"), ValueError, "kind='neck' must be one of"),
        (lambda cls: register_block(cls, kind="repeat"), TypeError, r"builds it as TwoArgs\(c1, c2, n, \*args\)"),
        (lambda cls: register_block(cls, kind="base", name="my-block"), ValueError, "must be a Python identifier"),
        (lambda cls: register_block(cls, kind="base", flops=[len]), TypeError, "flops must be a dict"),
        (lambda cls: register_block(object), TypeError, "is not a torch.nn.Module subclass"),
    ],
)
def test_unusable_registrations_say_why(call, error, needle):
    class TwoArgs(nn.Module):
        def __init__(self, c1, c2):
            super().__init__()

    with pytest.raises(error, match=needle):
        call(TwoArgs)
    assert "TwoArgs" not in registered_blocks()


def test_kind_contradicting_yaml_block_is_an_error():
    from yolo_hybrid.nn import BottleneckTransformer

    with pytest.raises(ValueError, match="contradicts its @yaml_block kind 'base'"):
        register_block(BottleneckTransformer, kind="repeat")


def test_two_user_classes_under_one_name_collide():
    code = textwrap.dedent("""
        import torch.nn as nn
        from yolo_hybrid import register_block
        import tests.user_blocks
        class GatedConv(nn.Module):
            def __init__(self, c1, c2):
                super().__init__()
        try:
            register_block(GatedConv, kind="base")
        except Exception as error:
            print(type(error).__name__, "|", error)
        register_block(GatedConv, kind="base", name="GatedConv2")
        import ultralytics.nn.tasks as tasks
        print("BOUND", tasks.GatedConv.__module__, tasks.GatedConv2.__module__)
    """)
    out = assert_ok(run_python(code, cwd=ROOT))
    assert (
        "ConfigError | register_block(__main__.GatedConv): 'GatedConv' is already registered to "
        "tests.user_blocks.GatedConv (by register_block)"
    ) in out
    assert "BOUND tests.user_blocks __main__" in out


def test_ultralytics_fuse_folds_a_registered_user_block_once():
    code = textwrap.dedent("""
        import copy, torch
        import tests.user_blocks
        from ultralytics.nn.tasks import DetectionModel
        from ultralytics.utils import ROOT, YAML
        d = YAML.load(ROOT / "cfg/models/v8/yolov8.yaml")
        d["backbone"][2] = [-1, 1, "FoldableConv", [128]]
        model = DetectionModel({**d, "scale": "n"}, verbose=False).eval()
        block = model.model[2]
        torch.manual_seed(0)
        block.bn.running_mean.normal_(); block.bn.running_var.uniform_(0.5, 2); block.bn.weight.data.normal_()
        x = torch.rand(1, 3, 64, 96)
        with torch.no_grad():
            before = model(x)[0]
            model.fuse(verbose=False); model.fuse(verbose=False)
            after = model(x)[0]
        print("FOLDED", type(block.bn).__name__, block.fuse_calls, float((before - after).abs().max()))
    """)
    out = assert_ok(run_python(code, cwd=ROOT))
    name, calls, diff = next(line for line in out.splitlines() if line.startswith("FOLDED")).split()[1:]
    assert (name, calls) == ("Identity", "1") and float(diff) < 1e-3, out


def _plugin_site(tmp_path, modules: dict, entry_points: dict):
    """A folder with plugin modules and a distribution declaring them in the yolo_hybrid.blocks entry-point group."""
    site = tmp_path / "site"
    site.mkdir()
    for name, source in modules.items():
        (site / f"{name}.py").write_text(textwrap.dedent(source))
    info = site / "test_plugins-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: test-plugins\nVersion: 1.0\n")
    lines = "".join(f"{name} = {value}\n" for name, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[yolo_hybrid.blocks]\n{lines}")
    return site


GOOD_PLUGIN = """
    import torch.nn as nn
    from ultralytics.nn.modules import Conv
    from yolo_hybrid import register_block

    @register_block(kind="base")
    class PluginConv(Conv):
        pass
"""

# Uses an ordinary Ultralytics model: the plugin's block replaces the stride-2 neck Convs.
BUILD = textwrap.dedent("""
    import sys
    from ultralytics.utils import ROOT, YAML
    d = YAML.load(ROOT / "cfg/models/v8/yolov8.yaml")
    print("BEFORE_TASKS", "good_plugin" in sys.modules, "yolo_hybrid.registry" in sys.modules)
    from ultralytics import YOLO
    from ultralytics.nn.tasks import DetectionModel
    print("AFTER_TASKS", "good_plugin" in sys.modules)
    d["head"][6][2] = d["head"][9][2] = "PluginConv"
    m = DetectionModel({**d, "scale": "n"}, verbose=False)
    print("BUILT", type(m.model[16]).__name__, m.model[16].conv.out_channels)
    bot = YOLO("yolov8n-bot3.yaml")
    print("OURS", type(bot.model.model[8]).__name__)
""")


def test_entry_point_plugin_is_discovered_lazily_with_no_import(tmp_path):
    site = _plugin_site(tmp_path, {"good_plugin": GOOD_PLUGIN}, {"good": "good_plugin"})
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = assert_ok(run_python(BUILD, env=env, cwd=tmp_path))
    # Nothing at interpreter start (the hook only installs a finder); the plugin arrives with Ultralytics' parser.
    assert "BEFORE_TASKS False False" in out and "AFTER_TASKS True" in out
    assert "BUILT PluginConv 64" in out and "OURS BoT3" in out


def test_failing_plugins_only_warn(tmp_path):
    modules = {
        "good_plugin": GOOD_PLUGIN,
        "raising_plugin": "raise RuntimeError('plugin bug')\n",
        "exiting_plugin": "raise SystemExit(4)\n",
        "clashing_plugin": """
            import torch.nn as nn
            from ultralytics.nn.modules import Conv
            from yolo_hybrid import register_block
            @register_block(kind="base")
            class Concat(nn.Module):
                def __init__(self, c1, c2):
                    super().__init__()
            @register_block(kind="base")
            class AfterClashConv(Conv):  # registered after the clash, in the same module: must not be lost
                pass
        """,
    }
    entry_points = {
        "a_raises": "raising_plugin",
        "b_exits": "exiting_plugin",
        "c_missing": "no_such_module",
        "d_not_module": "good_plugin:PluginConv",
        "e_clash": "clashing_plugin",
        "good": "good_plugin",
    }
    site = _plugin_site(tmp_path, modules, entry_points)
    code = BUILD + textwrap.dedent("""
        import ultralytics.nn.tasks as tasks
        from ultralytics.nn.modules.conv import Concat as StockConcat
        import yolo_hybrid.registry as r
        clash = sorted(n for n, e in r.registered_blocks().items() if "e_clash" in e.source)
        print("CLASH", clash, sorted(r.declined_blocks()), tasks.Concat is StockConcat)
        d["head"][6][2] = "AfterClashConv"
        print("SURVIVOR", type(DetectionModel({**d, "scale": "n"}, verbose=False).model[16]).__name__)
    """)
    out = assert_ok(run_python(code, env={**os.environ, "PYTHONPATH": str(site)}, cwd=tmp_path))
    assert "BUILT PluginConv 64" in out and "OURS BoT3" in out
    # A plugin's block whose name Ultralytics defines is dropped alone: the plugin's other blocks still register.
    assert "CLASH ['AfterClashConv'] ['Concat'] True" in out and "SURVIVOR AfterClashConv" in out, out
    for needle in (
        "plugin entry point 'a_raises' = 'raising_plugin' of test-plugins was not loaded, its blocks are unavailable: "
        "RuntimeError: plugin bug",
        "'b_exits' = 'exiting_plugin' of test-plugins was not loaded, its blocks are unavailable: SystemExit: 4",
        "'c_missing' = 'no_such_module' of test-plugins was not loaded, its blocks are unavailable: "
        "ModuleNotFoundError",
        "'d_not_module' = 'good_plugin:PluginConv' of test-plugins was not loaded, its blocks are unavailable: "
        "TypeError: it names <class 'good_plugin.PluginConv'>, not a module",
        "yolo_hybrid: 'Concat' is already defined by Ultralytics 8.",
        "(ultralytics.nn.modules.conv.Concat), and is also the name of the block registered by entry point 'e_clash' "
        "= 'clashing_plugin' of test-plugins, clashing_plugin.Concat. Ultralytics keeps the name",
        "register_block(clashing_plugin.Concat, name='ConcatX', kind='base')",
    ):
        assert needle in out, needle


def test_local_modules_from_environment_variable(tmp_path):
    (tmp_path / "my_blocks.py").write_text(textwrap.dedent(GOOD_PLUGIN))
    env = {**os.environ, "YOLO_HYBRID_BLOCKS": f" {tmp_path / 'my_blocks.py'} , tests.user_blocks,"}
    code = BUILD.replace("good_plugin", "my_blocks") + textwrap.dedent("""
        import yolo_hybrid.registry as r
        print("SOURCES", sorted({e.source.split(" entry ")[0] for e in r.registered_blocks().values()}))
        d["head"][6] = [-1, 1, "GatedConv", [256, 3, 2]]
        print("USER", type(DetectionModel({**d, "scale": "n"}, verbose=False).model[16]).__name__)
    """)
    out = assert_ok(run_python(code, env=env, cwd=ROOT))
    assert "BUILT PluginConv 64" in out and "USER GatedConv" in out
    assert "SOURCES ['YOLO_HYBRID_BLOCKS', 'yolo_hybrid']" in out
