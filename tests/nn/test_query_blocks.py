"""Attention over blocks of query rows in static CPU ONNX exports: where blocks are cut, and exported blocks against
the papers' attention written out (CMT: the official attention with its full bias table; SMT: one query at a time)."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch

import yolo_hybrid.nn.query_blocks as query_blocks
from tests.nn.reference import randomize_
from tests.nn.test_cmt import official_attention, official_table
from tests.nn.test_smt import reference_msa
from yolo_hybrid.errors import ConfigError
from yolo_hybrid.nn.cmt import LightweightMHSA
from yolo_hybrid.nn.query_blocks import query_row_blocks
from yolo_hybrid.nn.smt import SMTAttention

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


class Probe(torch.nn.Module):
    """Records what ``query_row_blocks`` answers inside its forward."""

    def __init__(self, heads: int, n_key: int):
        super().__init__()
        self.heads, self.n_key, self.seen = heads, n_key, []

    def forward(self, x):
        blocks = query_row_blocks(x, self.heads, self.n_key)
        self.seen.append(None if blocks is None else [(int(a), int(b)) for a, b in blocks])
        return x + 1


def _export(model, x, dynamic=False) -> bytes:
    """``torch.onnx.export``, declared static-size unless ``dynamic`` (then with dynamic batch, height and width)."""
    buffer = io.BytesIO()
    axes = {"x": {0: "batch", 2: "height", 3: "width"}} if dynamic else None
    with contextlib.nullcontext() if dynamic else query_blocks.static_onnx_export():
        torch.onnx.export(model, (x,), buffer, input_names=["x"], dynamic_axes=axes, opset_version=17, dynamo=False)
    return buffer.getvalue()


def _run(model_bytes: bytes, x: torch.Tensor) -> torch.Tensor:
    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(None, {"x": x.numpy()})[0])


def _softmaxes(model_bytes: bytes) -> int:
    return sum(node.op_type == "Softmax" for node in onnx.load_from_string(model_bytes).graph.node)


def test_blocks_are_cut_only_in_a_static_cpu_onnx_export(monkeypatch):
    monkeypatch.setattr(query_blocks, "BLOCK_BYTES", 1)
    probe, x = Probe(heads=2, n_key=9), torch.randn(1, 4, 5, 3)
    probe(x)
    torch.jit.trace(probe, (x,))
    _export(probe, x, dynamic=True)
    torch.onnx.export(probe, (x,), io.BytesIO(), opset_version=17, dynamo=False)  # not declared static
    assert set(probe.seen) == {None}
    probe.seen.clear()
    _export(probe, x)
    assert probe.seen and all(seen == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)] for seen in probe.seen)  # <= H blocks


@pytest.mark.parametrize(
    "block_bytes,expected",
    [
        (1 << 30, None),  # the logits (1 * 2 * 35 * 9 * 4 bytes) fit in one block
        (2 * 35 * 9 * 4 // 3, [(0, 2), (2, 4), (4, 7)]),  # three blocks: uneven rows, all of them covered once
    ],
)
def test_block_count_follows_the_logits_size(monkeypatch, block_bytes, expected):
    monkeypatch.setattr(query_blocks, "BLOCK_BYTES", block_bytes)
    probe = Probe(heads=2, n_key=9)
    _export(probe, torch.randn(1, 4, 7, 5))
    assert probe.seen and all(seen == expected for seen in probe.seen)


def _cmt(sr: int) -> LightweightMHSA:
    return randomize_(LightweightMHSA(16, heads=2, sr=sr, max_size=16)).eval()


@pytest.mark.parametrize("sr", [1, 2])
def test_cmt_static_export_in_blocks_equals_the_official_attention(monkeypatch, sr):
    attn, x = _cmt(sr), torch.randn(1, 16, 8, 6)
    monkeypatch.setattr(query_blocks, "BLOCK_BYTES", 2 * 48 * (48 // sr**2) * 4 // 3)  # three blocks
    model_bytes = _export(attn, x)
    assert _softmaxes(model_bytes) == 3
    with torch.no_grad():
        expected = official_attention(attn.double(), x.double(), official_table(attn, 8, 6))
    torch.testing.assert_close(_run(model_bytes, x).double(), expected, rtol=1e-4, atol=1e-4)


def test_smt_static_export_in_blocks_equals_attention_one_query_at_a_time(monkeypatch):
    m = randomize_(SMTAttention(16, heads=2)).eval()
    monkeypatch.setattr(query_blocks, "BLOCK_BYTES", 1100)  # 2 * 20 * 20 * 4 bytes of logits at 5 x 4: three blocks
    for shape in ((1, 16, 5, 4), (2, 16, 3, 4)):  # batch 2: six heads' logits in at most three rows
        x = torch.randn(shape)
        model_bytes = _export(m, x)
        assert _softmaxes(model_bytes) == 3
        with torch.no_grad():
            expected = reference_msa(m.double(), x.double())
        torch.testing.assert_close(_run(model_bytes, x).double(), expected, rtol=1e-4, atol=1e-4)
        m.float()


def test_blocks_change_no_row_of_the_whole_map_export(monkeypatch):
    """The same rows computed by the same ops: blocked and whole-map exports agree to float32 rounding."""
    attn, x = _cmt(sr=2), torch.randn(1, 16, 12, 8)
    whole = _run(_export(attn, x), x)
    monkeypatch.setattr(query_blocks, "BLOCK_BYTES", 64)
    blocked = _export(attn, x)
    assert _softmaxes(blocked) == 12
    np.testing.assert_allclose(_run(blocked, x).numpy(), whole.numpy(), rtol=1e-5, atol=1e-6)


def test_block_size_comes_from_the_environment_and_0_keeps_the_whole_map(monkeypatch):
    x = torch.randn(1, 4, 7, 5)
    monkeypatch.setenv(query_blocks.BLOCK_BYTES_ENV, "840")  # the logits' 2520 bytes in three blocks
    probe = Probe(heads=2, n_key=9)
    _export(probe, x)
    assert probe.seen and all(seen == [(0, 2), (2, 4), (4, 7)] for seen in probe.seen)
    monkeypatch.setenv(query_blocks.BLOCK_BYTES_ENV, "0")
    monkeypatch.setattr(query_blocks, "BLOCK_BYTES", 1)
    probe = Probe(heads=2, n_key=9)
    _export(probe, x)
    assert probe.seen and set(probe.seen) == {None}


@pytest.mark.parametrize("value", ["2MB", "-1", ""])
def test_a_malformed_block_size_fails_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv(query_blocks.BLOCK_BYTES_ENV, value)
    with pytest.raises(ConfigError, match=f"{query_blocks.BLOCK_BYTES_ENV}=.*Fix: unset it"):
        _export(Probe(heads=2, n_key=9), torch.randn(1, 4, 7, 5))


@pytest.mark.parametrize("cfg", ["yolo11n-cmt.yaml", "yolov8n-smt.yaml"])
@pytest.mark.parametrize("target", ["onnx", "onnx-dynamic"])
def test_models_export_in_blocks_through_ultralytics(cfg, target, tmp_path, monkeypatch):
    """Ultralytics' static ONNX export cuts every attention layer into blocks (the integration's probe tells it from
    a dynamic one, which keeps the whole map): parity with PyTorch, static output channels, rank <= 5."""
    from ultralytics import YOLO

    from tests.test_export import max_rank, output_dims
    from yolo_hybrid.integration.deploy import TOLERANCE, check_target
    from yolo_hybrid.nn.smt import SMTAttention

    monkeypatch.setenv(query_blocks.BLOCK_BYTES_ENV, "256")  # at 64 px no map is large enough for 2 MiB blocks
    monkeypatch.chdir(tmp_path)
    model = YOLO(cfg)
    outcome = check_target(model, target, imgsz=64, workdir=tmp_path)
    assert outcome.exported and outcome.ran, outcome.error
    assert outcome.max_abs_diff <= TOLERANCE, outcome
    layers = sum(isinstance(m, (LightweightMHSA, SMTAttention)) for m in model.model.modules())
    softmaxes = _softmaxes(open(outcome.path, "rb").read())
    assert softmaxes > layers + 1 if target == "onnx" else softmaxes == layers + 1  # + 1: the DFL's softmax
    assert all(isinstance(dims[1], int) for dims in output_dims(outcome.path)), output_dims(outcome.path)
    assert max_rank(outcome.path)[0] <= 5
