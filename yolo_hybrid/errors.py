"""Exceptions raised by yolo_hybrid, and the argument checks that raise them.

Blocks validate their constructor arguments with these helpers so a bad YAML row fails with a message that names the
argument and the fix; the parser integration then prefixes the YAML file and layer index (see
``yolo_hybrid.integration.parser``).
"""

from __future__ import annotations

__all__ = [
    "YoloHybridError",
    "ConfigError",
    "UnsupportedUltralyticsError",
    "check_divisible",
    "check_fraction",
    "check_choice",
    "check_positive_int",
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
        raise ConfigError(
            f"{block}: {arg}={value} is not divisible by {divisor_arg}={divisor}. Fix: {fix}"
        )


def check_fraction(block: str, arg: str, value, fix: str) -> float:
    """Return ``value`` as a float in (0, 1]; raise ConfigError for booleans, non-numbers and out-of-range values."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < float(value) <= 1.0:
        raise ConfigError(f"{block}: {arg}={value!r} must be a number in (0, 1]. Fix: {fix}")
    return float(value)


def check_choice(block: str, arg: str, value, choices: tuple, fix: str):
    """Return ``value`` if it is one of ``choices`` (compared with ``==``, booleans rejected), else raise ConfigError."""
    if isinstance(value, bool) or value not in choices:
        raise ConfigError(f"{block}: {arg}={value!r} must be one of {list(choices)}. Fix: {fix}")
    return value


def check_positive_int(block: str, arg: str, value, fix: str) -> int:
    """Return ``value`` if it is an int >= 1 (booleans rejected), else raise ConfigError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{block}: {arg}={value!r} must be an integer >= 1. Fix: {fix}")
    return value


def hidden_width(block: str, dim: int, mlp_ratio: float) -> int:
    """``int(dim * mlp_ratio)``, the hidden width of an FFN; ConfigError if that leaves no channel."""
    hidden = int(dim * mlp_ratio)
    if hidden < 1:
        raise ConfigError(f"{block}: mlp_ratio={mlp_ratio} leaves no hidden channel. Fix: use >= 1.")
    return hidden
