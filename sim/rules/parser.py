"""Syntax tree of a rule condition and the recursive-descent parser that builds it.

Grammar (full EBNF with examples in ``docs/RULES_LANGUAGE.md``), lowest precedence first::

    condition  = or_expr ;
    or_expr    = and_expr { "or" and_expr } ;
    and_expr   = not_expr { "and" not_expr } ;
    not_expr   = "not" not_expr | comparison ;
    comparison = sum [ ( "==" | "!=" | "<" | "<=" | ">" | ">=" ) sum
                     | ( "in" | "not" "in" ) ( list | sum ) ] ;
    sum        = term { ( "+" | "-" ) term } ;
    term       = unary { ( "*" | "/" | "%" ) unary } ;
    unary      = "-" unary | primary ;
    primary    = NUMBER | STRING | "true" | "false" | NAME | "(" or_expr ")" ;
    list       = "[" [ literal { "," literal } [ "," ] ] "]" ;
    literal    = [ "-" ] NUMBER | STRING | "true" | "false" ;

Every node is a frozen dataclass carrying ``pos``, the 0-based offset where its source text
starts; binary nodes also carry ``op_pos``, the offset of their operator. ``and``/``or`` chains
become one n-ary :class:`BoolOp`. Parsing checks syntax only; names are resolved and types
checked by :func:`sim.rules.evaluate.check`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sim.rules.tokens import RuleSyntaxError, Token, iter_tokens

MAX_DEPTH = 40
"""Deepest nesting (parentheses, ``not``, unary ``-``, operator chains) a condition may have."""

COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})


@dataclass(frozen=True)
class Number:
    """A number literal: ``7``, ``0.6``, ``1e3``."""

    value: int | float
    pos: int


@dataclass(frozen=True)
class String:
    """A quoted string literal: ``"new"`` or ``'new'``."""

    value: str
    pos: int


@dataclass(frozen=True)
class Bool:
    """``true`` or ``false``."""

    value: bool
    pos: int


@dataclass(frozen=True)
class Field:
    """A field name, resolved against the catalog when checked."""

    name: str
    pos: int


@dataclass(frozen=True)
class ListLit:
    """A list of literals, only allowed on the right of ``in`` / ``not in``."""

    items: tuple[Number | String | Bool, ...]
    pos: int


@dataclass(frozen=True)
class Neg:
    """Unary minus: ``-x``."""

    operand: Node
    pos: int


@dataclass(frozen=True)
class Not:
    """Logical negation: ``not x``."""

    operand: Node
    pos: int


@dataclass(frozen=True)
class BinOp:
    """Arithmetic: ``op`` is one of ``+ - * / %``."""

    op: str
    left: Node
    right: Node
    pos: int
    op_pos: int


@dataclass(frozen=True)
class Compare:
    """A comparison: ``op`` is one of ``== != < <= > >= in`` or ``not in``."""

    op: str
    left: Node
    right: Node
    pos: int
    op_pos: int


@dataclass(frozen=True)
class BoolOp:
    """``a and b and ...`` or ``a or b or ...`` (``op`` is ``"and"`` or ``"or"``)."""

    op: str
    operands: tuple[Node, ...]
    pos: int


Node = Number | String | Bool | Field | ListLit | Neg | Not | BinOp | Compare | BoolOp


def children(node: Node) -> tuple[Node, ...]:
    """Return the direct sub-expressions of ``node`` (empty for literals and fields)."""
    if isinstance(node, Neg | Not):
        return (node.operand,)
    if isinstance(node, BinOp | Compare):
        return (node.left, node.right)
    if isinstance(node, BoolOp):
        return node.operands
    if isinstance(node, ListLit):
        return node.items
    return ()


def walk(node: Node) -> Iterator[Node]:
    """Yield ``node`` and all its descendants (iteratively, parents before children)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def parse(text: str) -> Node:
    """Parse condition text into a syntax tree (syntax only, no name or type checks).

    Parameters
    ----------
    text : str
        The condition, e.g. ``'stage == "new" and days_since_open >= 7'``.

    Returns
    -------
    Node
        The root of the tree.

    Raises
    ------
    RuleSyntaxError
        With the position of the offending token.
    """
    if not isinstance(text, str):
        raise RuleSyntaxError(f"a condition must be text, not {type(text).__name__}", "", 0)
    if not text.strip():
        raise RuleSyntaxError("empty condition", text, 0)
    node = _Parser(text).parse()
    _check_depth(node, text)
    return node


def _check_depth(root: Node, text: str) -> None:
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise RuleSyntaxError(
                f"condition is nested too deeply (more than {MAX_DEPTH} levels)", text, node.pos
            )
        stack.extend((child, depth + 1) for child in children(node))


def _describe(token: Token) -> str:
    if token.kind == "end":
        return "the end of the condition"
    if token.kind == "string":
        return f"the string {token.value!r}"
    if token.kind == "name":
        return f"the name {token.value!r}"
    return repr(str(token.value))


class _Parser:
    """Recursive-descent parser pulling tokens lazily; one method per grammar rule."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.source = iter_tokens(text)
        self.tokens: list[Token] = []
        self.index = 0
        self.depth = 0

    # -- token helpers -------------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> Token:
        wanted = self.index + ahead
        while len(self.tokens) <= wanted and not (self.tokens and self.tokens[-1].kind == "end"):
            self.tokens.append(next(self.source))
        return self.tokens[min(wanted, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        if token.kind != "end":
            self.index += 1
        return token

    def at(self, kind: str, *values: str) -> bool:
        token = self.peek()
        return token.kind == kind and (not values or token.value in values)

    def at_not_in(self) -> bool:
        """True when the next two tokens are ``not in``."""
        after = self.peek(1)
        return self.at("keyword", "not") and after.kind == "keyword" and after.value == "in"

    def error(self, message: str, token: Token | None = None) -> RuleSyntaxError:
        token = token or self.peek()
        return RuleSyntaxError(message, self.text, token.pos)

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"condition is nested too deeply (more than {MAX_DEPTH} levels)")

    # -- grammar rules -------------------------------------------------------------------------
    def parse(self) -> Node:
        node = self.or_expr()
        if not self.at("end"):
            token = self.peek()
            if token.kind == "op" and token.value in (")", "]", ","):
                raise self.error(f"unexpected {_describe(token)}")
            raise self.error(f"expected an operator such as ==, and, or before {_describe(token)}")
        return node

    def or_expr(self) -> Node:
        return self.bool_chain("or", self.and_expr)

    def and_expr(self) -> Node:
        return self.bool_chain("and", self.not_expr)

    def bool_chain(self, op: str, operand: Callable[[], Node]) -> Node:
        first = operand()
        operands = [first]
        while self.at("keyword", op):
            self.advance()
            operands.append(operand())
        if len(operands) == 1:
            return first
        return BoolOp(op, tuple(operands), first.pos)

    def not_expr(self) -> Node:
        if self.at("keyword", "not") and not self.at_not_in():
            token = self.advance()
            self.enter()
            operand = self.not_expr()
            self.depth -= 1
            return Not(operand, token.pos)
        return self.comparison()

    def comparison(self) -> Node:
        left = self.sum()
        op_token = self.peek()
        op = self.comparison_op()
        if op is None:
            return left
        if op in ("in", "not in"):
            right = self.list_lit() if self.at("op", "[") else self.sum()
        else:
            right = self.sum()
        if self.comparison_op(consume=False) is not None:
            raise self.error("comparisons cannot be chained; write 'a < b and b < c'")
        return Compare(op, left, right, left.pos, op_token.pos)

    def comparison_op(self, consume: bool = True) -> str | None:
        token = self.peek()
        if token.kind == "op" and token.value in COMPARISONS:
            op = str(token.value)
        elif token.kind == "keyword" and token.value == "in":
            op = "in"
        elif token.kind == "keyword" and token.value == "not":
            if not self.at_not_in():
                raise self.error("'not' cannot follow a value here; did you mean 'not in'?")
            op = "not in"
        else:
            return None
        if consume:
            self.advance()
            if op == "not in":
                self.advance()
        return op

    def sum(self) -> Node:
        return self.binary_chain(("+", "-"), self.term)

    def term(self) -> Node:
        return self.binary_chain(("*", "/", "%"), self.unary)

    def binary_chain(self, ops: tuple[str, ...], operand: Callable[[], Node]) -> Node:
        node = operand()
        while self.at("op", *ops):
            op_token = self.advance()
            node = BinOp(str(op_token.value), node, operand(), node.pos, op_token.pos)
        return node

    def unary(self) -> Node:
        if self.at("op", "-"):
            token = self.advance()
            self.enter()
            operand = self.unary()
            self.depth -= 1
            return Neg(operand, token.pos)
        return self.postfix_check(self.primary())

    def postfix_check(self, node: Node) -> Node:
        if self.at("op", "("):
            raise self.error("function calls are not allowed")
        if self.at("op", "["):
            raise self.error("indexing with '[...]' is not allowed")
        return node

    def primary(self) -> Node:
        token = self.peek()
        if token.kind == "op" and token.value == "(":
            self.advance()
            self.enter()
            node = self.or_expr()
            self.depth -= 1
            if not self.at("op", ")"):
                found = _describe(self.peek())
                raise self.error(
                    f"expected ')' to match '(' at column {token.pos + 1}, but found {found}"
                )
            self.advance()
            return node
        if token.kind == "op" and token.value == "[":
            raise self.error("a list is only allowed on the right of 'in' / 'not in'")
        if token.kind == "name":
            self.advance()
            return Field(str(token.value), token.pos)
        if token.kind in ("number", "string") or token.value in ("true", "false"):
            return self.literal()
        if token.kind == "end":
            raise self.error("the condition ends too early: expected a value")
        raise self.error(
            f"expected a value (number, string, field or '(') but found {_describe(token)}"
        )

    def literal(self) -> Number | String | Bool:
        token = self.advance()
        if token.kind == "number":
            return Number(token.value, token.pos)  # type: ignore[arg-type]
        if token.kind == "string":
            return String(str(token.value), token.pos)
        return Bool(token.value == "true", token.pos)

    def list_lit(self) -> ListLit:
        start = self.advance()
        items: list[Number | String | Bool] = []
        while not self.at("op", "]"):
            items.append(self.list_item())
            if self.at("op", ","):
                self.advance()
            elif self.at("end"):
                raise self.error("unterminated list: missing ']'")
            elif not self.at("op", "]"):
                raise self.error(
                    f"expected ',' or ']' in the list but found {_describe(self.peek())}"
                )
        self.advance()
        return ListLit(tuple(items), start.pos)

    def list_item(self) -> Number | String | Bool:
        token = self.peek()
        if token.kind == "op" and token.value == "-" and self.peek(1).kind == "number":
            self.advance()
            number = self.advance()
            return Number(-number.value, token.pos)  # type: ignore[operator]
        if token.kind in ("number", "string") or token.value in ("true", "false"):
            return self.literal()
        if token.kind == "end":
            raise self.error("unterminated list: missing ']'")
        raise self.error(
            f"lists may only hold literals (numbers, strings, true/false), not {_describe(token)}"
        )
