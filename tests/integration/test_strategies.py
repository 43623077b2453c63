"""Parser strategies on stand-in ``tasks`` modules: AST patch, alias fallback, and the error when neither applies."""

from __future__ import annotations

import types

import pytest
import torch.nn as nn

from yolo_hybrid.errors import UnsupportedUltralyticsError
from yolo_hybrid.integration.parser import make_alias
from yolo_hybrid.integration.register import register_into
from yolo_hybrid.nn import BoT3, BottleneckTransformer


class C3(nn.Module):
    pass


class Conv(nn.Module):
    pass


class Classify(nn.Module):
    pass


def _fake_tasks(source: str | None, with_stock=True) -> types.ModuleType:
    module = types.ModuleType("fake_tasks")
    module.guess_model_task = lambda model: "detect"
    if with_stock:
        module.C3, module.Conv, module.Classify = C3, Conv, Classify
    if source is not None:
        exec(compile(source, "<no file>", "exec"), module.__dict__)  # no readable source: AST strategy cannot apply
    return module


PARSE = """
def parse_model(d, ch, verbose=True):
    base = frozenset({Conv, C3})
    repeat = frozenset({C3})
    return [(m in base, m in repeat) for m in (globals()[name] for name in d)]
"""


def test_alias_fallback_when_source_is_unavailable():
    tasks = _fake_tasks(PARSE)
    report = register_into(tasks, trigger="test")
    assert report["strategy"] == "alias"
    assert tasks.parse_model(["BoT3", "BottleneckTransformer", "C3"], 3) == [(True, True), (True, False), (True, True)]
    alias = tasks.BoT3
    assert alias is not BoT3 and alias == C3 and hash(alias) == hash(C3) and alias is not C3
    assert isinstance(alias(16, 16, 1), BoT3)  # building gives the real class, never the stand-in
    assert register_into(tasks) is report  # idempotent


def test_forced_ast_on_unreadable_source_is_a_clear_error():
    with pytest.raises(UnsupportedUltralyticsError, match="cannot patch Ultralytics' parse_model.*Fix"):
        register_into(_fake_tasks(PARSE), strategy="ast")


def test_neither_strategy_names_version_and_fix():
    with pytest.raises(UnsupportedUltralyticsError) as info:
        register_into(_fake_tasks(PARSE, with_stock=False))
    message = str(info.value)
    assert "ultralytics 8." in message and "Fix" in message


def test_alias_is_not_equal_to_other_classes():
    alias = make_alias(BottleneckTransformer, Conv)
    assert alias == Conv and alias != C3 and alias != BottleneckTransformer
    assert alias.__module__ == BottleneckTransformer.__module__ and alias.__qualname__ == "BottleneckTransformer"
