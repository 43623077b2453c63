"""PatchConvNet attention pooling: formula, layer scale, permutation invariance, Classify contract, attention maps."""

from __future__ import annotations

import math
import os

import pytest
import torch

from tests.helpers import ROOT, assert_ok, run_python
from yolo_hybrid.nn.pooling import AttentionPooling, AttnPoolClassify, LearnedAggregation, attention_maps


def test_learned_aggregation_matches_formula():
    layer = LearnedAggregation(8).double()
    tokens = torch.randn(2, 5, 8, dtype=torch.float64)
    out, attn = layer(tokens)
    for b in range(2):
        q = layer.q(tokens[b, 0])
        logits = torch.stack([torch.dot(q, layer.k(tokens[b, j])) / math.sqrt(8) for j in range(5)])
        a = torch.softmax(logits, 0)
        expected = layer.proj(sum(a[j] * layer.v(tokens[b, j]) for j in range(5)))
        torch.testing.assert_close(attn[b, 0], a)
        torch.testing.assert_close(out[b, 0], expected)


def test_zero_layer_scale_gives_the_cls_token_path():
    pool = AttentionPooling(16).double()
    with torch.no_grad():
        pool.block.gamma1.zero_()
        pool.block.gamma2.zero_()
    x = torch.randn(3, 16, 4, 5, dtype=torch.float64)
    expected = torch.nn.functional.layer_norm(pool.cls_token[0, 0], (16,), pool.norm.weight, pool.norm.bias, 1e-6)
    torch.testing.assert_close(pool(x), expected.expand(3, 16))


def test_permutation_invariance_over_patches():
    pool = AttentionPooling(16).double()
    with torch.no_grad():
        pool.block.gamma1.fill_(0.5)
        pool.block.gamma2.fill_(0.5)
    x = torch.randn(2, 16, 3, 4, dtype=torch.float64)
    perm = torch.randperm(12)
    shuffled = x.flatten(2)[:, :, perm].reshape(2, 16, 3, 4)
    torch.testing.assert_close(pool(shuffled), pool(x))
    assert (pool(x) - pool(torch.randn_like(x))).abs().max() > 1e-3  # but it does depend on the patches


def test_attention_weights_and_map_api():
    head = AttnPoolClassify(32, 5).eval()
    x = torch.randn(2, 32, 4, 6)
    _, attn = head.pool.forward_with_attention(x)
    assert attn.shape == (2, 1, 25)
    torch.testing.assert_close(attn.sum(-1), torch.ones(2, 1))
    maps = head.attention(x)
    assert maps.shape == (2, 4, 6) and maps.min() >= 0 and maps.max() <= 1
    torch.testing.assert_close(maps.flatten(1).sum(1) + attn[:, 0, 0], torch.ones(2))


def test_output_conventions_match_classify():
    head = AttnPoolClassify(32, 7)
    x = torch.randn(2, 32, 3, 3)
    assert head.train()(x).shape == (2, 7)  # logits
    probs, logits = head.eval()(x)
    torch.testing.assert_close(probs, logits.softmax(1))
    head.export = True
    torch.testing.assert_close(head(x), probs)
    assert head.train()(torch.randn(1, 32, 1, 1)).shape == (1, 7)  # a batch of one trains (pooled BN)


@pytest.mark.parametrize("scale", ["n", "s", "m"])
def test_yaml_contract_task_nc_and_channels(scale):
    from ultralytics import YOLO

    ours = YOLO(f"yolov8{scale}-cls-attnpool.yaml")
    stock = YOLO(f"yolov8{scale}-cls.yaml")
    assert ours.task == "classify"
    head, stock_head = ours.model.model[-1], stock.model.model[-1]
    assert head.linear.out_features == 1000  # nc is not width-scaled
    assert head.conv.conv.in_channels == stock_head.conv.conv.in_channels
    assert head.pool.cls_token.shape[-1] == stock_head.conv.conv.in_channels


def test_nc_follows_the_dataset():
    from ultralytics.nn.tasks import ClassificationModel

    import yolo_hybrid

    model = ClassificationModel(str(yolo_hybrid.config_path("yolov8-cls-attnpool.yaml")), verbose=False)
    ClassificationModel.reshape_outputs(model, 3)
    assert model.model[-1].linear.out_features == 3
    model.eval()
    assert model(torch.rand(1, 3, 64, 64))[0].shape == (1, 3)


def test_alias_strategy_keeps_nc_unscaled():
    code = (
        "from ultralytics import YOLO\nm = YOLO('yolov8s-cls-attnpool.yaml')\nh = m.model.model[-1]\n"
        "import ultralytics.nn.tasks as t\n"
        "print(t.parse_model.__yolo_hybrid__['strategy'], m.task, h.linear.out_features, h.conv.conv.in_channels)\n"
    )
    out = assert_ok(run_python(code, env={**os.environ, "YOLO_HYBRID_STRATEGY": "alias"}, cwd=ROOT))
    assert "alias classify 1000 512" in out


def test_attention_maps_function_on_a_model():
    from ultralytics import YOLO

    model = YOLO("yolov8n-cls-attnpool.yaml").model.eval()
    probs, maps = attention_maps(model, torch.rand(2, 3, 96, 128))
    assert probs.shape == (2, 1000) and maps.shape == (2, 3, 4)
    with pytest.raises(ValueError, match="AttnPoolClassify"):
        attention_maps(YOLO("yolov8n-cls.yaml").model.eval(), torch.rand(1, 3, 64, 64))


def _classify_forward_81(self, x):  # Ultralytics 8.1.47 / 8.2.103: softmax in eval, no `export` attribute
    x = self.linear(self.drop(self.pool(self.conv(x)).flatten(1)))
    return x if self.training else x.softmax(1)


def _classify_forward_8340(self, x):  # Ultralytics 8.3.40: logits in eval too
    return self.linear(self.drop(self.pool(self.conv(x)).flatten(1)))


@pytest.mark.parametrize("forward,expect", [(_classify_forward_81, "softmax"), (_classify_forward_8340, "logits")])
def test_eval_output_follows_the_installed_classify(monkeypatch, forward, expect):
    from ultralytics.nn.modules import Classify

    from yolo_hybrid.nn import pooling

    monkeypatch.setattr(Classify, "forward", forward)
    monkeypatch.delattr(Classify, "export")  # older heads have no export flag at all
    monkeypatch.setattr(pooling, "_EVAL_OUTPUT", None)  # probe again, under the patched Classify (restored after)
    head = AttnPoolClassify(32, 4).eval()
    x = torch.randn(2, 32, 5, 6)
    out = head(x)
    pooled = head.pool(x)[:, :, None, None]
    logits = head.linear(head.conv(pooled).flatten(1))
    torch.testing.assert_close(out, logits.softmax(1) if expect == "softmax" else logits)
    assert head.train()(x).shape == (2, 4)


def test_eval_output_equals_stock_classify_convention():
    from ultralytics.nn.modules import Classify

    stock, ours = Classify(32, 4).eval(), AttnPoolClassify(32, 4).eval()
    x = torch.randn(1, 32, 3, 3)
    a, b = stock(x), ours(x)
    assert type(a) is type(b) and (not isinstance(a, tuple) or len(a) == len(b))
    stock.export = ours.export = True
    assert isinstance(ours(x), torch.Tensor) and type(stock(x)) is type(ours(x))
