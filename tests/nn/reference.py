"""Helpers shared by the numeric tests: BatchNorm written out, BN layers with non-trivial statistics, traced op kinds,
the head counts a bundled config builds."""

from __future__ import annotations

import torch


def bn_eval(x: torch.Tensor, bn: torch.nn.BatchNorm2d) -> torch.Tensor:
    """Inference-mode batch norm from its definition: (x - mean) / sqrt(var + eps) * weight + bias."""
    shape = (1, -1, 1, 1)
    scale = bn.weight.view(shape) / torch.sqrt(bn.running_var.view(shape) + bn.eps)
    return (x - bn.running_mean.view(shape)) * scale + bn.bias.view(shape)


def randomize_(module: torch.nn.Module) -> torch.nn.Module:
    """Random BN statistics and affine parameters (so zero-initialised gammas hide nothing); returns it in eval mode."""
    gen = torch.Generator().manual_seed(1)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.weight.data.copy_(torch.randn(m.num_features, generator=gen))
            m.bias.data.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
    return module.eval()


FUSED_CPU_ATTENTION = "aten::_scaled_dot_product_flash_attention_for_cpu"
has_fused_cpu_attention = hasattr(torch.ops.aten, FUSED_CPU_ATTENTION.split("::")[1])


def sdpa_kernels(fn) -> set[str]:
    """The scaled-dot-product-attention ops ``fn()`` runs (profiler names), to tell the fused kernel from PyTorch's
    silent fallback, ``aten::_scaled_dot_product_attention_math``, which materialises the logits."""
    from torch.profiler import profile

    with profile() as prof:
        fn()
    return {e.key for e in prof.key_averages() if "scaled_dot_product" in e.key}


def traced_ops(traced: torch.jit.ScriptModule) -> set[str]:
    """The op kinds (``aten::pad``, ...) of a traced module's graph, submodules inlined."""
    return {node.kind() for node in traced.inlined_graph.nodes()}


def heads_by_layer(cfg: str, scale: str, attention: type) -> dict[int, set[int]]:
    """The head counts of every ``attention`` module of bundled ``cfg`` built at ``scale``, by YAML layer index."""
    from ultralytics.nn.tasks import DetectionModel
    from ultralytics.utils import YAML

    import yolo_hybrid

    d = YAML.load(yolo_hybrid.config_path(cfg))
    d["scale"] = scale
    found: dict[int, set[int]] = {}
    for name, m in DetectionModel(d, verbose=False).named_modules():
        if isinstance(m, attention):
            found.setdefault(int(name.split(".")[1]), set()).add(m.heads)
    return found
