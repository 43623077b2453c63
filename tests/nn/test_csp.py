"""The YOLO11 container layouts against Ultralytics' own modules: with the stock inner blocks plugged in, C3k2Layout
is Ultralytics' C3k2 (all three forms) and C2Layout its C2PSA -- same state-dict keys and shapes (so a stock
checkpoint's weights load into them) and the same outputs."""

from __future__ import annotations

import pytest
import torch

from yolo_hybrid.nn.csp import C2Layout, C3k2Layout, c3k2_width

block = pytest.importorskip("ultralytics.nn.modules.block")
if not hasattr(block, "C3k2"):
    pytest.skip("Ultralytics < 8.3 has no C3k2/C2PSA", allow_module_level=True)


def _stock_inner(c: int, j: int):
    return block.Bottleneck(c, c, True, 1, k=(3, 3), e=1.0)


@pytest.mark.parametrize("c3k, attn", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("c1, c2, n, e", [(32, 64, 2, 0.5), (48, 128, 1, 0.25)])
def test_c3k2_layout_with_stock_blocks_is_ultralytics_c3k2(c1, c2, n, e, c3k, attn):
    torch.manual_seed(0)
    stock = block.C3k2(c1, c2, n, c3k, e, attn).eval()
    # Ultralytics' plain inner Bottleneck uses e=0.5 (c3k: C3k's use e=1.0): build ours with each form's own.
    inner = _stock_inner if c3k and not attn else (lambda c, j: block.Bottleneck(c, c, True, 1))
    ours = C3k2Layout(c1, c2, n, c3k, e, attn, inner).eval()
    ours.load_state_dict(stock.state_dict(), strict=True)  # same keys and shapes
    x = torch.randn(2, c1, 12, 10)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), stock(x), rtol=0, atol=0)


@pytest.mark.parametrize("c, n", [(64, 1), (128, 2), (256, 1)])
def test_c2_layout_with_psa_blocks_is_ultralytics_c2psa(c, n):
    torch.manual_seed(0)
    stock = block.C2PSA(c, c, n).eval()
    ours = C2Layout(c, c, n, 0.5, lambda width, j: block.PSABlock(width, 0.5, max(width // 64, 1))).eval()
    ours.load_state_dict(stock.state_dict(), strict=True)
    x = torch.randn(2, c, 6, 5)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), stock(x), rtol=0, atol=0)


def test_c3k2_width_is_the_width_blocks_get():
    built = []
    C3k2Layout(16, 96, 1, True, 0.5, False, lambda c, j: built.append(c) or torch.nn.Identity())
    C3k2Layout(16, 96, 1, True, 0.5, True, lambda c, j: built.append(c) or torch.nn.Identity())
    assert built == [24, 24, 48] and c3k2_width(96, True, 0.5) == 24 and c3k2_width(96, True, 0.5, attn=True) == 48


def test_inner_block_index_is_shared_by_both_blocks_of_a_c3k():
    seen = []
    C3k2Layout(16, 64, 3, True, 0.5, False, lambda c, j: seen.append(j) or torch.nn.Identity())
    assert seen == [0, 0, 1, 1, 2, 2]
