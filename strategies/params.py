"""Declared strategy parameters: one declaration each, checked whenever a strategy is built.

Modelled on scikit-learn's ``_parameter_constraints`` (``Interval``, ``StrOptions``,
``InvalidParameterError``), but declared where the parameter is defined. A strategy lists its
parameters as annotated class attributes::

    every_days: int = param(7, "days between two pushes to a user", low=1, high=365)

The annotation gives the type (``int``, ``float``, ``bool``, ``str``, ``tuple[X, ...]``, any of
them ``| None``), :func:`param` the default, the one-line meaning (with units) and the allowed
range or choices. :class:`~strategies.base.Strategy` turns the declarations into
:class:`Param` objects (``cls.parameters``) and into an ``__init__`` taking them as keywords,
which validates every value on construction; ``siyu strategies show`` and config validation read
the same declarations.

Type rules: ``bool`` is not an ``int`` or a number; a ``float`` must be finite (no NaN or inf);
strings are not numbers. :func:`from_config` only turns what YAML cannot say into Python values
(a list into a tuple, an integer given for a float into that float).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal

from sim.errors import ConfigError
from sim.io.yaml import excerpt

PARAM_KEY = "siyu.param"  # where param() keeps its declaration in the dataclass field's metadata
Closed = Literal["both", "left", "right", "neither"]
SCALARS: dict[type, str] = {int: "an int", float: "a finite number", bool: "true or false",
                            str: "a string", dict: "a mapping"}  # fmt: skip


class ParameterError(ConfigError, TypeError):
    """A strategy parameter is unknown, of the wrong type or out of range.

    Like scikit-learn's ``InvalidParameterError`` it is both a ``ValueError`` (through
    :class:`~sim.errors.ConfigError`) and a ``TypeError``. ``problems`` holds
    ``(parameter, problem)`` pairs; :meth:`located` words them for a config file.
    """

    def __init__(self, strategy: str, problems: list[tuple[str, str]]) -> None:
        self.strategy = strategy
        self.problems = problems
        super().__init__("\n".join(f"{strategy}.{name} {problem}" for name, problem in problems))

    def located(self, where: str) -> str:
        """The message for a config: each line starts with ``where`` and the parameter's key."""
        return "\n".join(
            f"{where}.{name} ({self.strategy}) {problem}" for name, problem in self.problems
        )


@dataclasses.dataclass(frozen=True)
class Param:
    """One declared parameter: its type, default, meaning and allowed values.

    ``low``/``high`` bound numbers (each item of a tuple); ``closed`` says which bounds are
    allowed values (scikit-learn's convention). ``declared`` is False for parameters read off a
    third-party ``__init__`` that declares nothing (then any value passes).
    """

    name: str
    kind: type
    default: Any
    meaning: str
    low: float | None = None
    high: float | None = None
    closed: Closed = "both"
    choices: tuple[str, ...] | None = None
    optional: bool = False
    item: type | None = None
    declared: bool = True

    @property
    def type_name(self) -> str:
        """``int``, ``float | None``, ``tuple[float, ...]``, ... (as in the annotation)."""
        base = f"tuple[{self.item.__name__}, ...]" if self.item else self.kind.__name__
        return f"{base} | None" if self.optional else base

    @property
    def allowed(self) -> str:
        """The range or choices in words: ``[1, 365]``, ``> 0``, ``one of: a, b``, or ``''``."""
        if self.choices is not None:
            return "one of: " + ", ".join(self.choices)
        left, right = self.closed in ("both", "left"), self.closed in ("both", "right")
        if self.low is not None and self.high is not None:
            return f"{'[' if left else '('}{self.low:g}, {self.high:g}{']' if right else ')'}"
        if self.low is not None:
            return f"{'≥' if left else '>'} {self.low:g}"
        if self.high is not None:
            return f"{'≤' if right else '<'} {self.high:g}"
        return ""

    def expected(self) -> str:
        """What a valid value is, for error messages: ``an int in [1, 365]``, ..."""
        if not self.declared:
            return "anything"
        what = self.allowed if self.choices is not None else SCALARS[self.item or self.kind]
        if self.choices is None and self.allowed:
            between = self.low is not None and self.high is not None
            what = f"{what} in {self.allowed}" if between else f"{what} {self.allowed}"
        if self.item:
            what = f"a list of values, each {what}"
        return f"{what} or None" if self.optional else what

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not allowed (``must be ..., got ...``), or None if it is."""
        if not self.declared or (value is None and self.optional):
            return None
        if self.item:
            ok = isinstance(value, tuple | list) and all(self._fits(v, self.item) for v in value)
        else:
            ok = self._fits(value, self.kind)
        return None if ok else f"must be {self.expected()}, got {excerpt(value)}"

    def _fits(self, value: Any, kind: type) -> bool:
        if kind is dict:
            return isinstance(value, Mapping)
        if kind is bool or isinstance(value, bool):
            return kind is bool and isinstance(value, bool)
        if kind is str:
            return isinstance(value, str) and (self.choices is None or value in self.choices)
        number = numbers.Integral if kind is int else numbers.Real
        return isinstance(value, number) and math.isfinite(value) and self._in_range(value)

    def _in_range(self, value: float) -> bool:
        left, right = self.closed in ("both", "left"), self.closed in ("both", "right")
        above = self.low is None or (value >= self.low if left else value > self.low)
        below = self.high is None or (value <= self.high if right else value < self.high)
        return above and below

    def from_config(self, value: Any) -> Any:
        """``value`` as read from YAML/JSON turned into the Python value the strategy expects."""
        if self.item and isinstance(value, list):
            return tuple(self._number_from_config(v, self.item) for v in value)
        return self._number_from_config(value, self.kind)

    @staticmethod
    def _number_from_config(value: Any, kind: type) -> Any:
        is_int = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        return float(value) if kind is float and is_int else value


def param(
    default: Any,
    meaning: str,
    *,
    low: float | None = None,
    high: float | None = None,
    closed: Closed = "both",
    choices: tuple[str, ...] | None = None,
) -> Any:
    """Declare a strategy parameter (use as the value of an annotated class attribute).

    ``meaning`` is one line with units. The parameter's type is the attribute's annotation.
    """
    if not meaning.strip():
        raise TypeError("param() needs a meaning: one line saying what the value is, with units")
    spec = Param("", object, default, meaning, low, high, closed, choices and tuple(choices))
    return dataclasses.field(default=default, metadata={PARAM_KEY: spec})


def resolve(cls: type, field: dataclasses.Field) -> Param:
    """The :class:`Param` of a dataclass field declared with :func:`param` on ``cls``."""
    spec = field.metadata.get(PARAM_KEY)
    if spec is None:
        raise TypeError(
            f"{cls.__name__}.{field.name}: declare a parameter with param(default, meaning, ...), "
            "or annotate a class constant with ClassVar"
        )
    hint = typing.get_type_hints(cls)[field.name]
    optional = typing.get_origin(hint) in (typing.Union, types.UnionType)
    if optional:
        rest = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(rest) != 1 or len(typing.get_args(hint)) != 2:
            raise TypeError(f"{cls.__name__}.{field.name}: only 'X | None' unions are supported")
        hint = rest[0]
    kind, item = _kind_of(cls, field.name, hint)
    return dataclasses.replace(spec, name=field.name, kind=kind, optional=optional, item=item)


def _kind_of(cls: type, name: str, hint: Any) -> tuple[type, type | None]:
    if hint in (int, float, bool, str):
        return hint, None
    args = typing.get_args(hint)
    if typing.get_origin(hint) is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = typing.get_origin(args[0]) or args[0]
        if item in SCALARS:
            return tuple, item
    raise TypeError(
        f"{cls.__name__}.{name}: a parameter is an int, float, bool, str or tuple[X, ...] "
        f"(optionally '| None'), not {hint!r}"
    )


def undeclared(name: str, default: Any) -> Param:
    """A parameter read off an ``__init__`` that declares nothing: any value passes."""
    return Param(name, object, default, "(not declared)", declared=False)


def check_names(strategy: str, parameters: tuple[Param, ...], given: typing.Iterable[str]) -> None:
    """Raise :class:`ParameterError` for names that are not parameters, with a did-you-mean."""
    known = [p.name for p in parameters]
    problems = []
    for name in given:
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        listing = ", ".join(known) if known else "none"
        problems.append((name, f"is an unknown parameter; {hint}parameters: {listing}"))
    if problems:
        raise ParameterError(strategy, problems)


def check_values(strategy: str, parameters: tuple[Param, ...], values: Mapping[str, Any]) -> None:
    """Raise :class:`ParameterError` listing every value its declaration does not allow."""
    problems = [(p.name, msg) for p in parameters if (msg := p.problem(values[p.name]))]
    if problems:
        raise ParameterError(strategy, problems)
