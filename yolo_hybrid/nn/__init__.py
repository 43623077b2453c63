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

# Every class usable by name in a model YAML; each carries its description (``cls.yaml_spec``, see yolo_hybrid.spec).
_YAML_CLASSES = (
    BoT3, C2fBoT, BoTStage, BottleneckTransformer,
    CoT3, C2fCoT, CoTBottleneck,
    SAMBlock, MSABlock, SMTStage, C2fSAM,
    CMTBlock,
    AttnPoolClassify,
)
YAML_BLOCKS = {cls.__name__: (cls, cls.yaml_spec.kind) for cls in _YAML_CLASSES}

from yolo_hybrid import _autoload  # noqa: E402

_autoload.flush_pending()  # Ultralytics may have been imported (and tasks loaded) by the block modules above
