"""Exceptions raised by yolo_hybrid, and the two checks inner layers make on derived widths.

YAML blocks are validated from their declarative description (``yolo_hybrid.spec``) with messages naming the YAML
argument and the fix; the parser integration then prefixes the YAML file and layer index (see
``yolo_hybrid.integration.parser``).
"""

from __future__ import annotations

import difflib

__all__ = [
    "YoloHybridError",
    "ConfigError",
    "UnsupportedUltralyticsError",
    "check_divisible",
    "close_matches",
    "hidden_width",
]


class YoloHybridError(Exception):
    """Base class of every error raised on purpose by yolo_hybrid."""


class ConfigError(YoloHybridError, ValueError):
    """A block argument (usually from a model YAML row) is invalid; the message says which one and how to fix it."""


class UnsupportedUltralyticsError(YoloHybridError, RuntimeError):
    """The installed Ultralytics version is outside the supported range, or its parser cannot be extended."""


def check_divisible(block: str, arg: str, value: int, divisor: int, divisor_arg: str, fix: str) -> None:
    """Raise ConfigError unless ``value % divisor == 0``."""
    if divisor <= 0 or value % divisor:
        raise ConfigError(f"{block}: {arg}={value} is not divisible by {divisor_arg}={divisor}. Fix: {fix}")


def hidden_width(block: str, dim: int, mlp_ratio: float) -> int:
    """``int(dim * mlp_ratio)``, the hidden width of an FFN; ConfigError if that leaves no channel."""
    hidden = int(dim * mlp_ratio)
    if hidden < 1:
        raise ConfigError(f"{block}: mlp_ratio={mlp_ratio} leaves no hidden channel. Fix: use >= 1.")
    return hidden


def close_matches(name: str, candidates, cutoff: float = 0.8, limit: int = 3) -> list[str]:
    """What a user probably meant by ``name``: case-insensitive equals first, then the candidates whose similarity
    is within 0.05 of the best one and at least ``cutoff`` (so one clear suggestion is not followed by noise)."""
    candidates = list(dict.fromkeys(candidates))
    same = [c for c in candidates if c.lower() == name.lower()]
    if same:
        return same[:limit]
    scored = sorted(
        ((difflib.SequenceMatcher(None, name.lower(), c.lower()).ratio(), c) for c in candidates),
        key=lambda item: -item[0],
    )
    best = scored[0][0] if scored else 0.0
    close = [c for ratio, c in scored if ratio >= max(cutoff, best - 0.05)]
    return close[:limit]
