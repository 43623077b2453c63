"""Block families. ``YAML_BLOCKS`` lists every class usable by name in a model YAML and how Ultralytics' parser must
treat it: ``"repeat"`` blocks are built like C3/C2f (``(c1, c2_scaled, n, *args)``), ``"base"`` blocks like Conv
(``(c1, c2_scaled, *args)``), ``"head"`` blocks like Classify (``(c1, nc, *args)``, nc not width-scaled)."""

from yolo_hybrid.nn.cmt import CMTBlock, CMTLayer, LightweightMHSA
from yolo_hybrid.nn.bot import BoT3, BoTStage, BottleneckTransformer, C2fBoT, RelPosMHSA2d
from yolo_hybrid.nn.cot import C2fCoT, CoT, CoT3, CoTBottleneck, LocalAggregation
from yolo_hybrid.nn.pooling import AttentionPooling, AttnPoolClassify, attention_maps
from yolo_hybrid.nn.smt import C2fSAM, MSABlock, SAMBlock, ScaleAwareModulation, SMTAttention, SMTBlock, SMTStage

__all__ = [
    "YAML_BLOCKS",
    "RelPosMHSA2d",
    "BottleneckTransformer",
    "BoTStage",
    "BoT3",
    "C2fBoT",
    "LocalAggregation",
    "CoT",
    "CoTBottleneck",
    "CoT3",
    "C2fCoT",
    "ScaleAwareModulation",
    "SMTAttention",
    "SMTBlock",
    "SAMBlock",
    "MSABlock",
    "SMTStage",
    "C2fSAM",
    "LightweightMHSA",
    "CMTLayer",
    "CMTBlock",
    "AttentionPooling",
    "AttnPoolClassify",
    "attention_maps",
]

YAML_BLOCKS = {
    "BoT3": (BoT3, "repeat"),
    "C2fBoT": (C2fBoT, "repeat"),
    "BoTStage": (BoTStage, "repeat"),
    "BottleneckTransformer": (BottleneckTransformer, "base"),
    "CoT3": (CoT3, "repeat"),
    "C2fCoT": (C2fCoT, "repeat"),
    "CoTBottleneck": (CoTBottleneck, "base"),
    "SAMBlock": (SAMBlock, "repeat"),
    "MSABlock": (MSABlock, "repeat"),
    "SMTStage": (SMTStage, "repeat"),
    "C2fSAM": (C2fSAM, "repeat"),
    "CMTBlock": (CMTBlock, "repeat"),
    "AttnPoolClassify": (AttnPoolClassify, "head"),
}

from yolo_hybrid import _autoload  # noqa: E402

_autoload.flush_pending()  # Ultralytics may have been imported (and tasks loaded) by the block modules above
