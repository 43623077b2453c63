"""``torch.compile`` on every family, as the models use the blocks: no graph break where stock has none, compiled
outputs, gradients and BatchNorm statistics equal to eager, and CoT's training-memory saving kept under compilation.

The checks trace with dynamo and AOTAutograd (``backend="aot_eager"``: the forward and backward graphs Inductor
would compile, without generating C++ for them), which is where graph breaks and untraceable code show; Inductor
itself compiled a 1-epoch ``yolo train model=yolov8n-cot.yaml compile=True`` (11 minutes on this 2-core CPU, nearly
all of it compiling), too long for the suite. The per-config checks are the ``compile`` group (``pytest -m compile
tests/integration/test_compile.py``, about 20 minutes on 2 cores, not yet in CI); CoT's, the family that failed to
compile, runs with the main suite.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn as nn
from ultralytics.nn.tasks import ClassificationModel, DetectionModel

from tests.helpers import tensors
from yolo_hybrid.nn.cot import CoT

# One config per family in its YOLOv8 layout (C3/C2f, own stages) and its YOLO26 layout (C3k2, the C2PSA slot: the
# classes YOLO11 uses too), and the classification head
CONFIGS = [
    *(f"{base}-{family}.yaml" for base in ("yolov8n", "yolo26n") for family in ("bot3", "cot", "smt", "cmt")),
    "yolov8n-cls-attnpool.yaml",
]
STOCK = {"yolov8n": "yolov8n.yaml", "yolo26n": "yolo26n.yaml"}
IMGSZ = 64


def _build(cfg: str) -> nn.Module:
    torch.manual_seed(0)
    return (ClassificationModel if "-cls" in cfg else DetectionModel)(cfg, verbose=False)


def _ours(model: nn.Module) -> list[tuple[int, nn.Module]]:
    return [(i, m) for i, m in enumerate(model.model) if type(m).__module__.startswith("yolo_hybrid.")]


def _layer_inputs(model: nn.Module, layers) -> dict[int, torch.Tensor]:
    """Each of our layers' input in the model's own eager forward (train mode, batch 2)."""
    inputs, hooks = {}, []
    for i, m in layers:
        hooks.append(m.register_forward_pre_hook(lambda _m, args, i=i: inputs.setdefault(i, args[0].detach())))
    try:
        model.train()(torch.rand(2, 3, IMGSZ, IMGSZ))
    finally:
        for h in hooks:
            h.remove()
    return inputs


def _step(module: nn.Module, x: torch.Tensor, train: bool) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Outputs, then input and parameter gradients of ``sum(out^2).mean()`` (train) or outputs only (eval)."""
    module.train(train)
    if not train:
        with torch.no_grad():
            return list(tensors(module(x))), []
    x = x.clone().requires_grad_()
    outs = list(tensors(module(x)))
    sum(t.float().square().mean() for t in outs).backward()
    return outs, [x.grad, *(p.grad for p in module.parameters() if p.requires_grad)]


def _close(a: list[torch.Tensor], b: list[torch.Tensor], what: str) -> None:
    """Equal within float32 reordering: relative 1e-4, absolute 1e-4 of the largest value of the list (a gradient
    that is ~0 next to the others, e.g. behind a zero-initialised BN, is compared at the list's scale)."""
    assert len(a) == len(b), what
    scale = max((float(v.abs().max()) for v in b if v is not None and v.numel() and v.is_floating_point()), default=0)
    for i, (u, v) in enumerate(zip(a, b, strict=True)):
        assert (u is None) == (v is None), f"{what} {i}: a gradient missing on one side"
        if u is not None and u.is_floating_point():
            assert torch.allclose(u, v, rtol=1e-4, atol=1e-4 * scale + 1e-12), (
                f"{what} {i}: max diff {(u - v).abs().max()}"
            )
        elif u is not None:
            assert torch.equal(u, v), f"{what} {i}"


def _one_layer_per_class(cfg: str) -> list[tuple[str, nn.Module, torch.Tensor]]:
    model = _build(cfg)
    layers = _ours(model)
    assert layers, f"{cfg}: no yolo_hybrid layer"
    inputs = _layer_inputs(model, layers)
    first = {}
    for i, layer in layers:
        first.setdefault(type(layer).__name__, (f"{cfg} layer {i} {type(layer).__name__}", layer, inputs[i]))
    return list(first.values())


@pytest.mark.compile
@pytest.mark.parametrize("cfg", CONFIGS)
def test_blocks_compile_fullgraph_and_match_eager(cfg):
    for what, layer, x in _one_layer_per_class(cfg):
        for train in (True, False):
            torch._dynamo.reset()
            eager, compiled = copy.deepcopy(layer), copy.deepcopy(layer)
            want = _step(eager, x, train)
            got = _step(torch.compile(compiled, fullgraph=True, backend="aot_eager"), x, train)
            mode = "train" if train else "eval"
            _close(got[0], want[0], f"{what} ({mode}) output")
            _close(got[1], want[1], f"{what} ({mode}) gradient")
            # running statistics moved exactly as in eager (once per step, also where CoT recomputes in backward)
            _close(list(compiled.buffers()), list(eager.buffers()), f"{what} ({mode}) buffers")


def _graph_breaks(model: nn.Module, train: bool) -> int:
    torch._dynamo.reset()
    model.train(train)
    with torch.set_grad_enabled(train):
        return torch._dynamo.explain(model)(torch.rand(2, 3, IMGSZ, IMGSZ)).graph_break_count


@pytest.mark.compile
@pytest.mark.parametrize(
    "cfg",
    [
        pytest.param(
            c,
            marks=pytest.mark.xfail(
                strict=True, reason="eval: 21 graphs to stock yolov8n's 20, no break reason reported (issue #34)"
            ),
        )
        if c == "yolov8n-smt.yaml"
        else c
        for c in CONFIGS
        if "-cls" not in c
    ],
)
def test_whole_model_breaks_no_more_graphs_than_stock(cfg):
    stock = _build(STOCK[cfg.split("-")[0]])
    ours = _build(cfg)
    for train in (True, False):
        assert _graph_breaks(ours, train) == _graph_breaks(stock, train), f"{cfg} ({'train' if train else 'eval'})"


def _held_and_step(module: nn.Module, x: torch.Tensor) -> tuple[int, list[torch.Tensor], list[torch.Tensor]]:
    """Bytes autograd holds for backward after one training forward; the outputs; input and parameter gradients."""
    sizes = []

    def pack(t):
        sizes.append(t.numel() * t.element_size())
        return t

    x = x.clone().requires_grad_()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = module(x)
    out.square().mean().backward()
    return sum(sizes), [out], [x.grad, *(p.grad for p in module.parameters())]


@pytest.mark.slow
def test_cot_compiles_equal_to_eager_and_keeps_its_training_memory_saving():
    # failed before: dynamo cannot trace the checkpoint context that keeps BN statistics from moving twice
    torch.manual_seed(0)
    x = torch.randn(2, 32, 16, 16)
    held = {}
    for checkpoint in (False, True):
        layer = CoT(32, 3, checkpoint=checkpoint).train()
        eager, compiled = copy.deepcopy(layer), copy.deepcopy(layer)
        torch._dynamo.reset()
        held["eager", checkpoint], *want = _held_and_step(eager, x)
        held["compiled", checkpoint], *got = _held_and_step(
            torch.compile(compiled, fullgraph=True, backend="aot_eager"), x
        )
        _close(got[0], want[0], f"CoT checkpoint={checkpoint} output")
        _close(got[1], want[1], f"CoT checkpoint={checkpoint} gradient")
        # the recomputation in backward does not move the running statistics a second time
        _close(list(compiled.buffers()), list(eager.buffers()), f"CoT checkpoint={checkpoint} buffers")
    value_maps = 2 * 32 * 16 * 16 * 4  # one C x H x W float32 map of the batch
    # eager recomputes the cheap elementwise tail in backward; compiled, the partitioner does at least as well
    assert held["compiled", False] <= held["eager", False], held
    # checkpoint=True keeps (about) the layer input only, compiled or not
    assert held["eager", True] <= 1.01 * value_maps and held["compiled", True] <= 2.01 * value_maps, held
