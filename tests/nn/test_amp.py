"""CMT's stack under fp16 autocast (forward, and backward through a GradScaler) at the magnitudes a harsh AMP recipe
grows, against its own float32 forward.

The H100 run of ``benchmarks/gpu.py`` (SGD lr 0.01, momentum 0.9, no warm-up, clipping or weight decay) had
yolov8n-cmt's AMP loss turn NaN, the first non-finite module being the stock ``Conv`` after the P3 CMT stack. The same
recipe run on a CPU in float32, its checkpoints then run under CPU fp16 autocast, places the first non-finite op in that
Conv's convolution: its fp16 input, the stack's output, peaked at 5184 (inside fp16), its weights had grown to 7.9, and
its output passed 65504. The stack's own arithmetic stayed finite. These tests hold it there: the LPU weights are grown
the way that run grew them (channels whose taps sum to +-8 and more) so a P3-sized input (max 46) leaves the stack at
about 4500, as there.
"""

from __future__ import annotations

import copy

import torch

from yolo_hybrid.nn.cmt import CMTBlock

FP16_MAX = 65504.0


def grown_p3_stack() -> tuple[CMTBlock, torch.Tensor]:
    """yolov8n-cmt's P3 row at scale n (``CMTBlock(64, 64, n=2, heads=1, sr=4, mlp_ratio=4, max_size=80)``), in
    training mode, with grown LPU weights, and an input like the P3 Conv's under autocast (post-SiLU, max 46, fp16)."""
    torch.manual_seed(0)
    stack = CMTBlock(64, 64, 2, heads=1, sr=4, mlp_ratio=4, qk_ratio=1, max_size=80).train()
    with torch.no_grad():
        for layer in stack.m:
            layer.lpu.weight.mul_(5)
            layer.lpu.weight[:, 0, 1, 1] += torch.linspace(-8, 8, 64)  # per-channel gains up to ~9 per LPU residual
    x = torch.rand(2, 64, 8, 8, generator=torch.Generator().manual_seed(1)) * 46
    return stack, x.half()


def test_cmt_stack_stays_finite_under_fp16_autocast_at_harsh_recipe_magnitudes():
    stack, x = grown_p3_stack()
    with torch.no_grad():
        expected = stack(x.float())
        with torch.autocast("cpu", dtype=torch.float16):
            got = stack(x)
    peak = expected.abs().max().item()
    assert 2000 < peak < FP16_MAX / 4, f"the setup should reach the harsh run's magnitude (~5000), got {peak:.0f}"
    assert got.dtype == torch.float16  # from an fp16 input the residual stream runs in half precision
    assert torch.isfinite(got).all()
    # fp16 keeps 11 significant bits (relative spacing 2**-10 ~ 1e-3) through about 30 ops here
    error = (got.float() - expected).abs().max().item()
    assert error <= 5e-3 * peak, f"fp16 output off float32's by {error:.3g} (peak {peak:.0f})"


def test_cmt_stack_gradients_under_a_grad_scaler_are_finite_and_match_float32():
    stack, x = grown_p3_stack()
    reference = copy.deepcopy(stack)
    weights = torch.randn(2, 64, 8, 8, generator=torch.Generator().manual_seed(2))  # a fixed loss direction
    (reference(x.float()) * weights).mean().backward()

    scaler = torch.amp.GradScaler("cpu")  # starts at 2**16, halves after each overflowing backward, as in training
    optimizer = torch.optim.SGD(stack.parameters(), lr=0.0)
    skipped, finite = 0, False
    while not finite and skipped <= 8:  # stock YOLOv8 skipped 7-8 steps so on the H100 (gpu.json)
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.float16):
            loss = (stack(x).float() * weights).mean()
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        finite = all(torch.isfinite(p.grad).all() for p in stack.parameters() if p.grad is not None)
        scaler.step(optimizer)  # skipped when not finite, as GradScaler does
        scaler.update()
        skipped += not finite
    assert finite, f"{skipped} overflowing backward passes, down to a loss scale of {scaler.get_scale()}"
    total = torch.cat([q.grad.flatten() for q in reference.parameters()]).norm()
    for (name, p), q in zip(stack.named_parameters(), reference.parameters(), strict=True):
        error = (p.grad - q.grad).norm()
        # fp16 rounds each backward op's output to ~1e-3; a gradient that is the small remainder of cancelling terms
        # (norm1's affine, ~1e-6 of the total here; biases before a BN, exactly 0) carries that rounding at
        # full size, so it is held to a floor tied to the whole gradient
        assert error <= 3e-2 * q.grad.norm() + 1e-4 * total, f"{name}: gradient off float32's by {error:.3g}"
