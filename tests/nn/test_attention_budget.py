"""Global attention on a large map: a warning naming the layer, and a clear refusal before an impossible allocation."""

from __future__ import annotations

import warnings

import pytest
import torch

from yolo_hybrid.nn import BoT3, CMTBlock, MSABlock, attention_budget
from yolo_hybrid.nn.attention_budget import AttentionBudgetError


def test_logit_bytes_from_the_shape():
    # the case: four heads over P3 of a 2048 px image (256 x 256 positions), float32
    assert attention_bytes_p3_2048() == 64 * 2**30


def attention_bytes_p3_2048() -> int:
    n = 256 * 256
    return attention_budget.attention_bytes(1, 4, n, n, torch.float32)


def test_bot3_refuses_before_allocating(monkeypatch):
    monkeypatch.setattr(attention_budget, "available_bytes", lambda device: 8 * 2**30)
    block = BoT3(64, 64, 1).eval()
    calls = []
    block.m[0].attn.qkv.register_forward_pre_hook(lambda *args: calls.append(1))
    with (
        torch.no_grad(),
        pytest.raises(AttentionBudgetError, match=r"65536 positions.*64\.0 GiB.*8\.0 GiB.*Fix: place"),
    ):
        block(torch.zeros(1, 64, 256, 256))
    assert calls == [], "the check must run before the attention's first projection"


def test_warning_once_per_layer_and_size(monkeypatch):
    monkeypatch.setattr(attention_budget, "WARN_BYTES", 1000)
    block = CMTBlock(32, 32, 1, heads=2, sr=1).eval()
    x = torch.randn(1, 32, 8, 8)
    with warnings.catch_warnings(record=True) as caught, torch.no_grad():
        warnings.simplefilter("always")
        block(x)
        block(x)
    budget = [w for w in caught if "global attention" in str(w.message)]
    assert len(budget) == 1 and "64 positions x 64 keys" in str(budget[0].message)
    assert "logit matrix" in str(budget[0].message)


def test_every_new_layer_warns_even_where_a_freed_one_lived(monkeypatch):
    """Python reuses a freed module's id() for the next one: "once per layer" must not silence the new layer."""
    monkeypatch.setattr(attention_budget, "WARN_BYTES", 1000)
    x = torch.randn(1, 16, 8, 8)
    for _ in range(4):
        with warnings.catch_warnings(record=True) as caught, torch.no_grad():
            warnings.simplefilter("always")
            CMTBlock(16, 16, 1, heads=1, sr=1).eval()(x)
        assert sum("global attention" in str(w.message) for w in caught) == 1


def test_fused_attention_is_only_reported(monkeypatch):
    # SMT's MSA runs PyTorch's fused SDPA without a mask: the logits are streamed, never held, so it is not refused
    monkeypatch.setattr(attention_budget, "WARN_BYTES", 1000)
    monkeypatch.setattr(attention_budget, "available_bytes", lambda device: 1)
    with warnings.catch_warnings(record=True) as caught, torch.no_grad():
        warnings.simplefilter("always")
        MSABlock(32, 32, 1, heads=4).eval()(torch.randn(1, 32, 8, 8))
    assert any("streamed" in str(w.message) for w in caught)


def test_yaml_layer_named_in_the_message(monkeypatch):
    from ultralytics import YOLO

    model = YOLO("yolov8n-bot3.yaml").model.eval()
    monkeypatch.setattr(attention_budget, "available_bytes", lambda device: 1)
    monkeypatch.setattr(attention_budget, "WARN_BYTES", 1)
    with torch.no_grad(), pytest.raises(AttentionBudgetError, match=r"yolov8n-bot3\.yaml, layer 8 \(BoT3\)"):
        model(torch.zeros(1, 3, 64, 64))


def test_no_check_while_exporting(monkeypatch):
    monkeypatch.setattr(attention_budget, "WARN_BYTES", 1)
    monkeypatch.setattr(attention_budget, "available_bytes", lambda device: 1)
    block = BoT3(64, 64, 1).eval()
    traced = torch.jit.trace(block, torch.randn(1, 64, 4, 4), check_trace=False)
    assert traced(torch.randn(1, 64, 4, 5)).shape == (1, 64, 4, 5)
