"""Helpers shared by the numeric tests: BatchNorm written out, BN layers with non-trivial statistics, traced op kinds."""

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

