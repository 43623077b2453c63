"""BoTNet numerics against slow references written from the paper's formula (literal loops over positions)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tests.nn.reference import FUSED_CPU_ATTENTION, bn_eval, has_fused_cpu_attention, randomize_, sdpa_kernels
from yolo_hybrid.errors import ConfigError
from yolo_hybrid.nn.bot import BoT3, BoTStage, BottleneckTransformer, C2fBoT, RelPosMHSA2d

torch.manual_seed(0)


def reference_mhsa(attn: RelPosMHSA2d, x: torch.Tensor) -> torch.Tensor:
    """logit(i, j) = (q_i.k_j + q_i.r_w[clip(x_k - x_q)] + q_i.r_h[clip(y_k - y_q)]) / sqrt(d), one pair at a time.

    Channel convention: the 1x1 conv's outputs are [q | k | v], each split into heads of d contiguous channels.
    """
    batch, channels, height, width = x.shape
    heads, d = attn.heads, attn.dim_head
    p_h, p_w = attn.max_size
    weight = attn.qkv.weight[:, :, 0, 0]
    out = torch.zeros_like(x)
    for b in range(batch):
        feats = x[b].reshape(channels, height * width)  # token t = y * W + x
        qkv = weight @ feats
        for h in range(heads):
            rows = slice(h * d, (h + 1) * d)
            q = qkv[:channels][rows]
            k = qkv[channels : 2 * channels][rows]
            v = qkv[2 * channels :][rows]
            for i in range(height * width):
                y_q, x_q = divmod(i, width)
                logits = []
                for j in range(height * width):
                    y_k, x_k = divmod(j, width)
                    dx = min(max(x_k - x_q, -(p_w - 1)), p_w - 1)
                    dy = min(max(y_k - y_q, -(p_h - 1)), p_h - 1)
                    content = torch.dot(q[:, i], k[:, j])
                    position = torch.dot(q[:, i], attn.rel_w[dx + p_w - 1]) + torch.dot(
                        q[:, i], attn.rel_h[dy + p_h - 1]
                    )
                    logits.append((content + position) / math.sqrt(d))
                weights = torch.softmax(torch.stack(logits), 0)
                out[b, rows, y_q, x_q] = sum(weights[j] * v[:, j] for j in range(height * width))
    return out


def conv_bn(x, conv, act=True):
    """Ultralytics Conv (conv -> BN -> SiLU) written out."""
    y = bn_eval(F.conv2d(x, conv.conv.weight, None, conv.conv.stride, conv.conv.padding), conv.bn)
    return y * torch.sigmoid(y) if act else y


@pytest.mark.parametrize("use_sdpa", [True, False])
@pytest.mark.parametrize("size", [(5, 7), (4, 4), (1, 6), (1, 1)])
def test_mhsa_matches_literal_loop(use_sdpa, size):
    attn = RelPosMHSA2d(16, heads=4, max_size=8).double()
    attn.use_sdpa = use_sdpa
    x = torch.randn(2, 16, *size, dtype=torch.float64)
    torch.testing.assert_close(attn(x), reference_mhsa(attn, x), rtol=1e-9, atol=1e-9)


@pytest.mark.skipif(not has_fused_cpu_attention, reason="this torch has no fused CPU attention kernel")
def test_mhsa_runs_the_fused_kernel_with_its_position_logits():
    """In inference q, k, v reach SDPA with a unit stride in d, so the position logits go in as its mask and the fused
    kernel runs (PyTorch's math fallback would also build and softmax the content logits). Training keeps the math
    path: the mask needs a gradient, which the fused CPU kernel does not give."""
    m = randomize_(RelPosMHSA2d(32, heads=4)).eval()
    with torch.no_grad():
        kernels = sdpa_kernels(lambda: m(torch.randn(2, 32, 6, 5)))
    assert FUSED_CPU_ATTENTION in kernels and not any("math" in k for k in kernels), kernels
    x64 = torch.randn(2, 32, 6, 5, dtype=torch.float64)
    torch.testing.assert_close(m.double()(x64), reference_mhsa(m, x64))


def test_offsets_beyond_max_extent_are_clipped():
    attn = RelPosMHSA2d(8, heads=2, max_size=(2, 3)).double()
    x = torch.randn(1, 8, 5, 7, dtype=torch.float64)
    torch.testing.assert_close(attn(x), reference_mhsa(attn, x), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("size", [(5, 7), (3, 3), (1, 4)])
def test_large_table_equals_table_built_for_exact_size(size):
    """A map smaller than the table gives exactly what a module built for that size gives with the centred slice."""
    big = RelPosMHSA2d(16, heads=4, max_size=16).double()
    exact = RelPosMHSA2d(16, heads=4, max_size=size).double()
    h, w = size
    with torch.no_grad():
        exact.qkv.weight.copy_(big.qkv.weight)
        exact.rel_h.copy_(big.rel_h[16 - h : 16 + h - 1])
        exact.rel_w.copy_(big.rel_w[16 - w : 16 + w - 1])
    assert exact.rel_h.shape[0] == 2 * h - 1 and exact.rel_w.shape[0] == 2 * w - 1
    x = torch.randn(2, 16, h, w, dtype=torch.float64)
    torch.testing.assert_close(big(x), exact(x), rtol=0, atol=1e-12)


def test_position_logits_matter():
    """Zeroing the tables changes the output: the position term is really used (not a dead argument)."""
    attn = RelPosMHSA2d(8, heads=2, max_size=4).double()
    x = torch.randn(1, 8, 3, 4, dtype=torch.float64)
    before = attn(x)
    with torch.no_grad():
        attn.rel_h.zero_()
        attn.rel_w.zero_()
    assert (before - attn(x)).abs().max() > 1e-3


def reference_block(block: BottleneckTransformer, x: torch.Tensor, stride: int) -> torch.Tensor:
    """Paper order: 1x1 conv-BN-act -> MHSA -> (2x2 avg-pool) -> BN -> act -> 1x1 conv-BN -> + shortcut -> act."""
    y = reference_mhsa(block.attn, conv_bn(x, block.cv1))
    if stride == 2:
        y = F.avg_pool2d(y, 2, 2, ceil_mode=True)
    y = bn_eval(y, block.bn)
    y = conv_bn(y * torch.sigmoid(y), block.cv2, act=False)
    shortcut = x if isinstance(block.shortcut, torch.nn.Identity) else conv_bn(x, block.shortcut, act=False)
    out = y + shortcut
    return out * torch.sigmoid(out)


@pytest.mark.parametrize("c1,c2,stride,size", [(16, 16, 1, (4, 5)), (8, 16, 2, (5, 7)), (16, 16, 2, (4, 6))])
def test_bottleneck_transformer_matches_paper_order(c1, c2, stride, size):
    block = randomize_(BottleneckTransformer(c1, c2, s=stride, heads=2, e=0.5, max_size=8)).double()
    x = torch.randn(1, c1, *size, dtype=torch.float64)
    out = block(x)
    assert out.shape[-2:] == tuple(math.ceil(s / stride) for s in size)
    torch.testing.assert_close(out, reference_block(block, x, stride), rtol=1e-9, atol=1e-9)


def test_block_starts_as_its_shortcut():
    """Zero-initialised last BN gamma (paper, lucidrains, timm): a fresh block in eval mode returns act(shortcut(x))."""
    block = BottleneckTransformer(16, 16, heads=4, e=1.0).eval()
    x = torch.randn(1, 16, 6, 6)
    torch.testing.assert_close(block(x), F.silu(x + block.cv2.bn.bias.view(1, -1, 1, 1)))
    assert torch.count_nonzero(block.cv2.bn.weight) == 0


@pytest.mark.parametrize("cls,args", [(BoT3, (32, 32, 2)), (C2fBoT, (32, 64, 2)), (BoTStage, (32, 64, 2, 2))])
@pytest.mark.parametrize("size", [(1, 1), (3, 8), (9, 4)])
def test_blocks_run_on_any_size_and_backprop(cls, args, size):
    module = cls(*args)
    x = torch.randn(2, args[0], *size, requires_grad=True)
    out = module(x)
    stride = args[3] if cls is BoTStage else 1
    assert out.shape == (2, args[1], math.ceil(size[0] / stride), math.ceil(size[1] / stride))
    out.square().mean().backward()
    assert torch.isfinite(x.grad).all()
    assert all(p.grad is not None for p in module.parameters() if p.requires_grad)


def test_trace_keeps_height_and_width_dynamic():
    module = BoT3(32, 32, 1).eval()
    traced = torch.jit.trace(module, torch.randn(1, 32, 8, 8))
    x = torch.randn(2, 32, 5, 11)
    torch.testing.assert_close(traced(x), module(x))


def test_community_signature_and_size_hint():
    """(c1, c2, n, e, e2, w, h) of the YOLO community BoT3: w, h only enlarge the table; any size still runs."""
    module = BoT3(64, 64, 1, 0.5, 1, 20, 30)
    attn = module.m[0].attn
    assert attn.max_size == (64, 64)
    module = BoT3(64, 64, 1, 0.5, 1, 80, 100)
    assert module.m[0].attn.max_size == (100, 80)
    assert module(torch.randn(1, 64, 7, 5)).shape == (1, 64, 7, 5)


@pytest.mark.parametrize(
    "build,needle",
    [
        (lambda: RelPosMHSA2d(30, heads=4), "not divisible by heads=4"),
        (lambda: BoT3(64, 64, 1, True), "e=True"),
        (lambda: BoT3(64, 64, 1, 0.5, 1.0, 20, 20, 3), "heads=3"),
        (lambda: BottleneckTransformer(16, 16, s=3), "s=3"),
        (lambda: C2fBoT(16, 16, 1, 0.5), "shortcut=0.5"),
        (lambda: BoT3(64, 64, 1, 0.5, 1.0, 0, 20), "w=0"),
        (lambda: RelPosMHSA2d(16, heads=4, max_size=(1, 2, 3)), "max_size"),
    ],
)
def test_bad_arguments_fail_clearly(build, needle):
    with pytest.raises(ConfigError, match="Fix|must be") as info:
        build()
    assert needle in str(info.value)


def test_autocast_bfloat16_on_cpu():
    module = BoT3(32, 32, 1).eval()
    x = torch.randn(1, 32, 6, 9)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = module(x)
    assert torch.isfinite(out.float()).all()
    torch.testing.assert_close(out.float(), module(x), rtol=0.1, atol=0.1)


def test_fuse_keeps_outputs_and_is_idempotent():
    import yolo_hybrid
    from yolo_hybrid.integration.summary import build_model

    model = randomize_(build_model(yolo_hybrid.config_path("yolov8-bot3.yaml"), "n"))
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        before = model(x)[0]
        model.fuse()
        after = model(x)[0]
        model.fuse()
        again = model(x)[0]
    torch.testing.assert_close(after, before, rtol=1e-3, atol=1e-3)
    torch.testing.assert_close(again, after)
    assert not any(hasattr(m, "bn") for m in model.model[8].modules() if type(m).__name__ == "Conv")
