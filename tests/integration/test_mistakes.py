"""Every mistake a user can write in a YAML row of one of our blocks: a clear error (YAML file, layer, argument, fix)
or, when the value is valid, a model that builds and runs. Nothing in between: no raw torch error, no coercion.

The oracle below is written from what each argument means (a ratio is in (0, 1], a flag is a bool, heads are
positive integers, or "d<N>" / "d<N><=<K>" for CMT's and SMT's attention), not read from the package's own argument
descriptions.
"""

from __future__ import annotations

import copy
import inspect

import pytest
import torch
import yaml

import yolo_hybrid  # noqa: F401  (registration, as the start-up hook does)
from yolo_hybrid.errors import ConfigError
from yolo_hybrid.nn import YAML_BLOCKS

MUTATIONS = {
    "zero": 0,
    "negative": -1,
    "string": "abc",
    "float": 2.5,
    "none": None,
    "bool": True,
    "per-channel": "d16<=2",
}
# Attention heads may also be written "d<N>", one head per N channels, or "d<N><=<K>", at most K of those (SAM's heads
# are kernel counts, BoT's the paper's fixed 4): every such argument of CMT's and SMT's attention blocks.
PER_CHANNEL_HEADS = {
    ("CMTBlock", "heads"),
    ("C3k2CMT", "heads"),
    ("C2CMT", "heads"),
    ("MSABlock", "heads"),
    ("SMTStage", "msa_heads"),
    ("C2MSA", "heads"),
}
WIDTH = 64  # c1 and c2 of the block under test: every default is valid at this width
RATIOS = {"e", "e2"}  # fractions of a width
POSITIVE_NUMBERS = {"mlp_ratio", "layer_scale", "init_scale"}


def _params(cls) -> dict:
    return dict(list(inspect.signature(cls.__init__).parameters.items())[1:])


def _yaml_args(name: str) -> list[str]:
    """The YAML args of a block: its parameters after c1 (and after n for repeat blocks), c2 first."""
    cls, kind = YAML_BLOCKS[name]
    params = list(_params(cls))
    return [p for p in params[1:] if not (kind == "repeat" and p == "n")]


def valid(name: str, arg: str, value) -> bool:
    """Whether ``value`` is a meaningful ``arg`` of block ``name`` (only for the values in MUTATIONS)."""
    cls, kind = YAML_BLOCKS[name]
    if arg == "n":  # the row's repeats column: Ultralytics rounds numbers > 1 (depth scaling), n = 0 is C3's no-op
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        scaled = max(round(value), 1) if value > 1 else value
        return isinstance(scaled, int) and scaled >= (1 if name == "BoTStage" else 0)
    default = _params(cls)[arg].default
    if isinstance(value, str):
        return value == "d16<=2" and (name, arg) in PER_CHANNEL_HEADS  # at WIDTH 64: 1-2 heads, dividing the width
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if value is None:
        return default is None and arg != "c2"
    if arg in RATIOS:
        return 0 < value <= 1
    if arg in POSITIVE_NUMBERS:
        return value > 0
    if arg == "drop_path":  # a probability of dropping a branch; 1 would drop it always
        return 0 <= value < 1
    if not isinstance(value, int):  # every other argument counts something: channels, heads, pixels, groups
        return False
    if arg == "p":
        return value >= 0
    if arg == "s" and name != "AttnPoolClassify":
        return value in (1, 2)
    if arg == "k" and name != "AttnPoolClassify":
        return value in (1, 3, 5, 7)
    if arg == "g" and name != "AttnPoolClassify":
        return value == 1
    return value >= 1


def _model_yaml(name: str, n, args: list) -> dict:
    cls, kind = YAML_BLOCKS[name]
    backbone = [[-1, 1, "Conv", [WIDTH, 3, 2]]]
    if kind == "head":
        return {"nc": 5, "backbone": backbone, "head": [[-1, 1, name, args]]}
    backbone.append([-1, n, name, args])
    return {"nc": 5, "backbone": backbone, "head": [[-1, 1, "Classify", ["nc"]]]}


def _default_row(name: str) -> tuple[int, list]:
    _, kind = YAML_BLOCKS[name]
    return 1, ["nc" if kind == "head" else WIDTH]


def _cases():
    for name in YAML_BLOCKS:
        yaml_args = _yaml_args(name)
        targets = (["n"] if YAML_BLOCKS[name][1] == "repeat" else []) + yaml_args
        for arg in targets:
            for label, value in MUTATIONS.items():
                yield pytest.param(name, arg, value, valid(name, arg, value), id=f"{name}-{arg}-{label}")
        n, args = _default_row(name)
        too_many = args + [_params(YAML_BLOCKS[name][0])[a].default for a in yaml_args[1:]] + [1]
        yield pytest.param(name, "args", too_many, False, id=f"{name}-too-many")
        yield pytest.param(name, "args", [], False, id=f"{name}-too-few")


def _build(tmp_path, name: str, arg: str, value):
    from ultralytics.nn.tasks import ClassificationModel

    n, args = _default_row(name)
    if arg == "n":
        n = value
    elif arg == "args":
        args = value
    else:
        position = _yaml_args(name).index(arg)
        defaults = [_params(YAML_BLOCKS[name][0])[a].default for a in _yaml_args(name)]
        args = (args + defaults[1:])[: max(position + 1, 1)]
        args[position] = value
    path = tmp_path / f"mistake-{name.lower()}.yaml"
    path.write_text(yaml.safe_dump(_model_yaml(name, n, copy.deepcopy(args)), sort_keys=False))
    return path, ClassificationModel(str(path), verbose=False)


@pytest.mark.parametrize("name,arg,value,is_valid", list(_cases()))
def test_every_argument_mistake_is_a_clear_error_or_valid(tmp_path, name, arg, value, is_valid):
    try:
        path, model = _build(tmp_path, name, arg, value)
    except ConfigError as error:
        text = str(error)
        named = "YAML args" if arg == "args" else f"{arg}="
        clear = f"mistake-{name.lower()}.yaml, layer 1 " in text and named in text and "Fix:" in text
        assert clear, f"error does not name file, layer, argument and fix: {text}"
        assert not is_valid, f"{name} {arg}={value!r} is valid but was refused: {text}"
        return
    except Exception as error:  # noqa: BLE001  (anything else is the failure this test exists for)
        pytest.fail(f"{name} {arg}={value!r}: raw {type(error).__name__}: {error}")
    assert is_valid, f"{name} {arg}={value!r} is not valid but was accepted"
    out = model.eval()(torch.zeros(1, 3, 64, 48))
    probs = out[0] if isinstance(out, (tuple, list)) else out
    assert probs.shape == (1, 5)


def test_every_yaml_block_has_cases():
    names = {p.values[0] for p in _cases()}
    assert names == set(YAML_BLOCKS)
    assert sum(1 for _ in _cases()) > 400
