"""PatchConvNet's attention-based pooling (Touvron et al., "Augmenting Convolutional networks with attention-based
aggregation", arXiv 2112.13692) as an Ultralytics classification head.

Global average pooling is replaced by one learned CLS query that attends, with one head, over itself and every patch
(position) of the last feature map, in a single pre-norm block with layer scale and an MLP of ratio 3, followed by a
LayerNorm. The attention weights of the CLS query over the patches show where the classifier looks.

Layers:
    LearnedAggregation: the single-query attention (q from the CLS token, k/v from CLS + patches, projection).
    AttentionPoolingBlock: CLS <- CLS + g1 * attn(LN([CLS, patches])); CLS <- CLS + g2 * MLP(LN(CLS)).
    AttentionPooling: CLS token + block + final LayerNorm: (B, C, H, W) -> (B, C); also returns attention maps.
    AttnPoolClassify: Ultralytics ``Classify`` with ``AttentionPooling`` in place of average pooling.
    attention_maps: class probabilities and attention maps of a model with that head.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from ultralytics.nn.modules import Classify

from yolo_hybrid.nn.norm import SingleValueBatchNorm2d
from yolo_hybrid.spec import POSITIVE, POSITIVE_INT, Arg, Int, Maybe, Rule, has_hidden, yaml_block

__all__ = ["LearnedAggregation", "AttentionPoolingBlock", "AttentionPooling", "AttnPoolClassify", "attention_maps"]


class LearnedAggregation(nn.Module):
    """Attention of the CLS token (row 0) over all tokens, itself included: ``proj(softmax(q k^T / sqrt(d)) v)``.

    Args:
        dim (int): Token width.
        heads (int): Heads (PatchConvNet: 1).
        qkv_bias (bool): Biases of the q/k/v projections (True in every released PatchConvNet).

    Shapes:
        tokens: (B, 1 + N, dim) -> (B, 1, dim) and attention weights (B, heads, 1 + N).
    """

    def __init__(self, dim: int, heads: int = 1, qkv_bias: bool = True):
        super().__init__()
        if heads < 1 or dim % heads:
            from yolo_hybrid.errors import ConfigError

            raise ConfigError(f"{type(self).__name__}: heads={heads} must divide dim={dim}. Fix: use heads=1.")
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.k = nn.Linear(dim, dim, bias=qkv_bias)
        self.v = nn.Linear(dim, dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, n, c = tokens.shape
        d = c // self.heads
        q = self.q(tokens[:, :1]).reshape(b, 1, self.heads, d).transpose(1, 2)  # (B, h, 1, d)
        k = self.k(tokens).reshape(b, n, self.heads, d).transpose(1, 2)  # (B, h, 1+N, d)
        v = self.v(tokens).reshape(b, n, self.heads, d).transpose(1, 2)
        attn = (torch.matmul(q * self.scale, k.transpose(-1, -2))).softmax(-1)  # (B, h, 1, 1+N)
        out = torch.matmul(attn, v).transpose(1, 2).reshape(b, 1, c)
        return self.proj(out), attn[:, :, 0]


class AttentionPoolingBlock(nn.Module):
    """PatchConvNet's class-token-only block with layer scale (``Layer_scale_init_Block_only_token``).

    Args:
        dim (int): Token width.
        mlp_ratio (float): MLP hidden ratio (3.0).
        init_scale (float): Layer-scale initial value (PatchConvNet-S60: 1e-4).
        heads (int): Attention heads (1).
    """

    def __init__(self, dim: int, mlp_ratio: float = 3.0, init_scale: float = 1e-4, heads: int = 1):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = LearnedAggregation(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.gamma1 = nn.Parameter(torch.full((dim,), float(init_scale)))
        self.gamma2 = nn.Parameter(torch.full((dim,), float(init_scale)))

    def forward(self, cls: torch.Tensor, patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out, attn = self.attn(self.norm1(torch.cat((cls, patches), 1)))
        cls = cls + self.gamma1 * out
        return cls + self.gamma2 * self.mlp(self.norm2(cls)), attn


class AttentionPooling(nn.Module):
    """(B, C, H, W) -> (B, C): learned CLS query, one attention block over [CLS, patches], final LayerNorm.

    Args:
        dim (int): Channels C.
        mlp_ratio (float): MLP hidden ratio.
        init_scale (float): Layer-scale initial value.
    """

    def __init__(self, dim: int, mlp_ratio: float = 3.0, init_scale: float = 1e-4):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        self.block = AttentionPoolingBlock(dim, mlp_ratio, init_scale)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def forward_with_attention(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pooled features (B, C) and the CLS attention over [CLS, patches] (B, heads, 1 + H*W)."""
        patches = x.flatten(2).transpose(1, 2)  # (B, H*W, C), row-major positions
        cls, attn = self.block(self.cls_token.expand(x.shape[0], -1, -1), patches)
        return self.norm(cls)[:, 0], attn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_attention(x)[0]


CLASSIFY_WIDTH = 1280  # Classify's conv width (efficientnet_b0), in every Ultralytics version


def _groups(a) -> str | None:
    bad = a.c1 % a.g or CLASSIFY_WIDTH % a.g
    return f"must divide the input channels c1 = {a.c1} and Classify's width {CLASSIFY_WIDTH}" if bad else None


_EVAL_OUTPUT: str | None = None  # a module global, not functools.cache: torch.compile reads it as a constant


def _classify_eval_output() -> str:
    """How the installed Ultralytics' ``Classify`` answers in eval mode: ``"softmax"`` (8.1, 8.2), ``"logits"``
    (8.3.40) or ``"both"`` (later: ``(softmax, logits)``, softmax alone when ``export`` is set).

    Read from the class's behaviour on a known input, not from its version number, so the head follows whatever
    convention the installed release has. Probed once, eagerly (the head's ``__init__`` asks first), never inside a
    traced or compiled forward, which would otherwise build the probe module there.
    """
    global _EVAL_OUTPUT
    if _EVAL_OUTPUT is None:
        _EVAL_OUTPUT = _probe_classify()
    return _EVAL_OUTPUT


def _probe_classify() -> str:
    probe = Classify(1, 2).eval()
    with torch.no_grad():
        probe.linear.weight.zero_()
        probe.linear.bias.copy_(torch.tensor([0.0, 3.0]))
        out = probe(torch.zeros(1, 1, 1, 1))
    if isinstance(out, (tuple, list)):
        return "both"
    return "logits" if torch.allclose(out, probe.linear.bias) else "softmax"


@yaml_block(
    "head",
    Arg("k", POSITIVE_INT, "head conv kernel (as Classify)", "use 1"),
    Arg("s", POSITIVE_INT, "head conv stride (as Classify)", "use 1"),
    Arg("p", Maybe(Int(0)), "head conv padding (null: auto)", "use null"),
    Arg("g", POSITIVE_INT, "head conv groups (as Classify)", "use 1"),
    Arg("mlp_ratio", POSITIVE, "pooling MLP ratio (PatchConvNet: 3)", "use e.g. 3.0"),
    Arg("init_scale", POSITIVE, "layer-scale initial value (PatchConvNet-S60: 1e-4)", "use e.g. 0.1 or 1e-4"),
    rules=(Rule("g", _groups, "use g=1"), has_hidden(lambda a: a.c1, "c1", "use mlp_ratio >= 1, e.g. 3.0", "MLP")),
    summary="Classify with PatchConvNet attention pooling in place of average pooling.",
)
class AttnPoolClassify(Classify):
    """Ultralytics ``Classify`` with PatchConvNet attention pooling in place of global average pooling.

    As in PatchConvNet, the attention pools the trunk's own features (the head input, c1 channels); Classify's 1x1
    Conv-BN-SiLU to 1280 and its Linear then act on the pooled vector. (Pooling after the 1280-channel conv, the
    literal slot of Classify's average pooling, would put a 1280-wide attention block and MLP, about 16 M parameters,
    into every scale, nano included.) The conv's BN is a ``SingleValueBatchNorm2d`` since it sees one value per
    channel and image.

    Same constructor, ``.conv``/``.linear`` and output conventions as the installed ``Classify`` (logits in training;
    in eval softmax on 8.1/8.2, logits on 8.3.40, ``(softmax, logits)`` or softmax in export later), so Ultralytics
    treats it as its own head: task ``classify``, ``nc`` not
    width-scaled, ``reshape_outputs`` when a dataset changes ``nc``, export.

    Args:
        c1 (int): Input channels.
        c2 (int): Number of classes.
        k (int): The head conv's kernel (as Classify).
        s (int): Its stride.
        p (int | None): Its padding (None: same).
        g (int): Its groups.
        mlp_ratio (float): Pooling MLP ratio (PatchConvNet: 3).
        init_scale (float): Layer-scale initial value (PatchConvNet-S60: 1e-4).

    Examples:
        >>> head = AttnPoolClassify(256, 10).eval()
        >>> probs, logits = head(torch.randn(2, 256, 7, 5))
    """

    def __init__(
        self,
        c1: int,
        c2: int,
        k: int = 1,
        s: int = 1,
        p=None,
        g: int = 1,
        mlp_ratio: float = 3.0,
        init_scale: float = 1e-4,
    ):
        super().__init__(c1, c2, k, s, p, g)
        bn = self.conv.bn
        self.conv.bn = SingleValueBatchNorm2d(bn.num_features, bn.eps, bn.momentum)
        self.pool = AttentionPooling(c1, mlp_ratio, init_scale)
        _classify_eval_output()  # probe now, in eager mode, never inside a traced forward

    def forward(self, x):
        if isinstance(x, list):
            x = torch.cat(x, 1)
        pooled = self.pool(x)[:, :, None, None]  # (B, c1, 1, 1)
        x = self.linear(self.drop(self.conv(pooled).flatten(1)))
        if self.training:
            return x
        convention = _classify_eval_output()
        if convention == "logits":
            return x
        y = x.softmax(1)
        return y if convention == "softmax" or getattr(self, "export", False) else (y, x)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """Attention of the CLS query over the head's input map: (B, H, W) weights of the patches.

        ``x`` is the head's input (what the previous layer outputs). The weights over patches plus the CLS token's
        weight on itself sum to 1.
        """
        if isinstance(x, list):
            x = torch.cat(x, 1)
        _, attn = self.pool.forward_with_attention(x)
        b, _, height, width = x.shape
        return attn.mean(1)[:, 1:].reshape(b, height, width)


def attention_maps(model: nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Class probabilities and per-patch attention maps of a classifier whose head is ``AttnPoolClassify``.

    Args:
        model (nn.Module): An Ultralytics ``ClassificationModel`` (e.g. ``YOLO(...).model``).
        images (torch.Tensor): (B, 3, H, W) in [0, 1], preprocessed as for the model.

    Returns:
        (tuple): probabilities (B, nc) and attention (B, H', W') over the head's input map (stride 32).
    """
    head = next((m for m in model.modules() if isinstance(m, AttnPoolClassify)), None)
    if head is None:
        raise ValueError(
            "attention_maps() needs a model whose head is AttnPoolClassify (e.g. yolov8-cls-attnpool.yaml)"
        )
    captured = {}
    hook = head.register_forward_pre_hook(lambda module, args: captured.__setitem__("x", args[0]))
    try:
        with torch.no_grad():
            out = model(images)
            maps = head.attention(captured["x"])
    finally:
        hook.remove()
    probs = out[0] if isinstance(out, (tuple, list)) else out
    if _classify_eval_output() == "logits":
        probs = probs.softmax(1)
    return probs, maps
