"""The head split/merge helpers against explicit per-channel and per-head indexing."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

import yolo_hybrid.nn.multihead as multihead
from yolo_hybrid.nn.multihead import merge_heads, split_heads, split_projection


@pytest.mark.parametrize("exporting", [False, True], ids=["eager", "under-torch-export"])
@pytest.mark.parametrize("bias", [True, False])
def test_split_projection_gives_each_part_of_the_conv_output(monkeypatch, exporting, bias):
    monkeypatch.setattr(multihead, "is_exporting", lambda: exporting)
    torch.manual_seed(0)
    conv = nn.Conv2d(6, 12, 1, bias=bias)
    x = torch.randn(2, 6, 5, 3)
    parts = split_projection(conv, x, 3)
    assert len(parts) == 3
    for i, part in enumerate(parts):
        # output channel c of a 1x1 conv: sum over inputs of weight[c, j] * x[:, j] (+ bias[c])
        for c in range(4):
            channel = i * 4 + c
            expected = sum(conv.weight[channel, j, 0, 0] * x[:, j] for j in range(6))
            if bias:
                expected = expected + conv.bias[channel]
            torch.testing.assert_close(part[:, c], expected)


def test_split_heads_puts_head_channels_in_order():
    b, heads, d, h, w = 2, 3, 4, 5, 6
    t = torch.randn(b, heads * d, h, w)
    tokens = split_heads(t, b, h * w, heads, d)
    assert tokens.shape == (b * heads, h * w, d)
    for i in range(b):
        for head in range(heads):
            for y in range(h):
                for x in range(w):
                    channels = t[i, head * d : (head + 1) * d, y, x]
                    torch.testing.assert_close(tokens[i * heads + head, y * w + x], channels)


@pytest.mark.parametrize("folded", [True, False], ids=["heads-in-batch", "heads-apart"])
@pytest.mark.parametrize("heads", [1, 3])
def test_merge_heads_inverts_the_split_and_is_contiguous(folded, heads):
    b, d, h, w = 2, 4, 5, 6
    out = torch.randn(b * heads, h * w, d) if folded else torch.randn(b, heads, h * w, d)
    merged = merge_heads(out, b, heads * d, h, w)
    assert merged.shape == (b, heads * d, h, w) and merged.is_contiguous()
    for i in range(b):
        for head in range(heads):
            per_head = out[i * heads + head] if folded else out[i, head]  # (N, d)
            torch.testing.assert_close(merged[i, head * d : (head + 1) * d].flatten(1), per_head.T)
