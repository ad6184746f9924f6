"""Rule conditions: compile a strategist's condition text once, evaluate it on every day's columns.

This module is the front door of the condition language (grammar, semantics and error messages in
``docs/RULES_LANGUAGE.md``)::

    catalog = {"stage": FieldSpec("stage", "category", ("potential", "new", "core", "dormant")),
               "days_since_open": FieldSpec("days_since_open", "number")}
    cond = compile_condition('stage == "new" and days_since_open >= 7', catalog)
    mask = cond.evaluate(population_columns)   # np.ndarray[bool], one entry per user

The pieces live in :mod:`sim.rules.tokens` (tokenizer, :class:`RuleSyntaxError`),
:mod:`sim.rules.parser` (syntax tree, :func:`parse`) and :mod:`sim.rules.evaluate`
(:class:`FieldSpec`, :func:`check`, :func:`evaluate`). Here: :class:`Condition`,
:func:`compile_condition` and :func:`never_true`, a conservative detector of conditions that can
never fire.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from sim.rules.evaluate import FieldSpec, check, evaluate, evaluate_checked
from sim.rules.parser import (
    Bool,
    BoolOp,
    Compare,
    Field,
    ListLit,
    Node,
    Not,
    String,
    parse,
    walk,
)
from sim.rules.tokens import RuleSyntaxError

__all__ = [
    "Condition",
    "FieldSpec",
    "Node",
    "RuleSyntaxError",
    "check",
    "compile_condition",
    "evaluate",
    "never_true",
    "parse",
]


@dataclass(frozen=True)
class Condition:
    """A parsed and type-checked condition, ready to evaluate on population columns.

    Attributes
    ----------
    text : str
        The source text.
    ast : Node
        The syntax tree.
    fields : frozenset of str
        Names of the fields the condition reads.
    catalog : Mapping[str, FieldSpec]
        The catalog it was checked against (used to translate category strings to codes).
    """

    text: str
    ast: Node
    fields: frozenset[str]
    catalog: Mapping[str, FieldSpec] = field(repr=False, compare=False)

    def evaluate(self, columns: Mapping[str, np.ndarray], n: int | None = None) -> np.ndarray:
        """Return a fresh boolean array, ``True`` for the users the condition selects.

        Parameters
        ----------
        columns : Mapping[str, np.ndarray]
            At least the columns named in :attr:`fields`, all of one length.
        n : int, optional
            Population size, needed only if ``columns`` is empty.
        """
        return evaluate_checked(self.ast, columns, self.catalog, "bool", n)


def compile_condition(text: str, catalog: Mapping[str, FieldSpec]) -> Condition:
    """Parse and type-check condition text against a field catalog.

    Raises
    ------
    RuleSyntaxError
        Any syntax or type problem, with its position; add the rule name and file with
        ``err.with_context(rule_name, source)``.
    """
    tree = parse(text)
    check(tree, catalog, expect="bool", text=text)
    names = frozenset(node.name for node in walk(tree) if isinstance(node, Field))
    return Condition(text, tree, names, catalog)


def never_true(node: Node, catalog: Mapping[str, FieldSpec]) -> str | None:
    """Say why a checked condition can never select anyone, or return ``None``.

    Conservative: it only reasons about ``and``-conjunctions of comparisons between one field and
    constants (``x >= 7 and x < 3``, ``stage == "new" and stage == "core"``, ``muted and not
    muted``), constant parts (``false``, ``1 > 2``) and ``or`` whose every branch is impossible.
    When it returns a reason the condition is false for every possible population; ``None``
    means only "no contradiction found".

    Parameters
    ----------
    node : Node
        A tree that passes :func:`check` against ``catalog``.
    catalog : Mapping[str, FieldSpec]
        The field catalog.
    """
    check(node, catalog, expect="bool")
    return _Contradictions(catalog).reason(node)


_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


class _FieldFacts:
    """What a conjunction demands of one field: bounds, allowed values and excluded values."""

    def __init__(self) -> None:
        self.low, self.low_closed = -math.inf, True
        self.high, self.high_closed = math.inf, True
        self.allowed: set[object] | None = None
        self.excluded: set[object] = set()
        self.notes: list[str] = []

    def add(self, op: str, value: object) -> None:
        values = set(value) if isinstance(value, tuple) else {value}
        if op in ("==", "in"):
            self.allowed = values if self.allowed is None else self.allowed & values
        elif op in ("!=", "not in"):
            self.excluded |= values
        elif op in (">", ">="):
            bound = float(value)  # type: ignore[arg-type]
            if bound > self.low or (bound == self.low and op == ">"):
                self.low, self.low_closed = bound, op == ">="
        else:
            bound = float(value)  # type: ignore[arg-type]
            if bound < self.high or (bound == self.high and op == "<"):
                self.high, self.high_closed = bound, op == "<="

    def admits(self, value: object) -> bool:
        if value in self.excluded:
            return False
        if isinstance(value, str | bool):
            return True
        above = value > self.low or (self.low_closed and value == self.low)  # type: ignore[operator]
        below = value < self.high or (self.high_closed and value == self.high)  # type: ignore[operator]
        return above and below

    def satisfiable(self) -> bool:
        if self.allowed is not None:
            return any(self.admits(v) for v in self.allowed)
        return self.low < self.high or self.admits(self.low)


class _Contradictions:
    """Finds contradictions in conjunctions; see :func:`never_true`."""

    def __init__(self, catalog: Mapping[str, FieldSpec]) -> None:
        self.catalog = catalog

    def reason(self, node: Node) -> str | None:
        if isinstance(node, BoolOp) and node.op == "or":
            reasons = [self.reason(operand) for operand in node.operands]
            if all(reasons):
                return "every alternative of 'or' is impossible: " + "; ".join(map(str, reasons))
            return None
        facts: dict[str, _FieldFacts] = {}
        for part in _conjuncts(node):
            if isinstance(part, BoolOp):
                found = self.reason(part)
                if found:
                    return found
            elif not any(isinstance(sub, Field) for sub in walk(part)):
                if not self.constant(part):
                    return "part of the condition is always false" + (
                        " ('false')" if isinstance(part, Bool) else ""
                    )
            else:
                self.collect(part, facts)
        for name, fact in facts.items():
            if not fact.satisfiable():
                return f"no value of {name!r} satisfies all of: {', '.join(fact.notes)}"
        return None

    def constant(self, node: Node) -> object:
        return evaluate_checked(node, {}, self.catalog, check(node, self.catalog, expect=None), 1)[
            0
        ]

    def collect(self, part: Node, facts: dict[str, _FieldFacts]) -> None:
        """Record ``part`` in ``facts`` if it is a one-field comparison; ignore it otherwise."""
        if isinstance(part, Field):
            self.note(facts, part.name, "==", True, part.name)
            return
        if isinstance(part, Not) and isinstance(part.operand, Field):
            self.note(facts, part.operand.name, "==", False, f"not {part.operand.name}")
            return
        if not isinstance(part, Compare):
            return
        op, left, right = part.op, part.left, part.right
        if not isinstance(left, Field) and op in _FLIPPED:
            op, left, right = _FLIPPED[op], right, left
        if not isinstance(left, Field) or any(isinstance(sub, Field) for sub in walk(right)):
            return
        spec = self.catalog[left.name]
        if isinstance(right, ListLit):
            values = tuple(self.literal(item, spec) for item in right.items)
            shown = "[" + ", ".join(_show(v) for v in values) + "]"
            if all(v is not None for v in values):
                self.note(facts, left.name, op, values, f"{left.name} {op} {shown}")
            return
        value = self.literal(right, spec)
        if value is not None:
            self.note(facts, left.name, op, value, f"{left.name} {op} {_show(value)}")

    def literal(self, node: Node, spec: FieldSpec) -> object:
        """The constant's value (labels stay strings), or None if unusable (nan, inf)."""
        if spec.kind == "category" or isinstance(node, String):
            return node.value if isinstance(node, String) else None
        value = self.constant(node)
        if spec.kind == "bool":
            return bool(value)
        return float(value) if math.isfinite(value) else None  # type: ignore[arg-type]

    def note(
        self, facts: dict[str, _FieldFacts], name: str, op: str, value: object, shown: str
    ) -> None:
        if name not in facts:
            facts[name] = _FieldFacts()
            if self.catalog[name].kind == "bool":
                facts[name].allowed = {True, False}
        fact = facts[name]
        fact.add(op, value)
        fact.notes.append(shown)


def _conjuncts(node: Node) -> list[Node]:
    if isinstance(node, BoolOp) and node.op == "and":
        return [part for operand in node.operands for part in _conjuncts(operand)]
    return [node]


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)
