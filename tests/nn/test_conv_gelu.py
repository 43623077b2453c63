"""conv_gelu: the fused CPU inference path equals GELU written from its definition over a float64 convolution."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import yolo_hybrid.nn.conv_gelu as conv_gelu_module
from tests.nn.reference import bn_eval, randomize_
from yolo_hybrid.nn.cmt import IRFFN
from yolo_hybrid.nn.conv_gelu import conv_gelu
from yolo_hybrid.nn.smt import DetailFFN


def gelu_reference(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """0.5 y (1 + erf(y / sqrt 2)) of the convolution, in float64."""
    y = F.conv2d(
        x.double(), conv.weight.double(), conv.bias.double(), conv.stride, conv.padding, conv.dilation, conv.groups
    )
    return 0.5 * y * (1 + torch.erf(y / math.sqrt(2.0)))


@pytest.fixture
def fused_calls(monkeypatch):
    """Counts calls of the fused kernel after the probe, which runs afresh in each test."""
    calls = []
    fused = conv_gelu_module._fused
    monkeypatch.setattr(conv_gelu_module, "_fused_kernel_works", conv_gelu_module._probe())
    monkeypatch.setattr(conv_gelu_module, "_fused", lambda *a: calls.append(1) or fused(*a))
    return calls


CONVS = [
    lambda: nn.Conv2d(24, 24, 3, padding=1, groups=24),  # IRFFN's / DetailFFN's depthwise conv
    lambda: nn.Conv2d(16, 24, 1),  # IRFFN's first pointwise conv
    lambda: nn.Conv2d(16, 24, 3, stride=2, padding=1),
]


@pytest.mark.parametrize("make", CONVS)
@pytest.mark.parametrize("channels_last", [False, True])
def test_inference_equals_the_definition(make, channels_last, fused_calls):
    conv = make().eval()
    x = torch.randn(2, conv.in_channels, 11, 7)
    if channels_last:  # a LayerNorm2d's output reaches IRFFN's first conv with channels-last strides
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        out = conv_gelu(conv, x)
    torch.testing.assert_close(out.double(), gelu_reference(conv, x), atol=1e-5, rtol=1e-5)
    assert fused_calls, "eager CPU inference should take the fused kernel on this build"


def test_training_runs_the_two_ops_and_gets_gradients(fused_calls):
    conv = CONVS[0]()
    x = torch.randn(2, 24, 6, 5, requires_grad=True)
    out = conv_gelu(conv, x)
    out.sum().backward()
    assert not fused_calls and x.grad is not None and conv.weight.grad is not None
    reference_x = x.detach().double().requires_grad_(True)
    gelu_reference(conv, reference_x).sum().backward()
    torch.testing.assert_close(x.grad.double(), reference_x.grad, atol=1e-5, rtol=1e-5)


def test_exports_run_the_two_ops(fused_calls):
    class ConvGelu(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = CONVS[1]()

        def forward(self, x):
            return conv_gelu(self.conv, x)

    with torch.no_grad():
        traced = torch.jit.trace(ConvGelu().eval(), torch.randn(1, 16, 4, 4), check_trace=False)
    kinds = {node.kind() for node in traced.inlined_graph.nodes()}
    assert "aten::gelu" in kinds and not any("mkldnn" in kind for kind in kinds)
    assert not fused_calls


def test_a_kernel_that_fails_its_probe_is_not_used(monkeypatch):
    def broken(x, conv):
        raise RuntimeError("changed signature")

    monkeypatch.setattr(conv_gelu_module, "_fused_kernel_works", None)
    monkeypatch.setattr(conv_gelu_module, "_fused", broken)
    conv = CONVS[0]().eval()
    x = torch.randn(1, 24, 5, 5)
    with torch.no_grad():
        out = conv_gelu(conv, x)
    assert conv_gelu_module._fused_kernel_works is False
    torch.testing.assert_close(out.double(), gelu_reference(conv, x), atol=1e-5, rtol=1e-5)


def test_fused_ffns_equal_their_definitions(fused_calls):
    """After fuse(), CMT's IRFFN and SMT's DetailFFN still compute their papers' op order, now with fused GELUs."""
    irffn, detail = randomize_(IRFFN(8, 4.0)), DetailFFN(8, 4.0).eval()
    x = torch.randn(2, 8, 9, 6).double()

    def gelu(t):
        return 0.5 * t * (1 + torch.erf(t / math.sqrt(2.0)))

    def conv(t, c):
        return F.conv2d(t, c.weight.double(), c.bias.double(), padding=c.padding, groups=c.groups)

    with torch.no_grad():
        h = bn_eval(gelu(conv(x, irffn.conv1)), irffn.bn1.double())
        h = bn_eval(gelu(h + conv(h, irffn.dwconv)), irffn.bn2.double())
        expected_irffn = bn_eval(conv(h, irffn.conv2), irffn.bn3.double())
        h = conv(x, detail.fc1)
        expected_detail = conv(gelu(h + conv(h, detail.dwconv)), detail.fc2)
        irffn.float().fuse()
        detail.float().fuse()
        torch.testing.assert_close(irffn(x.float()).double(), expected_irffn, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(detail(x.float()).double(), expected_detail, atol=1e-4, rtol=1e-4)
    assert len(fused_calls) == 3  # IRFFN's two GELUs and DetailFFN's one


def test_a_hooked_conv_runs_its_own_forward(fused_calls):
    """Ultralytics' FLOP count (thop) hooks every conv: a fused call would hide the conv from it."""
    conv = CONVS[1]().eval()
    seen = []
    conv.register_forward_hook(lambda module, args, out: seen.append(out.shape))
    x = torch.randn(1, 16, 5, 4)
    with torch.no_grad():
        out = conv_gelu(conv, x)
    assert seen == [torch.Size([1, 24, 5, 4])] and not fused_calls
    torch.testing.assert_close(out.double(), gelu_reference(conv, x), atol=1e-5, rtol=1e-5)
