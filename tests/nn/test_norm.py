"""LayerNorm2d (eager and exported forms) against a per-position loop written from the definition."""

from __future__ import annotations

import torch

from tests.nn.reference import traced_ops
from yolo_hybrid.nn.norm import LayerNorm2d


def reference_layer_norm(norm: LayerNorm2d, x: torch.Tensor) -> torch.Tensor:
    """For each (b, y, x): (v - mean(v)) / sqrt(var(v) + eps) * weight + bias over the C channels, biased variance."""
    out = torch.empty_like(x)
    for b in range(x.shape[0]):
        for i in range(x.shape[2]):
            for j in range(x.shape[3]):
                v = x[b, :, i, j]
                mean = v.sum() / v.numel()
                var = ((v - mean) ** 2).sum() / v.numel()
                out[b, :, i, j] = (v - mean) / torch.sqrt(var + norm.eps) * norm.weight + norm.bias
    return out


def test_both_forms_match_the_definition():
    norm = LayerNorm2d(12).double()
    with torch.no_grad():
        norm.weight.normal_()
        norm.bias.normal_()
    x = torch.randn(2, 12, 5, 3, dtype=torch.float64) * 3 + 1
    expected = reference_layer_norm(norm, x)
    torch.testing.assert_close(norm(x), expected, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(norm.channel_moments(x), expected, rtol=1e-10, atol=1e-10)


def test_traced_graph_uses_the_exported_form():
    norm = LayerNorm2d(8).eval()
    traced = torch.jit.trace(norm, torch.randn(1, 8, 4, 4))
    assert "layer_norm" not in str(traced.graph) and "permute" not in str(traced.graph)
    x = torch.randn(2, 8, 6, 5)
    torch.testing.assert_close(traced(x), norm(x), rtol=1e-5, atol=1e-5)


def test_traced_form_squares_without_pow():
    """Paddle Inference's oneDNN Pow gives wrong values after a channel mean of a conv output (Paddle export)."""
    traced = torch.jit.trace(LayerNorm2d(8).eval(), torch.randn(1, 8, 4, 4))
    ops = traced_ops(traced)
    assert "aten::mean" in ops and not {"aten::pow", "aten::square"} & ops, ops
