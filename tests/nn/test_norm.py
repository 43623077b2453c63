"""LayerNorm2d (eager and exported forms) against a per-position loop written from the definition; the SyncBatchNorm
conversion (issue #34) against torch's own conversion and batch norm written out."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.distributed as dist
import torch.nn as nn

import yolo_hybrid
from tests.nn.reference import bn_eval, randomize_, traced_ops
from yolo_hybrid.nn.norm import (
    LayerNorm2d,
    SingleValueBatchNorm2d,
    SingleValueSyncBatchNorm2d,
    convert_sync_batchnorm,
)


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


# --- SyncBatchNorm (multi-GPU training) ---

CONVERTED = {SingleValueBatchNorm2d: SingleValueSyncBatchNorm2d, nn.BatchNorm2d: nn.SyncBatchNorm}


def _tensors(out) -> list[torch.Tensor]:
    """The tensors of a model output (tensor, tuple/list, dict), in order."""
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    return [t for o in out for t in _tensors(o)]


def _random_state_(norm: nn.modules.batchnorm._BatchNorm, seed: int = 0) -> nn.modules.batchnorm._BatchNorm:
    g = torch.Generator().manual_seed(seed)
    c = norm.num_features
    with torch.no_grad():
        norm.weight.copy_(torch.rand(c, generator=g) + 0.5)
        norm.bias.copy_(torch.randn(c, generator=g))
        norm.running_mean.copy_(torch.randn(c, generator=g))
        norm.running_var.copy_(torch.rand(c, generator=g) + 0.5)
    norm.num_batches_tracked.fill_(5)
    return norm


def _assert_single_value_rule(norm: nn.modules.batchnorm._BatchNorm) -> None:
    """A training batch of one value per channel: normalised with the running statistics, which stay unchanged; the
    gradient reaches input, weight and bias."""
    before = {k: v.clone() for k, v in norm.state_dict().items()}
    expected = bn_eval(torch.linspace(-1, 2, norm.num_features).view(1, -1, 1, 1), norm)
    x = torch.linspace(-1, 2, norm.num_features).view(1, -1, 1, 1).requires_grad_()
    out = norm.train()(x)
    torch.testing.assert_close(out, expected.detach(), rtol=1e-6, atol=1e-6)
    for k, v in norm.state_dict().items():
        assert torch.equal(v, before[k]), f"{k} changed on a single-value batch"
    out.square().sum().backward()
    # with constant statistics, out = (x - mean) * s * w + b, s = 1 / sqrt(var + eps): d(sum out^2) by hand
    s = 1 / torch.sqrt(norm.running_var + norm.eps)
    o, centred = expected.detach().flatten(), x.detach().flatten() - norm.running_mean
    torch.testing.assert_close(x.grad.flatten(), 2 * o * s * norm.weight.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(norm.weight.grad, 2 * o * centred * s, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(norm.bias.grad, 2 * o, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cfg", ["yolov8n-cot.yaml", "yolov8n-cmt.yaml"])
def test_conversion_matches_torch_but_keeps_our_norms(cfg):
    from ultralytics.nn.tasks import DetectionModel

    torch.manual_seed(0)
    model = randomize_(DetectionModel(cfg, nc=3, verbose=False))
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.num_batches_tracked.fill_(9)
    original = copy.deepcopy(model)
    by_torch = nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(model))
    weights = {name: m.weight for name, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)}

    converted = yolo_hybrid.convert_sync_batchnorm(model)
    assert converted is model  # changed in place, like torch's
    ours = dict(converted.named_modules())
    torchs = dict(by_torch.named_modules())
    assert ours.keys() == torchs.keys() == dict(original.named_modules()).keys()
    kept = 0
    for name, before in original.named_modules():
        after = ours[name]
        assert type(after) is CONVERTED.get(type(before), type(before)), (name, type(before), type(after))
        if type(before) is SingleValueBatchNorm2d:
            kept += 1
            assert type(torchs[name]) is nn.SyncBatchNorm  # what torch's conversion does to ours
        else:
            assert type(after) is type(torchs[name]), name
        if isinstance(before, nn.BatchNorm2d):
            for attr in ("num_features", "eps", "momentum", "affine", "track_running_stats", "training"):
                assert getattr(after, attr) == getattr(before, attr), (name, attr)
            assert after.weight is weights[name]  # the same Parameter: an optimizer built earlier still trains it
    assert kept > 0, f"{cfg} has no SingleValueBatchNorm2d: the test checks nothing of ours"
    state, reference = converted.state_dict(), original.state_dict()
    assert state.keys() == reference.keys()
    for k, v in reference.items():
        assert torch.equal(state[k], v), k

    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        got, expected = _tensors(converted.eval()(x)), _tensors(original.eval()(x))
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_conversion_of_a_single_norm_and_bad_input():
    norm = _random_state_(SingleValueBatchNorm2d(4, eps=1e-3, momentum=0.03))
    converted = convert_sync_batchnorm(norm)
    assert type(converted) is SingleValueSyncBatchNorm2d and converted.weight is norm.weight
    assert (converted.eps, converted.momentum) == (1e-3, 0.03)
    assert type(convert_sync_batchnorm(converted)) is SingleValueSyncBatchNorm2d  # re-scoping keeps ours
    assert type(convert_sync_batchnorm(nn.BatchNorm1d(4))) is nn.SyncBatchNorm  # as torch converts it
    with pytest.raises(TypeError, match=r"nn\.Module.*YOLO\(\.\.\.\)\.model"):
        convert_sync_batchnorm("yolov8n-cot.yaml")
    with pytest.raises(ValueError, match="4D"):
        converted.train()(torch.randn(3, 4))


def test_single_value_batches_without_a_process_group():
    assert not (dist.is_available() and dist.is_initialized())
    _assert_single_value_rule(_random_state_(SingleValueSyncBatchNorm2d(6)))
    with pytest.raises(ValueError, match="more than 1 value per channel"):  # why the variant exists
        _random_state_(nn.SyncBatchNorm(6)).train()(torch.randn(1, 6, 1, 1))


def test_other_batches_are_plain_batch_norm_without_a_process_group():
    """Batch statistics (biased variance) normalise; the running ones move by momentum (unbiased variance)."""
    norm = _random_state_(SingleValueSyncBatchNorm2d(5, momentum=0.25))
    mean0, var0 = norm.running_mean.clone(), norm.running_var.clone()
    for shape in [(2, 5, 1, 1), (1, 5, 3, 2)]:  # two images of 1 x 1, or one image of several positions
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(len(shape)))
        values = x.transpose(0, 1).reshape(5, -1)
        n = values.shape[1]
        mean = values.sum(1) / n
        biased = ((values - mean[:, None]) ** 2).sum(1) / n
        expected = (x - mean.view(1, -1, 1, 1)) / torch.sqrt(biased.view(1, -1, 1, 1) + norm.eps)
        expected = expected * norm.weight.view(1, -1, 1, 1) + norm.bias.view(1, -1, 1, 1)
        torch.testing.assert_close(norm.train()(x), expected, rtol=1e-5, atol=1e-5)
        mean0, var0 = 0.75 * mean0 + 0.25 * mean, 0.75 * var0 + 0.25 * biased * n / (n - 1)
        torch.testing.assert_close(norm.running_mean, mean0, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(norm.running_var, var0, rtol=1e-6, atol=1e-6)
    assert norm.num_batches_tracked.item() == 7


@pytest.fixture
def one_process_group(tmp_path):
    """A gloo group of one (world size 1), removed afterwards."""
    if not (dist.is_available() and dist.is_gloo_available()):
        pytest.skip("this torch build has no gloo backend for a CPU process group")
    assert not dist.is_initialized()
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


def test_single_value_batches_in_a_group_of_one(one_process_group):
    assert dist.get_world_size() == 1
    _assert_single_value_rule(_random_state_(SingleValueSyncBatchNorm2d(6), seed=3))
    # plain SyncBatchNorm refuses here: one value per channel (GPU), or CPU tensors inside a process group
    with pytest.raises(ValueError):
        _random_state_(nn.SyncBatchNorm(6)).train()(torch.randn(1, 6, 1, 1))


def test_smt_folds_its_synchronised_norms_when_fused():
    """``fuse()`` folds SMT's modulation BatchNorm after ``convert_sync_batchnorm`` too (it checked for BatchNorm2d)."""
    from ultralytics.nn.tasks import DetectionModel

    from yolo_hybrid.nn.smt import ScaleAwareModulation

    torch.manual_seed(0)
    model = randomize_(DetectionModel("yolov8n-smt.yaml", nc=3, verbose=False)).eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)[0]
        converted = yolo_hybrid.convert_sync_batchnorm(copy.deepcopy(model)).eval().fuse()
        got = converted(x)[0]
    modulations = [m for m in converted.modules() if isinstance(m, ScaleAwareModulation)]
    assert modulations and all(isinstance(m.bn, nn.Identity) for m in modulations)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-3)
