"""SMT numerics against slow references built from explicit per-head / per-channel convolutions and loops."""

from __future__ import annotations

import copy
import io
import math

import pytest
import torch
import torch.nn.functional as F

from tests.nn.reference import (
    FUSED_CPU_ATTENTION,
    bn_eval,
    has_fused_cpu_attention,
    heads_by_layer,
    randomize_,
    sdpa_kernels,
)
from yolo_hybrid.errors import ConfigError
from yolo_hybrid.nn.norm import LayerNorm2d
from yolo_hybrid.nn.smt import (
    C2fSAM,
    MSABlock,
    SAMBlock,
    ScaleAwareModulation,
    SMTAttention,
    SMTBlock,
    SMTStage,
)


def reference_sam(m: ScaleAwareModulation, x: torch.Tensor) -> torch.Tensor:
    """SAM written out: per-head, per-channel depthwise convs; shuffle by index; SAA as per-group dense convs."""
    b, c, h, w = x.shape
    heads, g = m.heads, c // m.heads
    v = F.conv2d(x, m.v.weight, m.v.bias)
    s = F.conv2d(x, m.s.weight, m.s.bias)
    shuffled = torch.empty_like(s)
    for i in range(heads):
        conv = m.local_convs[i]
        assert conv.kernel_size == (3 + 2 * i, 3 + 2 * i)
        for j in range(g):
            channel = s[:, i * g + j : i * g + j + 1]
            out = F.conv2d(channel, conv.weight[j : j + 1], conv.bias[j : j + 1], padding=1 + i)
            shuffled[:, j * heads + i] = out[:, 0]
    expanded = m.proj0.out_channels
    per_group = expanded // g
    hidden = torch.empty(b, expanded, h, w, dtype=x.dtype)
    for j in range(g):  # group j sees channels j*heads .. j*heads + heads - 1: one channel of every scale
        rows = slice(j * per_group, (j + 1) * per_group)
        hidden[:, rows] = F.conv2d(shuffled[:, j * heads : (j + 1) * heads], m.proj0.weight[rows], m.proj0.bias[rows])
    modulator = F.conv2d(F.gelu(bn_eval(hidden, m.bn)), m.proj1.weight, m.proj1.bias)
    return F.conv2d(modulator * v, m.proj.weight, m.proj.bias)


def reference_msa(m: SMTAttention, x: torch.Tensor) -> torch.Tensor:
    """softmax(q_i.k_j / sqrt(d)) over j, one query at a time, plus a per-channel 3x3 conv of v."""
    b, c, h, w = x.shape
    q = F.conv2d(x, m.q.weight, m.q.bias).reshape(b, c, h * w)
    kv = F.conv2d(x, m.kv.weight, m.kv.bias)
    k, v = kv[:, :c].reshape(b, c, h * w), kv[:, c:]
    d = c // m.heads
    out = torch.empty(b, c, h * w, dtype=x.dtype)
    for bi in range(b):
        for head in range(m.heads):
            rows = slice(head * d, (head + 1) * d)
            for i in range(h * w):
                logits = torch.stack([torch.dot(q[bi, rows, i], k[bi, rows, j]) for j in range(h * w)]) / math.sqrt(d)
                a = torch.softmax(logits, 0)
                out[bi, rows, i] = (v[bi, rows].reshape(d, h * w) * a).sum(1)
    local = torch.cat(
        [
            F.conv2d(v[:, ch : ch + 1], m.local_conv.weight[ch : ch + 1], m.local_conv.bias[ch : ch + 1], padding=1)
            for ch in range(c)
        ],
        1,
    )
    return F.conv2d(out.reshape(b, c, h, w) + local, m.proj.weight, m.proj.bias)


def test_shuffle_puts_one_channel_of_every_head_in_each_run():
    m = ScaleAwareModulation(16, heads=4).double()
    with torch.no_grad():
        for i, conv in enumerate(m.local_convs):  # identity kernels: MHMC becomes a pure permutation
            conv.weight.zero_()
            conv.weight[:, 0, 1 + i, 1 + i] = 1.0
            conv.bias.zero_()
    g = 4
    for c in range(16):
        s = torch.zeros(1, 16, 3, 3, dtype=torch.float64)
        s[0, c] = 1.0
        out = m.multi_scale(s)
        i, j = divmod(c, g)  # head i = contiguous block, channel j inside it
        hot = [ch for ch in range(16) if out[0, ch].abs().sum() > 0]
        assert hot == [j * 4 + i], (c, hot)


@pytest.mark.parametrize("head", [0, 1, 2, 3])
def test_head_kernel_support(head):
    m = ScaleAwareModulation(8, heads=4).double()
    with torch.no_grad():
        for conv in m.local_convs:
            conv.bias.zero_()
            conv.weight.copy_(torch.rand_like(conv.weight) + 0.1)  # strictly positive: no accidental zeros
    s = torch.zeros(1, 8, 21, 21, dtype=torch.float64)
    s[0, head * 2, 10, 10] = 1.0  # impulse in channel 0 of this head
    response = m.multi_scale(s)[0, 0 * 4 + head]
    support = (response != 0).nonzero()
    size = 3 + 2 * head
    assert len(support) == size * size
    assert support[:, 0].min() == 10 - size // 2 and support[:, 0].max() == 10 + size // 2


def test_saa_grouping():
    """Perturbing channel j of any head changes only SAA group j's outputs (before the dense projection)."""
    m = ScaleAwareModulation(16, heads=4).double().eval()
    s = torch.randn(1, 16, 5, 5, dtype=torch.float64)
    base = m.proj0(m.multi_scale(s))
    per_group = m.proj0.out_channels // 4
    for head in range(4):
        for j in range(4):
            bumped = s.clone()
            bumped[0, head * 4 + j] += 1.0
            diff = (m.proj0(m.multi_scale(bumped)) - base).abs().amax((0, 2, 3))
            changed = (diff > 0).nonzero().flatten().tolist()
            assert changed and set(changed) <= set(range(j * per_group, (j + 1) * per_group)), (head, j, changed)


@pytest.mark.parametrize("heads,size", [(4, (6, 5)), (2, (1, 1)), (3, (4, 9))])
def test_sam_matches_slow_reference(heads, size):
    m = randomize_(ScaleAwareModulation(heads * 4, heads=heads)).double()
    x = torch.randn(2, heads * 4, *size, dtype=torch.float64)
    torch.testing.assert_close(m(x), reference_sam(m, x))


@pytest.mark.parametrize("heads,size", [(4, (8, 8)), (3, (4, 9))])
def test_sam_onnx_export_matches_slow_reference_without_a_shuffle(heads, size):
    """Under ONNX export the shuffle is folded into proj0 (a sum over heads): no Reshape/Transpose reaches onnx2tf,
    which misplaces the shuffled map when its side equals the channels per head (here 8 x 8 with 8 per head)."""
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    m = randomize_(ScaleAwareModulation(heads * 8, heads=heads))
    x = torch.randn(1, heads * 8, *size)
    buffer = io.BytesIO()
    torch.onnx.export(m, (x,), buffer, opset_version=18, dynamo=False)
    ops = {n.op_type for n in onnx.load_from_string(buffer.getvalue()).graph.node}
    assert not ops & {"Reshape", "Transpose"}, ops
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    out = torch.from_numpy(session.run(None, {session.get_inputs()[0].name: x.numpy()})[0])
    with torch.no_grad():
        torch.testing.assert_close(out.double(), reference_sam(m.double(), x.double()), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("use_sdpa", [True, False])
@pytest.mark.parametrize("size", [(3, 4), (1, 1)])
def test_msa_matches_attention_loop(use_sdpa, size):
    m = SMTAttention(16, heads=4).double()
    m.use_sdpa = use_sdpa
    x = torch.randn(2, 16, *size, dtype=torch.float64)
    torch.testing.assert_close(m(x), reference_msa(m, x))


@pytest.mark.parametrize(
    "dim,heads,count", [(64, "d32", 2), (16, "d32", 1), (48, "d16", 3), (128, "d32<=2", 2), (64, "d32<=8", 2)]
)
def test_msa_heads_per_channels_give_that_count_and_the_attention_loop(dim, heads, count):
    m = SMTAttention(dim, heads=heads).double()
    assert m.heads == count
    x = torch.randn(2, dim, 3, 4, dtype=torch.float64)
    torch.testing.assert_close(m(x), reference_msa(m, x))


@pytest.mark.skipif(not has_fused_cpu_attention, reason="this torch has no fused CPU attention kernel")
def test_msa_runs_the_fused_kernel_not_the_materialised_logits():
    """q, k, v reach SDPA with a unit stride in d: otherwise PyTorch silently runs its math path, which builds the
    (N, N) logits and took 3-6x as long on the CPU (yolov8n-smt's P4 attention at 640 px)."""
    m = randomize_(SMTAttention(32, heads=4))
    x = torch.randn(2, 32, 6, 5, requires_grad=True)
    for run in (lambda: m(x).sum().backward(), lambda: m.eval()(x.detach())):
        kernels = sdpa_kernels(run)
        assert FUSED_CPU_ATTENTION in kernels, kernels
        assert not any("math" in k for k in kernels), kernels
    x64 = torch.randn(2, 32, 6, 5, dtype=torch.float64)
    torch.testing.assert_close(m.double()(x64), reference_msa(m, x64))


def test_block_is_prenorm_with_residuals():
    block = SMTBlock(8, ScaleAwareModulation(8, 4), mlp_ratio=2.0).double().eval()
    x = torch.randn(1, 8, 4, 4, dtype=torch.float64)

    def ln(t, norm):
        mu = t.mean(1, keepdim=True)
        var = t.var(1, keepdim=True, unbiased=False)
        return (t - mu) / torch.sqrt(var + 1e-6) * norm.weight.view(1, -1, 1, 1) + norm.bias.view(1, -1, 1, 1)

    y = x + block.mixer(ln(x, block.norm1))
    h = block.ffn.fc1(ln(y, block.norm2))
    expected = y + block.ffn.fc2(F.gelu(h + block.ffn.dwconv(h)))
    torch.testing.assert_close(block(x), expected)
    assert block.norm1.eps == 1e-6 and isinstance(block.norm1, LayerNorm2d)


def test_stage_alternates_sam_and_msa():
    stage = SMTStage(32, 32, n=4)
    assert [type(b.mixer).__name__ for b in stage.m] == ["ScaleAwareModulation", "SMTAttention"] * 2


@pytest.mark.parametrize(
    "cls,args", [(SAMBlock, (32, 32, 2)), (MSABlock, (32, 32, 1)), (SMTStage, (16, 32, 2)), (C2fSAM, (32, 64, 2))]
)
def test_deepcopy_after_forward_with_grad(cls, args):
    """Ultralytics deep-copies the model for EMA after a build-time forward: nothing may be cached on modules."""
    module = cls(*args).train()
    x = torch.randn(2, args[0], 5, 7, requires_grad=True)
    out = module(x)
    out.mean().backward()
    clone = copy.deepcopy(module)
    assert out.shape == (2, args[1], 5, 7)
    clone.eval()
    module.eval()
    torch.testing.assert_close(clone(x.detach()), module(x.detach()))


def test_autocast_and_trace():
    module = SMTStage(32, 32, 2).eval()
    x = torch.randn(1, 32, 6, 9)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = module(x)
    torch.testing.assert_close(out.float(), module(x), rtol=0.1, atol=0.15)
    traced = torch.jit.trace(module, torch.randn(1, 32, 8, 8))
    y = torch.randn(2, 32, 5, 11)
    torch.testing.assert_close(traced(y), module(y))


@pytest.mark.parametrize(
    "build,needle",
    [
        (lambda: SAMBlock(30, 30, 1, 4), "heads=4 (YAML args[1]) must divide c2 = 30"),
        (lambda: MSABlock(64, 64, 1, 12), "heads=12 (YAML args[1]) must divide c2 = 64"),
        (lambda: C2fSAM(64, 64, 1, True), "e=True"),
        (lambda: SMTStage(64, 64, 2, 4, 0), "heads=0"),
        (lambda: SMTStage(200, 200, 2, 4, "d64"), "msa_heads='d64' (YAML args[2]) gives 3 heads here, which"),
        (lambda: MSABlock(64, 64, 1, "d"), "heads='d' (YAML args[1]) must be an integer >= 1, or \"d<N>\""),
        (lambda: SAMBlock(64, 64, 1, "d16"), "heads='d16' (YAML args[1]) must be an integer >= 1. Fix"),
        (lambda: SAMBlock(16, 16, 1, 4, 0.01), "mlp_ratio=0.01 (YAML args[2]) leaves int(c2 * mlp_ratio) = 0"),
    ],
)
def test_bad_arguments_fail_clearly(build, needle):
    with pytest.raises(ConfigError, match="Fix") as info:
        build()
    assert needle in str(info.value)


def test_heads_error_names_the_yaml_layer():
    from ultralytics.nn.tasks import DetectionModel
    from ultralytics.utils import YAML

    import yolo_hybrid

    d = YAML.load(yolo_hybrid.config_path("yolov8-smt.yaml"))
    d["scale"] = "n"
    d["backbone"][4] = [-1, 6, "SAMBlock", [256, 5]]  # 64 channels at scale n: 5 heads do not divide
    with pytest.raises(ConfigError, match=r"layer 4 .*SAMBlock.*heads=5.*Fix"):
        DetectionModel(d, verbose=False)


@pytest.mark.parametrize("scale,heads", [("n", {6: 4, 8: 8}), ("s", {6: 8, 8: 16}), ("m", {6: 8, 8: 16})])
def test_yolov8_smt_keeps_smt_heads_where_32_channels_per_head_fit_and_fewer_below(scale, heads):
    """MSA widths at P4 (SMTStage) and P5 (MSABlock): 128, 256 at scale n, 256, 512 at s, 384, 576 at m; rows
    d32<=8, d32<=16."""
    assert heads_by_layer("yolov8-smt.yaml", scale, SMTAttention) == {layer: {count} for layer, count in heads.items()}
