"""CMT numerics: LPU residual, IRFFN op order, relative-bias exactness at the base size, other sizes."""

from __future__ import annotations

import copy
import math
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.nn.reference import heads_by_layer, randomize_
from yolo_hybrid.errors import ConfigError
from yolo_hybrid.nn.cmt import IRFFN, CMTBlock, CMTLayer, LightweightMHSA


def official_table(attn: LightweightMHSA, height: int, width: int) -> torch.Tensor:
    """The official full (heads, N, N/sr^2) bias table holding the values our offsets select, built by loops."""
    sr, p = attn.sr, attn.max_size
    kh, kw = height // sr, width // sr
    span = 2 * p - 1
    table = torch.empty(attn.heads, height * width, kh * kw, dtype=attn.rel_bias.dtype)
    for yq in range(height):
        for xq in range(width):
            for yk in range(kh):
                for xk in range(kw):
                    dy, dx = yk * sr - yq, xk * sr - xq
                    table[:, yq * width + xq, yk * kw + xk] = attn.rel_bias[:, (dy + p - 1) * span + (dx + p - 1)]
    return table


def official_attention(attn: LightweightMHSA, x: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """The official Attention.forward on tokens, with its own (full) relative_pos table; H, W divisible by sr."""
    b, c, h, w = x.shape
    tokens = x.flatten(2).transpose(1, 2)  # (B, N, C)

    def linear(t, conv):
        return t @ conv.weight[:, :, 0, 0].T + conv.bias

    heads = attn.heads
    q = linear(tokens, attn.q).reshape(b, h * w, heads, -1).permute(0, 2, 1, 3)
    if attn.sr > 1:
        conv, bn = attn.reduce[1], attn.reduce[2]
        reduced = F.conv2d(x, conv.weight, conv.bias, stride=attn.sr, groups=c)
        reduced = F.batch_norm(reduced, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)
        kv_tokens = reduced.flatten(2).transpose(1, 2)
    else:
        kv_tokens = tokens
    k = linear(kv_tokens, attn.k).reshape(b, -1, heads, q.shape[-1]).permute(0, 2, 1, 3)
    v = linear(kv_tokens, attn.v).reshape(b, -1, heads, c // heads).permute(0, 2, 1, 3)
    logits = (q @ k.transpose(-2, -1)) * (c // heads) ** -0.5 + table
    out = (logits.softmax(-1) @ v).transpose(1, 2).reshape(b, h * w, c)
    return linear(out, attn.proj).transpose(1, 2).reshape(b, c, h, w)


@pytest.mark.parametrize("sr,size", [(1, (4, 5)), (2, (6, 4)), (4, (8, 8))])
def test_bias_is_exact_where_the_official_table_applies(sr, size):
    attn = randomize_(LightweightMHSA(16, heads=2, sr=sr, max_size=16)).double()
    x = torch.randn(2, 16, *size, dtype=torch.float64)
    table = official_table(attn, *size)
    kh, kw = size[0] // sr, size[1] // sr
    x_major = table.reshape(attn.heads, -1, kh, kw).transpose(-1, -2).reshape(table.shape)  # our keys: (Wk, Hk)
    torch.testing.assert_close(attn.relative_bias(size[0], size[1], kh, kw), x_major)
    torch.testing.assert_close(attn(x), official_attention(attn, x, table))


def test_bias_is_translation_equivariant_and_used():
    attn = LightweightMHSA(8, heads=2, sr=1, max_size=8).double()
    bias = attn.relative_bias(3, 3, 3, 3)
    # query (0,0)->key (1,1) and query (1,1)->key (2,2) share an offset, so they share a bias
    torch.testing.assert_close(bias[:, 0 * 3 + 0, 1 * 3 + 1], bias[:, 1 * 3 + 1, 2 * 3 + 2])
    # query (0,0)->key (y 0, x 1) and query (1,0)->key (y 1, x 1): keys x-major, index x * Hk + y
    torch.testing.assert_close(bias[:, 0, 1 * 3 + 0], bias[:, 1 * 3 + 0, 1 * 3 + 1])
    x = torch.randn(1, 8, 3, 3, dtype=torch.float64)
    before = attn(x)
    with torch.no_grad():
        attn.rel_bias.zero_()
    assert (attn(x) - before).abs().max() > 1e-3


@pytest.mark.parametrize("size", [(1, 1), (3, 7), (9, 5), (5, 2)])
def test_other_and_non_square_sizes(size):
    block = CMTBlock(32, 32, 2, heads=2, sr=4)
    x = torch.randn(2, 32, *size, requires_grad=True)
    out = block(x)
    assert out.shape == x.shape
    out.square().mean().backward()
    assert torch.isfinite(x.grad).all()
    assert block.m[0].attn.reduce(torch.randn(1, 32, *size)).shape[-2:] == tuple(math.ceil(s / 4) for s in size)


def test_lpu_is_a_residual_depthwise_conv():
    """With attention and FFN outputs zeroed, a CMT layer is x + dwconv3x3(x)."""
    layer = CMTLayer(8, heads=1, sr=1).double().eval()
    with torch.no_grad():
        layer.attn.proj.weight.zero_()
        layer.attn.proj.bias.zero_()
        layer.ffn.bn3.weight.zero_()
        layer.ffn.bn3.bias.zero_()
    x = torch.randn(1, 8, 5, 6, dtype=torch.float64)
    expected = x + F.conv2d(x, layer.lpu.weight, layer.lpu.bias, padding=1, groups=8)
    torch.testing.assert_close(layer(x), expected)


def test_irffn_op_order():
    """conv1x1 -> GELU -> BN; (+ dwconv3x3 residual) -> GELU -> BN; conv1x1 -> BN."""
    ffn = randomize_(IRFFN(8, mlp_ratio=2.0)).double()
    x = torch.randn(2, 8, 4, 5, dtype=torch.float64)

    def bn(t, m):
        return F.batch_norm(t, m.running_mean, m.running_var, m.weight, m.bias, False, 0.0, m.eps)

    h = bn(F.gelu(F.conv2d(x, ffn.conv1.weight, ffn.conv1.bias)), ffn.bn1)
    h = bn(F.gelu(h + F.conv2d(h, ffn.dwconv.weight, ffn.dwconv.bias, padding=1, groups=16)), ffn.bn2)
    expected = bn(F.conv2d(h, ffn.conv2.weight, ffn.conv2.bias), ffn.bn3)
    torch.testing.assert_close(ffn(x), expected)
    swapped = bn(F.conv2d(x, ffn.conv1.weight, ffn.conv1.bias), ffn.bn1)  # conv -> BN (no act) is a different block
    assert not torch.allclose(F.gelu(swapped), bn(F.gelu(F.conv2d(x, ffn.conv1.weight, ffn.conv1.bias)), ffn.bn1))


def test_trace_keeps_sizes_dynamic():
    block = CMTBlock(32, 32, 1, heads=2, sr=2).eval()
    traced = torch.jit.trace(block, torch.randn(1, 32, 8, 8))
    x = torch.randn(2, 32, 5, 11)
    torch.testing.assert_close(traced(x), block(x))


@pytest.mark.parametrize(
    "build,needle",
    [
        (lambda: CMTBlock(30, 30, 1, 4), "heads=4 (YAML args[1]) must divide c2 = 30"),
        (lambda: CMTBlock(32, 32, 1, 2, 0), "sr=0"),
        (lambda: CMTBlock(32, 32, 1, 4, 1, 4.0, 3), "qk_ratio"),
        (lambda: CMTBlock(32, 32, 1, 2, 1, 0.01), "mlp_ratio=0.01 (YAML args[3]) leaves int(c2 * mlp_ratio) = 0"),
        (lambda: CMTBlock(200, 200, 1, "d64"), "heads='d64' (YAML args[1]) gives 3 heads here, which must divide c2"),
        (lambda: CMTBlock(64, 64, 1, "d0"), "heads='d0' (YAML args[1]) must be an integer >= 1, or \"d<N>\""),
        (lambda: CMTBlock(64, 64, 1, "64"), "heads='64' (YAML args[1]) must be an integer >= 1, or \"d<N>\""),
        (lambda: LightweightMHSA(64, heads="x64"), "LightweightMHSA: heads='x64' must be an integer >= 1, or"),
    ],
)
def test_bad_arguments_fail_clearly(build, needle):
    with pytest.raises(ConfigError, match="Fix") as info:
        build()
    assert needle in str(info.value)


@pytest.mark.parametrize(
    "dim,heads,count",
    [(64, "d32", 2), (64, "d64", 1), (16, "d64", 1), (96, "d32", 3), (96, "d32<=2", 2), (64, "d16<=8", 4)],
)
def test_heads_per_channels_give_that_count_and_the_official_attention(dim, heads, count):
    attn = randomize_(LightweightMHSA(dim, heads=heads, sr=2, max_size=8)).double().eval()
    assert attn.heads == count and attn.rel_bias.shape[0] == count
    x = torch.randn(2, dim, 4, 6, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(attn(x), official_attention(attn, x, official_table(attn, 4, 6)))


@pytest.mark.parametrize("cfg", ["yolo26-cmt.yaml", "yolo11-cmt.yaml"])
@pytest.mark.parametrize("scale,heads", [("n", {4: 1, 6: 1, 8: 1, 10: 2}), ("s", {4: 1, 6: 1, 8: 2, 10: 4})])
def test_yolo11_and_yolo26_cmt_keep_64_channels_per_head_across_scales(cfg, scale, heads):
    """C3k2CMT widths at P3, P4, P5 and C2CMT's: 32, 32, 64, 128 channels at scale n and twice that at s."""
    assert heads_by_layer(cfg, scale, LightweightMHSA) == {layer: {count} for layer, count in heads.items()}


@pytest.mark.parametrize(
    "scale,heads", [("n", {4: 1, 6: 2, 8: 4}), ("s", {4: 2, 6: 4, 8: 8}), ("m", {4: 2, 6: 4, 8: 8})]
)
def test_yolov8_cmt_keeps_cmt_heads_where_64_channels_per_head_fit_and_fewer_below(scale, heads):
    """CMTBlock widths at P3, P4, P5: 64, 128, 256 at scale n, 128, 256, 512 at s, 192, 384, 576 at m; rows d64<=2,
    d64<=4, d64<=8."""
    expected = {layer: {count} for layer, count in heads.items()}
    assert heads_by_layer("yolov8-cmt.yaml", scale, LightweightMHSA) == expected


def test_eager_attention_paths_equal_the_official_attention_and_its_gradients(monkeypatch):
    """CPU inference takes the fused kernel, training the whole map of plain ops; both equal the official attention."""
    attn = randomize_(LightweightMHSA(16, heads=2, sr=2, max_size=8)).double().eval()
    size = (6, 8)  # 48 queries, 12 keys
    fused_calls = []
    sdpa = F.scaled_dot_product_attention
    monkeypatch.setattr(F, "scaled_dot_product_attention", lambda *a, **kw: fused_calls.append(1) or sdpa(*a, **kw))
    x = torch.randn(2, 16, *size, dtype=torch.float64)
    table = official_table(attn, *size)
    with torch.no_grad():
        torch.testing.assert_close(attn(x), official_attention(attn, x, table))
    assert fused_calls == [1]

    x.requires_grad_(True)
    reference_x = x.detach().clone().requires_grad_(True)
    out, expected = attn(x), official_attention(attn, reference_x, table)
    assert fused_calls == [1]  # the fused kernel does not give the bias its gradient
    torch.testing.assert_close(out, expected)
    grad = torch.randn_like(out)
    out.backward(grad)
    expected.backward(grad)
    torch.testing.assert_close(x.grad, reference_x.grad)


def test_eval_bias_is_cached_per_size_and_follows_table_updates():
    attn = randomize_(LightweightMHSA(8, heads=2, sr=2, max_size=8)).eval()
    x = torch.randn(1, 8, 6, 4)
    with torch.no_grad():
        first = attn(x)
        cached = attn._bias_cache[1]
        assert attn(x).equal(first) and attn._bias_cache[1] is cached  # reused, not rebuilt
        attn.rel_bias.mul_(2.0)  # an EMA / optimizer update is in place: the version moves
        updated = attn(x)
        assert attn._bias_cache[1] is not cached
        torch.testing.assert_close(attn._bias_cache[1], attn.relative_bias(6, 4, 3, 2))
        attn(torch.randn(1, 8, 4, 6))
        assert attn._bias_cache[0][:4] == (4, 6, 2, 3)  # one size at a time
    torch.testing.assert_close(attn(x), updated)  # with gradients on, the bias is gathered anew: same values
    copied = copy.deepcopy(attn)
    assert "_bias_cache" not in copied.__dict__ and "_bias_cache" not in pickle.loads(pickle.dumps(attn)).__dict__


def test_parameters_made_under_inference_mode_are_not_cached():
    """Ultralytics 8.1 exports after a dry run in inference_mode: inference tensors have no version counter."""
    with torch.inference_mode():
        attn = LightweightMHSA(8, heads=2, sr=2, max_size=8).eval()
        x = torch.randn(1, 8, 6, 4)
        out = attn(x)
    assert attn.rel_bias.is_inference() and "_bias_cache" not in attn.__dict__
    with torch.no_grad():
        torch.testing.assert_close(out, attn(x))


def test_static_onnx_export_computes_the_bias_at_run_time(tmp_path):
    """At a static size no exporter may fold the gathered (heads, N, N_k) bias into the file (82 MB at 640 px)."""
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    block = randomize_(CMTBlock(16, 16, 1, heads=2, sr=1, max_size=16)).eval()
    x = torch.randn(1, 16, 12, 10)
    path = tmp_path / "cmt.onnx"
    torch.onnx.export(
        block, (x,), str(path), input_names=["input"], opset_version=17, do_constant_folding=True, dynamo=False
    )
    slimmed = pytest.importorskip("onnxslim").slim(onnx.load(str(path)))  # Ultralytics' simplifier, which folds
    onnx.save(slimmed, str(path))
    largest = max(np.prod(t.dims) for t in slimmed.graph.initializer)
    assert largest < 120 * 120, largest  # the table (2, 31 * 31) stays; no folded (N, N_k) index or bias
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x.numpy()})[0]
    np.testing.assert_allclose(got, block(x).detach().numpy(), atol=1e-4, rtol=1e-4)


def test_half_precision_attention_does_not_overflow():
    """Logits beyond fp16's 65504 (large activations late in AMP training) stay finite: computed in float32."""
    g = torch.Generator().manual_seed(0)
    q = torch.rand(1, 2, 6, 32, generator=g) * 100  # q . k about 32 * 50 * 50 = 80000 > 65504
    k = torch.rand(1, 2, 32, 4, generator=g) * 100
    v, bias = torch.randn(1, 2, 4, 8, generator=g), torch.randn(2, 6, 4, generator=g)
    expected = torch.matmul((torch.matmul(q.double(), k.double()) + bias.double()).softmax(-1), v.double())
    assert not torch.isfinite(torch.matmul(q.half(), k.half())).all()  # what a plain fp16 matmul gives
    out = LightweightMHSA.attend(q.half(), k.half(), v.half(), bias.half())
    assert out.dtype == torch.float16
    torch.testing.assert_close(out.double(), expected, atol=2e-2, rtol=2e-2)


def test_traced_bias_gathers_index_only_the_leading_axis():
    """X2Paddle (Paddle export) cannot convert ``aten::index`` with a slice before the index (``table[:, idx]``)."""
    attn = LightweightMHSA(16, heads=2, sr=2).eval()
    traced = torch.jit.trace(attn, torch.randn(1, 16, 6, 5))
    index_lists = [
        [str(i.type()) for i in list(node.inputs())[1].node().inputs()]
        for node in traced.inlined_graph.nodes()
        if node.kind() == "aten::index"
    ]
    assert index_lists and all(kinds == ["Tensor"] for kinds in index_lists), index_lists
