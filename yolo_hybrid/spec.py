"""One declarative description per YAML block: its arguments (kind, range, default, fix), its parser treatment and the
rules that tie arguments together.

Validation, error text and the documentation's block tables all come from these descriptions, so a block never checks an
argument by hand. ``@yaml_block`` attaches a ``BlockSpec`` to a class as ``yaml_spec`` and validates every call of its
constructor (the YAML parser's and a Python user's alike) before the body runs: a bad value is reported with the
argument's YAML name and position, never as a shape error from inside torch, and never coerced.

Examples:
    >>> import torch.nn as nn
    >>> @yaml_block("repeat", Arg("e", RATIO, "hidden channel ratio", "e.g. 0.5"))
    ... class MyC3(nn.Module):
    ...     def __init__(self, c1, c2, n=1, e=0.5): ...
    >>> MyC3(64, 64, 1, True)
    Traceback (most recent call last):
        ...
    yolo_hybrid.errors.ConfigError: MyC3: e=True (YAML args[1]) must be a number in (0, 1]. Fix: e.g. 0.5
"""

from __future__ import annotations

import abc
import functools
import inspect
import math
import re
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from yolo_hybrid.errors import ConfigError

__all__ = [
    "Kind",
    "Int",
    "Number",
    "Choice",
    "Flag",
    "Maybe",
    "Pair",
    "Heads",
    "Arg",
    "Rule",
    "BlockSpec",
    "yaml_block",
    "divides",
    "has_hidden",
    "head_count",
    "POSITIVE_INT",
    "RATIO",
    "POSITIVE",
    "PROBABILITY",
    "FLAG",
    "HEADS",
    "KINDS",
]

KINDS = ("repeat", "base", "head")
_TREATMENT = {
    "repeat": "like C3 (`c1, c2, n, ...`)",
    "base": "like Conv (`c1, c2, ...`)",
    "head": "like Classify (`c1, nc, ...`; nc not width-scaled)",
}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class Kind(abc.ABC):
    """What values an argument accepts; ``accepts`` never coerces (``True`` is not 1, ``"0.5"`` is not 0.5).

    Plain classes, not dataclasses: these are built while Ultralytics registers our blocks, which must stay cheap.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(repr(getattr(self, s)) for s in self.__slots__)})"

    @abc.abstractmethod
    def accepts(self, value) -> bool:
        """Whether ``value`` is one of this kind's values, as given (no conversion)."""

    @abc.abstractmethod
    def describe(self) -> str:
        """Phrase completing "must be ...", e.g. ``"an integer >= 1"``."""

    @abc.abstractmethod
    def short(self) -> str:
        """Compact form for the block tables, e.g. ``"int >= 1"``."""

    def check(self, block: str, arg: str, value, fix: str):
        """Return ``value`` if accepted, else raise ConfigError naming ``block`` and ``arg``."""
        if not self.accepts(value):
            raise ConfigError(f"{block}: {arg}={value!r} must be {self.describe()}. Fix: {fix}")
        return value


class Int(Kind):
    """An ``int`` (not a bool, not a float) in ``[low, high]``."""

    __slots__ = ("low", "high")

    def __init__(self, low: int = 1, high: int | None = None):
        self.low, self.high = low, high

    def accepts(self, value) -> bool:
        return _is_int(value) and value >= self.low and (self.high is None or value <= self.high)

    def describe(self) -> str:
        return f"an integer >= {self.low}" if self.high is None else f"an integer in [{self.low}, {self.high}]"

    def short(self) -> str:
        return f"int >= {self.low}" if self.high is None else f"int in [{self.low}, {self.high}]"


class Number(Kind):
    """A finite int or float (not a bool) between ``low`` and ``high`` (None: unbounded); ``low`` excluded and
    ``high`` included unless ``include_low`` / ``include_high`` say otherwise."""

    __slots__ = ("low", "high", "include_low", "include_high")

    def __init__(
        self, low: float = 0.0, high: float | None = None, include_low: bool = False, include_high: bool = True
    ):
        self.low, self.high, self.include_low, self.include_high = low, high, include_low, include_high

    def accepts(self, value) -> bool:
        if not _is_number(value):
            return False
        above = value >= self.low if self.include_low else value > self.low
        below = self.high is None or (value <= self.high if self.include_high else value < self.high)
        return above and below

    def describe(self) -> str:
        return f"a number {self.short()}"

    def short(self) -> str:
        if self.high is None:
            return f"{'>=' if self.include_low else '>'} {self.low:g}"
        return f"in {'[' if self.include_low else '('}{self.low:g}, {self.high:g}{']' if self.include_high else ')'}"


class Choice(Kind):
    """One of a few values (compared by type and value: ``True`` is not ``1``)."""

    __slots__ = ("values",)

    def __init__(self, values: tuple):
        self.values = tuple(values)

    def accepts(self, value) -> bool:
        return any(type(value) is type(v) and value == v for v in self.values)

    def describe(self) -> str:
        return f"one of {', '.join(map(repr, self.values))}"

    def short(self) -> str:
        return " or ".join(map(repr, self.values))


class Flag(Kind):
    """``True`` or ``False`` exactly."""

    __slots__ = ()

    def accepts(self, value) -> bool:
        return isinstance(value, bool)

    def describe(self) -> str:
        return "True or False"

    def short(self) -> str:
        return "bool"


class Maybe(Kind):
    """``None`` (YAML ``null``) or a value of ``kind``."""

    __slots__ = ("kind",)

    def __init__(self, kind: Kind):
        self.kind = kind

    def accepts(self, value) -> bool:
        return value is None or self.kind.accepts(value)

    def describe(self) -> str:
        return f"null or {self.kind.describe()}"

    def short(self) -> str:
        return f"null or {self.kind.short()}"


class Pair(Kind):
    """A value of ``kind``, or an ``[h, w]`` list/tuple of two of them."""

    __slots__ = ("kind",)

    def __init__(self, kind: Kind):
        self.kind = kind

    def accepts(self, value) -> bool:
        if isinstance(value, (list, tuple)):
            return len(value) == 2 and all(self.kind.accepts(v) for v in value)
        return self.kind.accepts(value)

    def describe(self) -> str:
        return f"{self.kind.describe()}, or an [h, w] pair of them"

    def short(self) -> str:
        return f"{self.kind.short()} or [h, w]"


class Heads(Kind):
    """An attention head count: an int >= 1, ``"d<N>"`` for one head per N channels of the layer (at least one), or
    ``"d<N><=<K>"`` for the same with at most K heads.

    ``"d64"`` keeps the channels per head, not the count, as the width changes across scales: CMT's and SMT's stages
    keep their channels per head (64 in CMT-S, 32 in SMT-T/S), and Ultralytics' PSA writes ``c // 64``; a fixed
    count leaves 8 channels per head at scale n. ``"d64<=8"`` is a paper's stage count of 8 kept wherever the layer
    is wide enough for 64 channels per head, and fewer heads where it is narrower: never more heads (more logits to
    exponentiate and bias) than the paper. ``head_count`` turns any of them into the count.
    """

    __slots__ = ()
    PATTERN = re.compile(r"d([1-9][0-9]*)(?:<=([1-9][0-9]*))?")

    def accepts(self, value) -> bool:
        return (_is_int(value) and value >= 1) or (isinstance(value, str) and bool(self.PATTERN.fullmatch(value)))

    def describe(self) -> str:
        return (
            'an integer >= 1, or "d<N>" for one head per N channels (e.g. "d64"), or "d<N><=<K>" for at most K '
            'of those (e.g. "d64<=8")'
        )

    def short(self) -> str:
        return 'int >= 1, "d<N>" or "d<N><=<K>"'


def head_count(heads: int | str, channels: int) -> int:
    """The number of heads ``heads`` (a ``Heads`` value) gives a layer of ``channels``: an int as it is,
    ``"d<N>"`` as ``max(1, channels // N)``, ``"d<N><=<K>"`` as ``min(K, max(1, channels // N))``."""
    if isinstance(heads, str):
        per, most = Heads.PATTERN.fullmatch(heads).groups()
        count = max(1, channels // int(per))
        return count if most is None else min(count, int(most))
    return heads


POSITIVE_INT = Int(1)
RATIO = Number(0.0, 1.0)
POSITIVE = Number(0.0)
PROBABILITY = Number(0.0, 1.0, include_low=True, include_high=False)
FLAG = Flag()
HEADS = Heads()


class Arg:
    """One constructor argument as a YAML row writes it.

    Args:
        name (str): Parameter name (also the name used in every message).
        kind (Kind): Accepted values.
        doc (str): What it is, for the block tables.
        fix (str): What to write instead, appended to every error about it.
    """

    __slots__ = ("name", "kind", "doc", "fix")

    def __init__(self, name: str, kind: Kind, doc: str, fix: str):
        self.name, self.kind, self.doc, self.fix = name, kind, doc, fix


class Rule:
    """A constraint between arguments, checked after every argument passed its own kind.

    ``check`` receives the arguments as attributes (``a.c2``, ``a.heads``; c2 as the parser passes it, i.e. width-
    scaled) and returns None or what is wrong (``"must divide int(c2*e) = 40"``). The error names ``arg``, the YAML
    argument to change.
    """

    __slots__ = ("arg", "check", "fix")

    def __init__(self, arg: str, check: Callable[[SimpleNamespace], str | None], fix: str):
        self.arg, self.check, self.fix = arg, check, fix


def divides(
    arg: str,
    width: Callable[[SimpleNamespace], int],
    formula: str,
    fix: str,
    per: Callable[[SimpleNamespace], int] | None = None,
) -> Rule:
    """Rule: the count ``arg`` (heads) divides the channel width ``width(a)``, named ``formula`` in the message.

    A ``"d<N>"`` head count is first resolved against the layer's width ``per(a)`` (default ``width(a)``).
    """

    def check(a: SimpleNamespace) -> str | None:
        value, channels = getattr(a, arg), width(a)
        count = head_count(value, (per or width)(a))
        if channels < count or channels % count:
            scale = "at this scale" if formula == "c2" else f"c2 = {a.c2} at this scale"
            gives = f"gives {count} heads here, which " if isinstance(value, str) else ""
            return f"{gives}must divide {formula} = {channels} ({scale})"
        return None

    return Rule(arg, check, fix)


def has_hidden(width: Callable[[SimpleNamespace], int], formula: str, fix: str, what: str = "FFN") -> Rule:
    """Rule: ``mlp_ratio`` leaves at least one hidden channel at the width ``width(a)`` (named ``formula``)."""

    def check(a: SimpleNamespace) -> str | None:
        hidden = int(width(a) * a.mlp_ratio)
        return None if hidden >= 1 else f"leaves int({formula} * mlp_ratio) = {hidden} hidden {what} channels"

    return Rule("mlp_ratio", check, fix)


# Arguments every block of a kind has; their position is fixed by Ultralytics' parser.
_C1 = Arg("c1", POSITIVE_INT, "input channels (from the previous layer)", "check the layer's `from` index")
_C2 = Arg("c2", POSITIVE_INT, "output channels (width-scaled by the parser)", "write a positive int, e.g. 256")
_NC = Arg("c2", POSITIVE_INT, "number of classes (`nc`; not width-scaled)", "write nc, or a positive int")
_N = Arg(
    "n",
    Int(0),
    "repeats: the row's 2nd column, depth-scaled by the parser",
    "write a positive int in the row's 2nd column, e.g. 3",
)


class BlockSpec:
    """Everything the YAML parser, the errors and the documentation need to know about one block.

    Attributes:
        cls (type): The block class.
        kind (str): ``"repeat"`` (built like C3), ``"base"`` (like Conv) or ``"head"`` (like Classify).
        args (tuple[Arg, ...]): Every parameter after c1/c2 (and n), in signature order.
        rules (tuple[Rule, ...]): Cross-argument constraints.
        summary (str): One line for the block tables.
        n (Arg | None): Override of the repeat count's kind (e.g. at least 1).
    """

    def __init__(
        self,
        cls: type,
        kind: str,
        args: tuple[Arg, ...],
        rules: tuple[Rule, ...] = (),
        summary: str = "",
        n: Arg | None = None,
        signature: inspect.Signature | None = None,
    ):
        self.cls, self.kind, self.args, self.rules, self.summary, self.n = (
            cls,
            kind,
            tuple(args),
            tuple(rules),
            summary,
            n,
        )
        self.signature = signature if signature is not None else inspect.signature(cls.__init__)

    @property
    def name(self) -> str:
        return self.cls.__name__

    def fixed(self) -> tuple[Arg, ...]:
        """The leading arguments the parser supplies: c1, c2 (nc for heads), n for repeat blocks."""
        if self.kind == "repeat":
            return (_C1, _C2, self.n or _N)
        return (_C1, _NC if self.kind == "head" else _C2)

    def all_args(self) -> tuple[Arg, ...]:
        return (*self.fixed(), *self.args)

    def yaml_names(self) -> list[str]:
        """The YAML ``args`` list of a row, in order: ``["c2", "e", ...]``."""
        return ["c2", *(a.name for a in self.args)]

    def where(self, name: str) -> str:
        """Where a user writes ``name`` in the YAML row: ``"args[2]"``, ``"the row's repeats column"``, ..."""
        if name == "c1":
            return "input channels, from the layer's `from`"
        if name == "n":
            return "the row's repeats column, after depth scaling"
        return f"YAML args[{self.yaml_names().index(name)}]"

    def default(self, name: str):
        return self.signature.parameters[name].default

    def error(self, arg: Arg | str, value, problem: str, fix: str) -> ConfigError:
        name = arg if isinstance(arg, str) else arg.name
        return ConfigError(f"{self.name}: {name}={value!r} ({self.where(name)}) {problem}. Fix: {fix}")

    def bind(self, args: tuple, kwargs: dict) -> dict:
        """Map a constructor call to ``{parameter: value}`` (defaults filled in); ConfigError if it does not fit."""
        try:
            bound = self.signature.bind(None, *args, **kwargs)
        except TypeError as error:
            yaml = "[" + ", ".join(self.yaml_names()) + "]"
            given = len(args) - (len(self.fixed()) - 1)  # positional values minus the parser's own (c1, and n)
            if "too many" in str(error):
                problem = f"{self.name} takes at most {len(self.yaml_names())} YAML args {yaml}; {given} given"
                fix = "remove the extra value(s) at the end of the row's args"
            else:
                problem = f"{self.name} cannot be called this way ({error}); its YAML args are {yaml}"
                fix = f"write at least c2, e.g. [-1, 1, {self.name}, [256]]"
            raise ConfigError(f"{problem}. Fix: {fix}") from None
        bound.apply_defaults()
        values = dict(bound.arguments)
        values.pop(next(iter(self.signature.parameters)))  # self
        return values

    def validate(self, values: dict) -> None:
        """Check every argument against its kind, then the rules; ConfigError naming the first offender."""
        for arg in self.all_args():
            value = values[arg.name]
            if not arg.kind.accepts(value):
                raise self.error(arg, value, f"must be {arg.kind.describe()}", arg.fix)
        namespace = SimpleNamespace(**values)
        for rule in self.rules:
            problem = rule.check(namespace)
            if problem:
                raise self.error(rule.arg, values[rule.arg], problem, rule.fix)

    def row_problem(self, row) -> str | None:
        """What is structurally wrong with a YAML row ``[from, n, name, args]`` before the parser touches it.

        The parser evaluates strings, scales c2 and n and inserts c1 before our constructor runs; a c2 of ``True``
        or ``2.5`` would be silently scaled to 8 and a string n fails inside the parser, so those are checked here.
        """
        if not isinstance(row, (list, tuple)) or len(row) != 4:
            return None
        n, args = row[1], row[3]
        if isinstance(args, tuple):
            args = list(args)
        if not isinstance(args, list):
            return f"args {args!r} must be a list. Fix: write [-1, 1, {self.name}, [256]]"
        names = self.yaml_names()
        if not args:
            return f"{self.name} needs at least c2 (YAML args[0]). Fix: write e.g. [-1, 1, {self.name}, [256]]"
        if len(args) > len(names):
            return (
                f"{self.name} takes at most {len(names)} YAML args [{', '.join(names)}]; {len(args)} given. "
                "Fix: remove the extra value(s) at the end of the row's args"
            )
        c2 = args[0]
        if not (self.kind == "head" and c2 == "nc") and not POSITIVE_INT.accepts(c2):
            fix = "write nc or a positive int" if self.kind == "head" else "write a positive int, e.g. 256"
            return f"{self.name}: c2={c2!r} (YAML args[0]) must be an integer >= 1. Fix: {fix}"
        scaled = n > 1 if _is_number(n) else False  # Ultralytics rounds repeats > 1 after depth scaling
        if not (_is_int(n) and n >= 0 or scaled):
            return (
                f"{self.name}: n={n!r} (the row's repeats column) must be an integer >= 0 (numbers above 1 are "
                "depth-scaled and rounded by Ultralytics). Fix: write e.g. 1 or 3"
            )
        return None

    def table_row(self) -> str:
        """This block's line in the documentation's block tables."""
        args = ", ".join(f"`{a.name}={self.default(a.name)!r}` ({a.kind.short()})" for a in self.args)
        head = "`nc`" if self.kind == "head" else "`c2`"
        return f"| `{self.name}` | {_TREATMENT[self.kind]} | {head}{', ' + args if args else ''} | {self.summary} |"


def yaml_block(kind: str, *args: Arg, rules: tuple[Rule, ...] = (), summary: str = "", n: Arg | None = None):
    """Class decorator: describe a YAML block and validate every construction of it against the description.

    Args:
        kind (str): ``"repeat"``, ``"base"`` or ``"head"`` (see ``BlockSpec``).
        *args (Arg): Every constructor parameter after c1, c2 (and n for repeat blocks), in signature order.
        rules (tuple[Rule, ...]): Constraints between arguments.
        summary (str): One line for the block tables.
        n (Arg | None): Override of the repeat count's kind (default: an integer >= 0, like C3).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")

    def decorate(cls: type) -> type:
        init = cls.__init__
        signature = inspect.signature(init)
        spec = BlockSpec(cls, kind, tuple(args), tuple(rules), summary, n, signature)
        declared = [a.name for a in spec.all_args()]
        params = list(signature.parameters)[1:]
        if declared != params:
            raise TypeError(f"{cls.__name__}: yaml_block arguments {declared} differ from the signature {params}")

        @functools.wraps(init)
        def __init__(self, *call_args: Any, **call_kwargs: Any) -> None:
            spec.validate(spec.bind(call_args, call_kwargs))
            init(self, *call_args, **call_kwargs)

        cls.__init__ = __init__
        cls.yaml_spec = spec
        return cls

    return decorate
