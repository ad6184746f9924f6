"""Meaning of a rule condition: the field catalog, the type checker and the vectorised evaluator.

A catalog maps field names to :class:`FieldSpec` (``number``, ``bool`` or ``category``).
:func:`check` resolves every name against it and rejects ill-typed conditions with a
:class:`~sim.rules.tokens.RuleSyntaxError` that marks the offending token. :func:`evaluate`
computes a checked tree over whole population columns at once (one numpy array per field, one row
per user), with numpy only:

* numbers are computed in float64 whatever the column dtype (no integer overflow);
* ``x / 0`` and ``x % 0`` give ``nan``, so every comparison with them is false except ``!=``
  (IEEE 754); ``not in`` is true for ``nan``;
* category columns hold small integer codes (index into ``FieldSpec.categories``); a string
  compared with a category field is turned into its code once, never per row.
"""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import reduce
from typing import Any, Literal

import numpy as np

from sim.rules.parser import (
    BinOp,
    Bool,
    BoolOp,
    Compare,
    Field,
    ListLit,
    Neg,
    Node,
    Not,
    Number,
    String,
    walk,
)
from sim.rules.tokens import KEYWORDS, RuleSyntaxError

FieldKind = Literal["number", "bool", "category"]
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KIND_WORDS = {"number": "a number", "bool": "a true/false value", "category": "a category"}
_KIND_WORDS |= {"string": "a string", "list": "a list"}


@dataclass(frozen=True)
class FieldSpec:
    """One field a condition may use.

    Parameters
    ----------
    name : str
        The name written in conditions, e.g. ``"days_since_open"``.
    kind : {"number", "bool", "category"}
        Numbers may be any numeric dtype, bools are ``np.bool_`` arrays, categories are integer
        codes indexing ``categories``.
    categories : tuple of str
        The category labels, in code order (category fields only; at most 127).
    doc : str
        One line saying what the field means, for documentation and error messages.
    """

    name: str
    kind: FieldKind
    categories: tuple[str, ...] = ()
    doc: str = ""

    def __post_init__(self) -> None:
        if not _IDENTIFIER.fullmatch(self.name) or self.name in KEYWORDS:
            raise ValueError(f"field name {self.name!r} cannot be written in a condition")
        if self.name.startswith("__"):
            raise ValueError(f"field name {self.name!r} may not start with '__'")
        if self.kind not in ("number", "bool", "category"):
            raise ValueError(f"field {self.name!r}: unknown kind {self.kind!r}")
        if (self.kind == "category") != bool(self.categories):
            raise ValueError(
                f"field {self.name!r}: categories are required for, and only for, kind 'category'"
            )
        if len(set(self.categories)) != len(self.categories) or len(self.categories) > 127:
            raise ValueError(f"field {self.name!r}: categories must be unique and at most 127")


@dataclass(frozen=True)
class _Type:
    """Static type of a sub-expression; ``field`` names it when it is a bare field."""

    kind: str
    field: str | None = None
    categories: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.field is None:
            return _KIND_WORDS[self.kind]
        word = {"bool": "true/false"}.get(self.kind, self.kind)
        return f"{word} field {self.field!r}"


def check(
    node: Node, catalog: Mapping[str, FieldSpec], expect: str | None = "bool", text: str = ""
) -> str:
    """Resolve names and check types; return the kind of the whole expression.

    Parameters
    ----------
    node : Node
        Tree from :func:`~sim.rules.parser.parse`.
    catalog : Mapping[str, FieldSpec]
        The fields conditions may use.
    expect : {"bool", "number", None}
        Required result kind; ``None`` accepts either.
    text : str
        The source text, so that errors can show it with a caret.

    Returns
    -------
    str
        ``"bool"`` or ``"number"``.

    Raises
    ------
    RuleSyntaxError
        Unknown field, bad category value, ill-typed operator, non-list right side of ``in``,
        mixed-type list, or a result of the wrong kind.
    """
    result = _Checker(catalog, text).type_of(node)
    if result.kind not in ("bool", "number") or (expect is not None and result.kind != expect):
        wanted = {"bool": "true or false", "number": "a number"}.get(
            expect, "a number or true/false"
        )
        hint = f"; compare it, e.g. '{result.field or 'x'} > 0'" if result.kind == "number" else ""
        message = f"a condition must be {wanted}, but this is {result.describe()}{hint}"
        raise RuleSyntaxError(message, text, node.pos)
    return result.kind


class _Checker:
    """Computes the :class:`_Type` of each node, raising on the first type error."""

    def __init__(self, catalog: Mapping[str, FieldSpec], text: str) -> None:
        self.catalog = catalog
        self.text = text

    def error(self, message: str, pos: int) -> RuleSyntaxError:
        return RuleSyntaxError(message, self.text, pos)

    def need(self, node: Node, kind: str, what: str) -> None:
        found = self.type_of(node)
        if found.kind != kind:
            raise self.error(f"{what}, but got {found.describe()}", node.pos)

    def type_of(self, node: Node) -> _Type:
        if isinstance(node, Number):
            return _Type("number")
        if isinstance(node, String):
            return _Type("string")
        if isinstance(node, Bool):
            return _Type("bool")
        if isinstance(node, Field):
            return self.field(node)
        if isinstance(node, ListLit):
            return self.list_type(node)
        if isinstance(node, Neg):
            self.need(node.operand, "number", "unary '-' needs a number")
            return _Type("number")
        if isinstance(node, Not):
            self.need(node.operand, "bool", "'not' needs a true/false value")
            return _Type("bool")
        if isinstance(node, BoolOp):
            for operand in node.operands:
                self.need(operand, "bool", f"'{node.op}' needs true/false values on both sides")
            return _Type("bool")
        if isinstance(node, BinOp):
            self.need(node.left, "number", f"'{node.op}' needs numbers on both sides")
            self.need(node.right, "number", f"'{node.op}' needs numbers on both sides")
            return _Type("number")
        return self.compare(node)

    def field(self, node: Field) -> _Type:
        spec = self.catalog.get(node.name)
        if spec is None:
            close = difflib.get_close_matches(node.name, list(self.catalog), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise self.error(f"unknown field {node.name!r}{hint}", node.pos)
        return _Type(spec.kind, node.name, spec.categories)

    def list_type(self, node: ListLit) -> _Type:
        kinds = [self.type_of(item).kind for item in node.items]
        for item, kind in zip(node.items, kinds, strict=True):
            if kind != kinds[0]:
                found, first = _KIND_WORDS[kind], _KIND_WORDS[kinds[0]]
                raise self.error(f"list mixes types: {found} after {first}", item.pos)
        return _Type("list")

    def compare(self, node: Compare) -> _Type:
        left = self.type_of(node.left)
        if node.op in ("in", "not in"):
            if not isinstance(node.right, ListLit):
                example = '[1, 2] or ["a", "b"]'
                message = f"the right side of '{node.op}' must be a list such as {example}"
                raise self.error(message, node.right.pos)
            self.type_of(node.right)
            for item in node.right.items:
                self.comparable(node, left, node.left, self.type_of(item), item, item.pos)
            return _Type("bool")
        right = self.type_of(node.right)
        literals = [side.pos for side in (node.right, node.left) if _is_literal(side)]
        where = literals[0] if literals else node.op_pos
        self.comparable(node, left, node.left, right, node.right, where)
        return _Type("bool")

    def comparable(
        self, node: Compare, lt: _Type, left: Node, rt: _Type, right: Node, where: int
    ) -> None:
        """Check that ``left`` (of type ``lt``) may be compared with ``right`` by ``node.op``."""
        if lt.kind == rt.kind == "number":
            return
        if node.op not in ("==", "!=", "in", "not in"):
            odd = lt if lt.kind != "number" else rt
            message = f"'{node.op}' needs numbers on both sides, but got {odd.describe()}"
            raise self.error(f"{message}; it only supports ==, !=, in, not in", node.op_pos)
        if lt.kind == rt.kind and lt.kind in ("bool", "string"):
            return
        if {lt.kind, rt.kind} == {"category", "string"}:
            category, literal = (lt, right) if lt.kind == "category" else (rt, left)
            self.category_value(category, literal)
            return
        if lt.kind == rt.kind == "category" and lt.categories == rt.categories:
            return
        message = f"cannot compare {lt.describe()} with {rt.describe()}"
        category = lt if lt.kind == "category" else rt if rt.kind == "category" else None
        if lt.kind == rt.kind == "category":
            message += " (their categories differ)"
        elif category is not None:
            message += f"; write e.g. {category.field} == {category.categories[0]!r}"
        raise self.error(message, where)

    def category_value(self, field: _Type, literal: Node) -> None:
        assert isinstance(literal, String)
        if literal.value in field.categories:
            return
        close = difflib.get_close_matches(literal.value, field.categories, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        valid = ", ".join(repr(c) for c in field.categories)
        message = f"{literal.value!r} is not a category of {field.field!r}{hint}; valid: {valid}"
        raise self.error(message, literal.pos)


def _is_literal(node: Node) -> bool:
    return isinstance(node, Number | String | Bool)


_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def evaluate(
    node: Node,
    columns: Mapping[str, np.ndarray],
    catalog: Mapping[str, FieldSpec],
    n: int | None = None,
) -> np.ndarray:
    """Evaluate a condition (or number expression) over the whole population at once.

    Parameters
    ----------
    node : Node
        Tree from :func:`~sim.rules.parser.parse`; it is type-checked first.
    columns : Mapping[str, np.ndarray]
        One 1-D array per field, all of the same length.
    catalog : Mapping[str, FieldSpec]
        The field catalog.
    n : int, optional
        Population size; by default the length of the columns. Needed only when ``columns``
        is empty and the condition uses no field (``true``, ``1 < 2``).

    Returns
    -------
    np.ndarray
        A fresh array of length ``n``: ``bool`` for conditions, ``float64`` for numbers.
    """
    kind = check(node, catalog, expect=None)
    return evaluate_checked(node, columns, catalog, kind, n)


def evaluate_checked(
    node: Node,
    columns: Mapping[str, np.ndarray],
    catalog: Mapping[str, FieldSpec],
    kind: str,
    n: int | None,
) -> np.ndarray:
    """:func:`evaluate` for a tree already type-checked: ``kind`` is what :func:`check` returned
    for it, and the check is not repeated."""
    names = sorted({sub.name for sub in walk(node) if isinstance(sub, Field)})
    arrays = {name: _column(name, columns, catalog[name]) for name in names}
    lengths = {len(a) for a in arrays.values()} | ({n} if n is not None else set())
    if not lengths and columns:
        lengths = {len(next(iter(columns.values())))}
    if not lengths:
        raise ValueError("cannot tell the population size: pass n or some columns")
    if len(lengths) != 1:
        raise ValueError(f"columns {names} and n={n} disagree on the population size")
    with np.errstate(all="ignore"):
        value = _Evaluator(arrays, catalog).value(node)
    dtype = np.bool_ if kind == "bool" else np.float64
    return np.broadcast_to(np.asarray(value), (lengths.pop(),)).astype(dtype)


def _column(name: str, columns: Mapping[str, np.ndarray], spec: FieldSpec) -> np.ndarray:
    if name not in columns:
        raise ValueError(f"column {name!r} is missing from the population columns")
    array = np.asarray(columns[name])
    if array.ndim != 1:
        raise ValueError(f"column {name!r} must be 1-D, got shape {array.shape}")
    expected = {"number": "biuf", "bool": "b", "category": "iu"}[spec.kind]
    if array.dtype.kind not in expected:
        raise TypeError(f"column {name!r} ({spec.kind}) has unsuitable dtype {array.dtype}")
    return array.astype(np.float64) if spec.kind == "number" else array


class _Evaluator:
    """Walks a checked tree, returning numpy arrays or scalars for each node."""

    def __init__(self, arrays: Mapping[str, np.ndarray], catalog: Mapping[str, FieldSpec]) -> None:
        self.arrays = arrays
        self.catalog = catalog

    def value(self, node: Node) -> Any:
        if isinstance(node, Number):
            return float(node.value)
        if isinstance(node, String | Bool):
            return node.value
        if isinstance(node, Field):
            return self.arrays[node.name]
        if isinstance(node, Neg):
            return np.negative(self.value(node.operand))
        if isinstance(node, Not):
            return np.logical_not(self.value(node.operand))
        if isinstance(node, BoolOp):
            combine = np.logical_and if node.op == "and" else np.logical_or
            return reduce(combine, (self.value(operand) for operand in node.operands))
        if isinstance(node, BinOp):
            return self.arithmetic(node.op, self.value(node.left), self.value(node.right))
        if isinstance(node, Compare):
            return self.compare(node)
        raise TypeError(f"cannot evaluate {type(node).__name__} here")

    @staticmethod
    def arithmetic(op: str, left: Any, right: Any) -> Any:
        if op in _OPS:
            return _OPS[op](left, right)
        divisor = np.asarray(right, dtype=np.float64)
        result = np.divide(left, divisor) if op == "/" else np.mod(left, divisor)
        return np.where(divisor == 0, np.nan, result)

    def compare(self, node: Compare) -> Any:
        left = self.operand(node.left, node.right)
        if isinstance(node.right, ListLit):
            items = [self.operand(item, node.left) for item in node.right.items]
            found = np.isin(left, items) if items else np.zeros(np.shape(left), dtype=bool)
            return found if node.op == "in" else np.logical_not(found)
        return _OPS[node.op](left, self.operand(node.right, node.left))

    def operand(self, node: Node, other: Node) -> Any:
        """Value of ``node``; a string facing a category field becomes that category's code."""
        if isinstance(node, String) and isinstance(other, Field):
            spec = self.catalog[other.name]
            if spec.kind == "category":
                return spec.categories.index(node.value)
        return self.value(node)
