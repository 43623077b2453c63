"""Block families. ``YAML_BLOCKS`` lists every class usable by name in a model YAML and how Ultralytics' parser must
treat it: ``"repeat"`` blocks are built like C3/C2f (``(c1, c2_scaled, n, *args)``), ``"base"`` blocks like Conv
(``(c1, c2_scaled, *args)``), ``"head"`` blocks like Classify (``(c1, nc, *args)``, nc not width-scaled).
``FLOP_RULES`` counts what FLOP counters cannot see inside them. ``yolo_hybrid.registry.discover`` registers them
through the public ``register_block``, like any user's block; nothing here knows about Ultralytics' parser."""

from yolo_hybrid.nn.bot import BoT3, BoTStage, BottleneckTransformer, C2BoT, C2fBoT, C3k2BoT, RelPosMHSA2d
from yolo_hybrid.nn.cmt import C2CMT, C3k2CMT, CMTBlock, CMTLayer, LightweightMHSA
from yolo_hybrid.nn.cot import C2fCoT, C3k2CoT, CoT, CoT3, CoTBottleneck, LocalAggregation, count_local_aggregation
from yolo_hybrid.nn.pooling import AttentionPooling, AttnPoolClassify, attention_maps
from yolo_hybrid.nn.smt import (
    C2MSA,
    C2fSAM,
    C3k2SAM,
    MSABlock,
    SAMBlock,
    ScaleAwareModulation,
    SMTAttention,
    SMTBlock,
    SMTStage,
)

__all__ = [
    "YAML_BLOCKS",
    "FLOP_RULES",
    "RelPosMHSA2d",
    "BottleneckTransformer",
    "BoTStage",
    "BoT3",
    "C2fBoT",
    "C3k2BoT",
    "C2BoT",
    "LocalAggregation",
    "CoT",
    "CoTBottleneck",
    "CoT3",
    "C2fCoT",
    "C3k2CoT",
    "ScaleAwareModulation",
    "SMTAttention",
    "SMTBlock",
    "SAMBlock",
    "MSABlock",
    "SMTStage",
    "C2fSAM",
    "C3k2SAM",
    "C2MSA",
    "LightweightMHSA",
    "CMTLayer",
    "CMTBlock",
    "C3k2CMT",
    "C2CMT",
    "AttentionPooling",
    "AttnPoolClassify",
    "attention_maps",
]

# Every class usable by name in a model YAML; each carries its description (``cls.yaml_spec``, see yolo_hybrid.spec).
_YAML_CLASSES = (
    BoT3,
    C2fBoT,
    BoTStage,
    BottleneckTransformer,
    C3k2BoT,
    C2BoT,
    CoT3,
    C2fCoT,
    CoTBottleneck,
    C3k2CoT,
    SAMBlock,
    MSABlock,
    SMTStage,
    C2fSAM,
    C3k2SAM,
    C2MSA,
    CMTBlock,
    C3k2CMT,
    C2CMT,
    AttnPoolClassify,
)
YAML_BLOCKS = {cls.__name__: (cls, cls.yaml_spec.kind) for cls in _YAML_CLASSES}
FLOP_RULES = {LocalAggregation: count_local_aggregation}
