"""What only shows when a model trains: the papers' initialisations, CoTNet's zero-initialised last BN, SMT's stage
norm and stochastic depth. Expected values are written from the papers' rules, not read from the package."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from yolo_hybrid.nn import CMTBlock, CoT3, CoTBottleneck, MSABlock, SAMBlock, SMTStage
from yolo_hybrid.nn.drop import DropPath

torch.manual_seed(0)


def _std_close(weight: torch.Tensor, expected: float, tolerance: float) -> None:
    std = weight.detach().float().std().item()
    assert abs(std / expected - 1) < tolerance, f"std {std:.4f}, expected {expected:.4f}"


def test_smt_init_follows_the_paper():
    # SMT: Linear -> trunc_normal(0.02), bias 0; Conv2d -> N(0, sqrt(2 / (k*k*C_out/groups))), bias 0
    block = SAMBlock(256, 256, 1, heads=4, mlp_ratio=4.0).m[0]
    sam, ffn = block.mixer, block.ffn
    for linear in (sam.v, sam.s, sam.proj, ffn.fc1, ffn.fc2):
        _std_close(linear.weight, 0.02, 0.05)
        assert linear.weight.abs().max() <= 2.0 and not linear.bias.any()
    split = 256 // 4
    for i, conv in enumerate(sam.local_convs):
        k = 3 + 2 * i
        _std_close(conv.weight, math.sqrt(2 / (k * k * split / split)), 0.15)
        assert not conv.bias.any()
    _std_close(sam.proj0.weight, math.sqrt(2 / (2 * 256 / split)), 0.1)
    _std_close(sam.proj1.weight, math.sqrt(2 / 256), 0.05)
    _std_close(ffn.dwconv.weight, math.sqrt(2 / 9), 0.1)
    msa = MSABlock(256, 256, 1, heads=8).m[0].mixer
    for linear in (msa.q, msa.kv, msa.proj):
        _std_close(linear.weight, 0.02, 0.05)
        assert not linear.bias.any()
    _std_close(msa.local_conv.weight, math.sqrt(2 / 9), 0.15)


def test_cmt_init_follows_the_paper():
    # CMT: Linear -> trunc_normal(0.02), bias 0; Conv2d -> kaiming_normal(fan_out) = N(0, sqrt(2 / (k*k*C_out)))
    layer = CMTBlock(256, 256, 1, heads=4, sr=2, mlp_ratio=4.0).m[0]
    attn, ffn = layer.attn, layer.ffn
    for linear in (attn.q, attn.k, attn.v, attn.proj):
        _std_close(linear.weight, 0.02, 0.05)
        assert not linear.bias.any()
    reduce = attn.reduce[1]
    _std_close(reduce.weight, math.sqrt(2 / (2 * 2 * 256)), 0.15)
    _std_close(layer.lpu.weight, math.sqrt(2 / (9 * 256)), 0.15)
    _std_close(ffn.conv1.weight, math.sqrt(2 / 1024), 0.05)
    _std_close(ffn.dwconv.weight, math.sqrt(2 / (9 * 1024)), 0.1)
    _std_close(ffn.conv2.weight, math.sqrt(2 / 256), 0.05)
    assert not any(c.bias.any() for c in (reduce, layer.lpu, ffn.conv1, ffn.dwconv, ffn.conv2))


def test_cot_bottleneck_starts_as_its_shortcut():
    block = CoTBottleneck(64, 64, e=0.25).eval()
    assert not block.cv2.bn.weight.any()
    x = torch.randn(2, 64, 7, 9)
    torch.testing.assert_close(block(x), F.silu(x))  # y = act(0 + x) with Ultralytics' default SiLU
    assert CoTBottleneck(64, 64, shortcut=False).cv2.bn.weight.eq(1).all()  # no residual: zero would kill it
    assert all(not m.cv2.bn.weight.any() for m in CoT3(64, 64, 2).m)


def test_cot_bottleneck_activation_follows_the_yaml_activation():
    from ultralytics.nn.modules import Conv

    default = Conv.default_act
    try:
        Conv.default_act = nn.ReLU()  # what parse_model does for `activation: nn.ReLU()` (CoTNet's)
        block = CoTBottleneck(32, 32).eval()
    finally:
        Conv.default_act = default
    assert isinstance(block.act, nn.ReLU) and isinstance(block.cv1.act, nn.ReLU)


@pytest.mark.parametrize(
    "make",
    [
        lambda norm: SAMBlock(32, 32, 2, norm=norm),
        lambda norm: MSABlock(32, 32, 1, heads=4, norm=norm),
        lambda norm: SMTStage(32, 32, 2, norm=norm),
    ],
)
def test_smt_stages_end_with_a_layer_norm(make):
    stage = make(True).eval()
    x = torch.randn(2, 32, 5, 6)
    y = stage.m(stage.proj(x))
    mean, var = y.mean(1, keepdim=True), y.var(1, unbiased=False, keepdim=True)
    w, b = stage.norm.weight[None, :, None, None], stage.norm.bias[None, :, None, None]
    torch.testing.assert_close(stage(x), (y - mean) / torch.sqrt(var + 1e-6) * w + b)
    off = make(False).eval()
    assert isinstance(off.norm, nn.Identity) and not any(k.startswith("norm.") for k in off.state_dict())


def test_drop_path_rate_and_scale():
    drop = DropPath(0.3).train()
    x = torch.ones(20000, 4)
    y = drop(x)
    dropped = (y == 0).all(1).float().mean().item()
    assert abs(dropped - 0.3) < 0.02
    kept = y[(y != 0).any(1)]
    torch.testing.assert_close(kept, torch.full_like(kept, 1 / 0.7))
    assert drop.eval()(x) is x


def test_stage_schedule_and_off_is_exactly_the_plain_block():
    stage = SMTStage(32, 32, 4, drop_path=0.2)
    rates = [getattr(b.drop_path, "rate", 0.0) for b in stage.m]
    assert rates == pytest.approx([0.05, 0.1, 0.15, 0.2])
    cmt = CMTBlock(32, 32, 3, drop_path=0.3)
    assert [m.drop_path.rate for m in cmt.m] == pytest.approx([0.1, 0.2, 0.3])
    block = SAMBlock(32, 32, 1, drop_path=0.0).m[0].train()  # off: the paper's block, no randomness
    x = torch.randn(2, 32, 5, 6)
    h = x + block.mixer(block.norm1(x))
    torch.testing.assert_close(block(x), h + block.ffn(block.norm2(h)))
    assert isinstance(block.drop_path, nn.Identity)
