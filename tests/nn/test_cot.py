"""CoTNet numerics against literal loops written from the official layer's definition."""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from tests.nn.reference import randomize_
from yolo_hybrid.errors import ConfigError
from yolo_hybrid.nn.cot import C2fCoT, CoT, CoT3, CoTBottleneck, LocalAggregation, local_aggregate


def reference_aggregate(value: torch.Tensor, weight: torch.Tensor, k: int) -> torch.Tensor:
    """out[b,c,y,x] = sum_{i,j} weight[b, c mod G, i*k+j, y, x] * value[b, c, y+i-k//2, x+j-k//2], zero outside."""
    batch, channels, height, width = value.shape
    groups = weight.shape[1]
    out = torch.zeros_like(value)
    for b in range(batch):
        for c in range(channels):
            for y in range(height):
                for x in range(width):
                    total = value.new_zeros(())
                    for i in range(k):
                        for j in range(k):
                            yy, xx = y + i - k // 2, x + j - k // 2
                            if 0 <= yy < height and 0 <= xx < width:
                                total = total + weight[b, c % groups, i * k + j, y, x] * value[b, c, yy, xx]
                    out[b, c, y, x] = total
    return out


@pytest.mark.parametrize("k,shape", [(3, (2, 16, 5, 7)), (5, (1, 8, 4, 6)), (3, (1, 24, 1, 3))])
def test_aggregation_matches_literal_loop(k, shape):
    value = torch.randn(*shape, dtype=torch.float64)
    weight = torch.randn(shape[0], shape[1] // 8 if shape[1] >= 8 else 1, k * k, *shape[2:], dtype=torch.float64)
    torch.testing.assert_close(local_aggregate(value, weight, k), reference_aggregate(value, weight, k))


def test_sharing_is_interleaved_not_contiguous():
    """Channels c and c + G share a filter; c and c + 1 do not (the official 'c mod C/8' rule)."""
    value = torch.ones(1, 16, 3, 3, dtype=torch.float64)
    weight = torch.zeros(1, 2, 9, 3, 3, dtype=torch.float64)
    weight[0, 1, 4] = 1.0  # only weight-channel 1 has a (centre) tap
    out = local_aggregate(value, weight, 3)
    assert torch.all(out[0, 1::2] == 1) and torch.all(out[0, 0::2] == 0)


def test_aggregation_gradcheck():
    value = torch.randn(1, 4, 3, 4, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(1, 2, 9, 3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v, w: local_aggregate(v, w, 3), (value, weight))


def test_aggregation_is_strictly_local():
    """Output at p depends on the value map only inside p's k x k window."""
    value = torch.randn(1, 8, 7, 9, dtype=torch.float64)
    weight = torch.randn(1, 1, 9, 7, 9, dtype=torch.float64)
    base = local_aggregate(value, weight, 3)
    py, px = 3, 4
    for y in range(7):
        for x in range(9):
            bumped = value.clone()
            bumped[0, :, y, x] += 1.0
            changed = (local_aggregate(bumped, weight, 3) - base)[0, :, py, px].abs().max() > 0
            assert bool(changed) == (abs(y - py) <= 1 and abs(x - px) <= 1), (y, x)


def test_group_norm_normalises_each_filter_over_taps_and_pixels():
    layer = CoT(32).double().eval()
    x = torch.randn(2, 32, 6, 5, dtype=torch.float64)
    w = layer.dynamic_weights(x, layer.key(x))  # (B, C/8, k*k, H, W)
    assert w.shape == (2, 4, 9, 6, 5)
    flat = w.reshape(2, 4, -1)
    torch.testing.assert_close(flat.mean(-1), torch.zeros(2, 4, dtype=torch.float64), atol=1e-9, rtol=0)
    torch.testing.assert_close(flat.var(-1, unbiased=False), torch.ones(2, 4, dtype=torch.float64), atol=1e-3, rtol=0)
    per_tap_mean = w.mean((-1, -2))  # not normalised per tap: taps of one filter are normalised jointly
    assert per_tap_mean.abs().max() > 1e-3


def test_fusion_weights_are_a_softmax_over_the_two_keys():
    layer = randomize_(CoT(16)).double()
    x = torch.randn(3, 16, 4, 4, dtype=torch.float64)
    k1 = layer.key(x)
    a = layer.fusion_weights(torch.randn_like(k1), k1)
    assert a.shape == (3, 16, 2) and torch.all(a >= 0)
    torch.testing.assert_close(a.sum(-1), torch.ones(3, 16, dtype=torch.float64))


def test_radix_order_is_interleaved_dynamic_first():
    """Logit 2c + r belongs to channel c, branch r (0 = dynamic k2, 1 = static k1), as in the official view."""
    layer = randomize_(CoT(16)).double()
    last = layer.select[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor([50.0, -50.0] * 16))  # every channel picks branch 0
    x = torch.randn(1, 16, 5, 5, dtype=torch.float64)
    k1 = layer.key(x)
    k2 = layer.act(layer.bn(local_aggregate(layer.value(x), layer.dynamic_weights(x, k1), 3)))
    torch.testing.assert_close(layer(x), k2)


def definition(layer: CoT, x: torch.Tensor) -> torch.Tensor:
    """The CoT layer written out from its definition (train-mode BNs update ``layer``'s running statistics once)."""
    b, c, height, width = x.shape
    k1 = F.relu(layer.key.bn(F.conv2d(x, layer.key.conv.weight, padding=1, groups=4)))
    hidden = layer.embed_in.act(layer.embed_in.bn(F.conv2d(torch.cat((x, k1), 1), layer.embed_in.conv.weight)))
    w = layer.embed(hidden).reshape(b, c // 8, 9, height, width)
    k2 = F.silu(layer.bn(reference_aggregate(layer.value.bn(F.conv2d(x, layer.value.conv.weight)), w, 3)))
    a = torch.softmax(layer.select((k1 + k2).mean((2, 3), keepdim=True)).reshape(b, c, 2), -1)
    return a[..., 0, None, None] * k2 + a[..., 1, None, None] * k1


def test_cot_layer_matches_reference_composition():
    """Whole layer vs the definition, with the literal-loop aggregation."""
    layer = randomize_(CoT(16)).double()
    x = torch.randn(2, 16, 4, 5, dtype=torch.float64)
    torch.testing.assert_close(layer(x), definition(copy.deepcopy(layer), x))


def test_training_recomputes_only_the_cheap_part_and_trains_as_the_definition():
    """Training keeps the convolutions' outputs for backward and recomputes the rest: output, every gradient and the
    running statistics (updated once) equal the definition's, and backward holds at most 8 maps of the layer's size
    (7.3 here, input included; storing every intermediate held 16.7)."""
    torch.manual_seed(0)
    layer = randomize_(CoT(16)).double().train()
    reference = copy.deepcopy(layer)
    x = torch.randn(2, 16, 4, 5, dtype=torch.float64, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    saved = {}

    def pack(t):
        saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = layer(x)
    assert sum(saved.values()) <= 8 * x.numel() * x.element_size(), sum(saved.values()) / x.numel() / x.element_size()
    expected = definition(reference, x_ref)
    torch.testing.assert_close(out, expected)
    g = torch.randn_like(out)
    out.backward(g)
    expected.backward(g)
    torch.testing.assert_close(x.grad, x_ref.grad)
    for (name, p), q in zip(layer.named_parameters(), reference.parameters(), strict=False):
        torch.testing.assert_close(p.grad, q.grad, msg=name)
    for (name, a), b in zip(layer.state_dict().items(), reference.state_dict().values(), strict=False):
        torch.testing.assert_close(a, b, msg=name)


@pytest.mark.parametrize("size", [(9, 12), (1, 1), (2, 7)])
def test_strided_bottleneck_pools_before_cot(size):
    block = randomize_(CoTBottleneck(16, 32, s=2, e=0.5)).double()
    x = torch.randn(1, 16, *size, dtype=torch.float64)
    out = block(x)
    assert out.shape[-2:] == tuple(math.ceil(s / 2) for s in size)
    y = block.cv2(block.cot(F.avg_pool2d(block.cv1(x), 3, 2, 1)))
    torch.testing.assert_close(out, F.silu(y + block.shortcut(x)))


@pytest.mark.parametrize("cls,args", [(CoT3, (32, 32, 2)), (C2fCoT, (32, 64, 2, True))])
@pytest.mark.parametrize("size", [(1, 1), (3, 8), (9, 4)])
def test_blocks_run_on_any_size_and_backprop(cls, args, size):
    module = cls(*args)
    x = torch.randn(2, args[0], *size, requires_grad=True)
    out = module(x)
    assert out.shape == (2, args[1], *size)
    out.square().mean().backward()
    assert torch.isfinite(x.grad).all()


def test_trains_on_a_batch_of_one():
    """Ultralytics' last batch can hold one image: the pooled BN of the fusion must not raise, nor move its stats."""
    from yolo_hybrid.nn.norm import SingleValueBatchNorm2d

    module = CoT3(32, 32, 1).train()
    module(torch.randn(1, 32, 4, 4)).mean().backward()
    bn = next(m for m in module.modules() if isinstance(m, SingleValueBatchNorm2d))
    before = bn.running_mean.clone()
    module(torch.randn(1, 32, 4, 4))
    torch.testing.assert_close(bn.running_mean, before)
    x = torch.randn(4, bn.num_features, 1, 1)
    reference = torch.nn.BatchNorm2d(bn.num_features).train()
    reference.load_state_dict(bn.state_dict())
    torch.testing.assert_close(bn(x), reference(x))  # any larger batch: plain batch norm


def test_checkpointing_changes_nothing_but_memory():
    torch.manual_seed(0)
    plain = CoT3(32, 32, 2, checkpoint=False).train()
    checkpointed = CoT3(32, 32, 2, checkpoint=True).train()
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(2, 32, 6, 5)
    outs, grads = [], []
    for module in (plain, checkpointed):
        xi = x.clone().requires_grad_(True)
        out = module(xi)
        out.square().mean().backward()
        outs.append(out)
        grads.append([xi.grad] + [p.grad for p in module.parameters()])
    torch.testing.assert_close(outs[0], outs[1])
    for a, b in zip(*grads, strict=False):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    for (name, a), b in zip(plain.state_dict().items(), checkpointed.state_dict().values(), strict=False):
        torch.testing.assert_close(a, b, msg=name)  # running statistics updated exactly once per step


def test_concat_conv_equals_conv_of_concatenation():
    from yolo_hybrid.nn.cot import ConcatConv

    conv = randomize_(ConcatConv(24, 8, 1)).double()
    a, b = torch.randn(2, 16, 3, 5, dtype=torch.float64), torch.randn(2, 8, 3, 5, dtype=torch.float64)
    expected = F.silu(conv.bn(F.conv2d(torch.cat((a, b), 1), conv.conv.weight)))
    torch.testing.assert_close(conv(a, b), expected)
    conv.conv = torch.nn.utils.fusion.fuse_conv_bn_eval(conv.conv, conv.bn)  # what Ultralytics' fuse() does
    torch.testing.assert_close(conv.forward_fuse(a, b), expected)


def test_graph_and_inplace_paths_agree():
    from yolo_hybrid.nn.cot import _aggregate_graph, _aggregate_inplace

    value, weight = torch.randn(2, 16, 5, 6), torch.randn(2, 2, 9, 5, 6)
    torch.testing.assert_close(_aggregate_inplace(value, weight, 3), _aggregate_graph(value, weight, 3))


def test_community_signature():
    """(c1, c2, n, shortcut, g, e) as Ultralytics' C3 and the community CoT3."""
    module = CoT3(64, 64, 2, False, 1, 0.5)
    assert len(module.m) == 2 and not module.m[0].add
    assert module(torch.randn(1, 64, 5, 6)).shape == (1, 64, 5, 6)


def test_autocast_and_trace():
    module = CoT3(32, 32, 1).eval()
    x = torch.randn(1, 32, 6, 9)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = module(x)
    torch.testing.assert_close(out.float(), module(x), rtol=0.1, atol=0.1)
    traced = torch.jit.trace(module, torch.randn(1, 32, 8, 8))
    y = torch.randn(2, 32, 5, 11)
    torch.testing.assert_close(traced(y), module(y))


def test_flop_rule_counts_the_aggregation():
    thop = pytest.importorskip("thop")
    import yolo_hybrid

    yolo_hybrid.register()
    module = LocalAggregation(3)
    value, weight = torch.randn(2, 16, 5, 7), torch.randn(2, 2, 9, 5, 7)
    macs, _ = thop.profile(module, inputs=(value, weight), verbose=False)
    assert macs == 2 * 16 * 5 * 7 * 9


@pytest.mark.parametrize(
    "build,needle",
    [
        (lambda: CoT(20), "channels=20 is not divisible by the channel-sharing factor 8"),
        (lambda: CoT(16, k=4), "k=4"),
        (lambda: CoT3(64, 64, 1, True, 2), "g=2"),
        (lambda: CoT3(64, 64, 1, 0.5), "shortcut=0.5"),
        (lambda: CoTBottleneck(16, 20, e=1.0), "e=1.0 (YAML args[2]) makes the CoT width int(c2*e) = 20"),
        (lambda: C2fCoT(64, 64, 1, True, 1, 2.0), "e=2.0"),
    ],
)
def test_bad_arguments_fail_clearly(build, needle):
    with pytest.raises(ConfigError, match="Fix") as info:
        build()
    assert needle in str(info.value)
