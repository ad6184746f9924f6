"""Tests of the rule condition language (sim.rules): parsing, type errors, evaluation, never_true.

Evaluation is checked against straightforward numpy references, both for the documented examples
(taken from ``docs/RULES_LANGUAGE.md`` itself) and for random expressions built by a hypothesis
generator that computes the expected value alongside the text.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import product
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.rules import (
    FieldSpec,
    RuleSyntaxError,
    check,
    compile_condition,
    evaluate,
    never_true,
    parse,
)
from sim.rules.parser import MAX_DEPTH, BinOp, BoolOp, Compare, Field, Neg, Not, Number

DOC = Path(__file__).resolve().parents[2] / "docs" / "RULES_LANGUAGE.md"
STAGES = ("potential", "new", "core", "dormant")
QUADRANTS = (
    "high_value_high_engagement",
    "high_value_low_engagement",
    "low_value_high_engagement",
    "low_value_low_engagement",
)
DOC_CATALOG = {
    spec.name: spec
    for spec in (
        FieldSpec("stage", "category", STAGES),
        FieldSpec("quadrant", "category", QUADRANTS),
        FieldSpec("days_since_open", "number"),
        FieldSpec("days_since_join", "number"),
        FieldSpec("group_messages_7d", "number"),
        FieldSpec("purchases", "number"),
        FieldSpec("revenue", "number"),
        FieldSpec("churn_risk", "number"),
        FieldSpec("course_progress", "number"),
        FieldSpec("muted", "bool"),
    )
}


def doc_columns(seed: int, n: int = 400) -> dict[str, np.ndarray]:
    """Random population columns for DOC_CATALOG, in the dtypes the engine stores."""
    rng = np.random.default_rng(seed)
    return {
        "stage": rng.integers(0, 4, n).astype(np.int8),
        "quadrant": rng.integers(0, 4, n).astype(np.int8),
        "days_since_open": rng.integers(0, 90, n).astype(np.int16),
        "days_since_join": rng.integers(0, 400, n).astype(np.int32),
        "group_messages_7d": rng.choice([0, 0, 0, 1, 2, 3, 5], n).astype(np.int64),
        "purchases": rng.integers(0, 6, n).astype(np.int16),
        "revenue": rng.choice([0.0, 9.9, 1999.0, 2000.0, 2000.5, 4999.0], n),
        "churn_risk": np.round(rng.random(n), 1).astype(np.float32),
        "course_progress": np.round(rng.random(n), 1),
        "muted": rng.random(n) < 0.3,
    }


def _aov(c: dict[str, np.ndarray]) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.where(c["purchases"] == 0, np.nan, c["revenue"] / c["purchases"])


# Every ```rule example of the docs, with its numpy reference.
EXAMPLES: dict[str, Callable[[dict[str, np.ndarray]], np.ndarray]] = {
    'stage == "new" and days_since_open >= 7 and group_messages_7d == 0': lambda c: (
        (c["stage"] == 1) & (c["days_since_open"] >= 7) & (c["group_messages_7d"] == 0)
    ),
    'quadrant in ["high_value_low_engagement", "high_value_high_engagement"] and not muted': (
        lambda c: np.isin(c["quadrant"], [0, 1]) & ~c["muted"]
    ),
    "(purchases >= 3 or revenue > 2000) and churn_risk >= 0.6": lambda c: (
        ((c["purchases"] >= 3) | (c["revenue"] > 2000))
        & (c["churn_risk"].astype(np.float64) >= 0.6)
    ),
    "course_progress >= 0.8 and days_since_join % 7 == 0": lambda c: (
        (c["course_progress"] >= 0.8) & (c["days_since_join"] % 7 == 0)
    ),
    "days_since_open >= 7 and not (group_messages_7d > 0)": lambda c: (
        (c["days_since_open"] >= 7) & ~(c["group_messages_7d"] > 0)
    ),
    "stage == 'dormant' and days_since_open > 30 and days_since_open <= 60": lambda c: (
        (c["stage"] == 3) & (c["days_since_open"] > 30) & (c["days_since_open"] <= 60)
    ),
    'stage not in ["potential", "dormant"] and group_messages_7d >= 3': lambda c: (
        ~np.isin(c["stage"], [0, 3]) & (c["group_messages_7d"] >= 3)
    ),
    "not muted and revenue / purchases >= 2000": lambda c: ~c["muted"] & (_aov(c) >= 2000),
    "revenue >= 1e3 and -churn_risk * 2 + 1 > 0": lambda c: (
        (c["revenue"] >= 1000) & (-c["churn_risk"].astype(np.float64) * 2 + 1 > 0)
    ),
    "true": lambda c: np.ones(len(c["stage"]), dtype=bool),
}


def doc_blocks(info: str) -> list[str]:
    """Contents of the fenced blocks of the language doc whose info string is ``info``."""
    return re.findall(rf"^```{info}\n(.*?)^```$", DOC.read_text(encoding="utf-8"), re.M | re.S)


# --------------------------------------------------------------------------------------------
# Documented examples
# --------------------------------------------------------------------------------------------


def test_doc_examples_are_exactly_the_tested_examples() -> None:
    documented = [line for block in doc_blocks("rule") for line in block.splitlines() if line]
    assert sorted(documented) == sorted(EXAMPLES)


@pytest.mark.parametrize("text", list(EXAMPLES))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_doc_example_matches_numpy_reference(text: str, seed: int) -> None:
    columns = doc_columns(seed)
    result = compile_condition(text, DOC_CATALOG).evaluate(columns)
    expected = EXAMPLES[text](columns)
    assert result.dtype == np.bool_ and result.shape == (400,)
    np.testing.assert_array_equal(result, expected)
    assert 0 < result.sum() < 400 or text == "true"


def test_doc_error_examples_render_exactly_as_documented() -> None:
    blocks = doc_blocks("rule-error")
    assert len(blocks) >= 8
    for block in blocks:
        text = block.splitlines()[1][2:]
        with pytest.raises(RuleSyntaxError) as info:
            compile_condition(text, DOC_CATALOG)
        assert str(info.value) == block.rstrip("\n")


def test_condition_records_text_ast_and_fields() -> None:
    text = "(purchases >= 3 or revenue > 2000) and churn_risk >= 0.6"
    cond = compile_condition(text, DOC_CATALOG)
    assert cond.text == text
    assert cond.ast == parse(text)
    assert cond.fields == {"purchases", "revenue", "churn_risk"}
    assert compile_condition("true", DOC_CATALOG).fields == frozenset()


def test_result_is_a_fresh_array_not_a_view_of_a_column() -> None:
    columns = doc_columns(0)
    before = columns["muted"].copy()
    result = compile_condition("muted", DOC_CATALOG).evaluate(columns)
    result[:] = ~result
    np.testing.assert_array_equal(columns["muted"], before)


def test_scalar_conditions_broadcast_to_population() -> None:
    columns = doc_columns(0, n=7)
    for text, value in [("true", True), ("1 < 2", True), ("false", False), ("1 / 0 > 1", False)]:
        result = compile_condition(text, DOC_CATALOG).evaluate(columns)
        np.testing.assert_array_equal(result, np.full(7, value))
    np.testing.assert_array_equal(compile_condition("true", {}).evaluate({}, n=3), [True] * 3)
    with pytest.raises(ValueError, match="pass n"):
        compile_condition("true", {}).evaluate({})


def test_column_problems_are_value_or_type_errors() -> None:
    columns = doc_columns(0, n=5)
    cond = compile_condition("muted and purchases > 1", DOC_CATALOG)
    with pytest.raises(ValueError, match="missing"):
        cond.evaluate({"muted": columns["muted"]})
    with pytest.raises(ValueError, match="disagree"):
        cond.evaluate({"muted": columns["muted"], "purchases": np.zeros(6)})
    with pytest.raises(TypeError, match="dtype"):
        cond.evaluate({"muted": np.zeros(5, np.int8), "purchases": columns["purchases"]})


def test_division_and_modulo_by_zero_give_nan_semantics() -> None:
    catalog = {"x": FieldSpec("x", "number"), "d": FieldSpec("d", "number")}
    columns = {"x": np.array([6, -6, 0, 5]), "d": np.array([0, 0, 0, 2])}
    with np.errstate(all="raise"):  # the evaluator must not let any warning escape
        for op in ("/", "%"):
            for cmp, expected in [
                (">", [0, 0, 0, 1]),
                ("<", [0, 0, 0, 0]),
                ("==", [0, 0, 0, 0]),
                ("!=", [1, 1, 1, 1]),
            ]:
                cond = compile_condition(f"x {op} d {cmp} -1e3 * 0", catalog)
                got = cond.evaluate(columns)
                np.testing.assert_array_equal(got, np.array(expected, bool), err_msg=op + cmp)
        values = evaluate(parse("x / d"), columns, catalog)
    assert np.isnan(values[:3]).all() and values[3] == 2.5
    np.testing.assert_array_equal(
        compile_condition("x / d not in [1]", catalog).evaluate(columns), [True] * 4
    )


def test_arithmetic_does_not_overflow_small_integer_columns() -> None:
    catalog = {"x": FieldSpec("x", "number"), "y": FieldSpec("y", "number")}
    columns = {"x": np.array([100, 120], np.int8), "y": np.array([300, -300], np.int16)}
    result = compile_condition("x * 1000 + 100000 > 200000", catalog).evaluate(columns)
    np.testing.assert_array_equal(result, [False, True])
    np.testing.assert_array_equal(evaluate(parse("y * y - x"), columns, catalog), [89900, 89880])
    columns["x"] = np.array([-128, 5], np.int8)
    np.testing.assert_array_equal(evaluate(parse("-x"), columns, catalog), [128, -5])


def test_modulo_follows_python_sign_rules() -> None:
    catalog = {"x": FieldSpec("x", "number")}
    columns = {"x": np.array([-7, 7, -7])}
    values = evaluate(parse("x % 3 + x % -3 * 10"), columns, catalog)
    np.testing.assert_array_equal(values, [2 - 10, 1 - 20, 2 - 10])


# --------------------------------------------------------------------------------------------
# Random valid expressions against a numpy reference
# --------------------------------------------------------------------------------------------

CATALOG = {
    "x": FieldSpec("x", "number", doc="integers, zeros included"),
    "y": FieldSpec("y", "number", doc="floats with nan and inf"),
    "flag": FieldSpec("flag", "bool"),
    "muted": FieldSpec("muted", "bool"),
    "stage": FieldSpec("stage", "category", STAGES),
}
N = 48
PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "add": 5, "mul": 6, "neg": 7, "atom": 8}
NUMBER_LITERALS = {"0": 0.0, "1": 1.0, "2": 2.0, "3": 3.0, "7": 7.0, "0.5": 0.5, "2.5": 2.5}
NUMBER_LITERALS |= {"1e3": 1000.0, "1.5E-1": 0.15}


@dataclass(frozen=True)
class Gen:
    """A generated expression: its text, precedence level and numpy reference."""

    text: str
    prec: int
    ref: Callable[[dict[str, np.ndarray]], object]

    def at(self, level: int, parens: bool = False) -> str:
        """Text to use where the grammar needs precedence ``level`` or higher."""
        return f"({self.text})" if parens or self.prec < level else self.text


def population(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.choice([-2.5, -1.0, 0.0, 0.5, 1.0, 3.0, 7.0, np.nan, np.inf], N)
    return {
        "x": rng.integers(-3, 8, N).astype(np.int16),
        "y": y,
        "flag": rng.random(N) < 0.5,
        "muted": rng.random(N) < 0.5,
        "stage": rng.integers(0, 4, N).astype(np.int8),
    }


def _div(a: object, b: object) -> object:
    b = np.asarray(b, dtype=np.float64)
    return np.where(b == 0, np.nan, np.divide(a, b))


def _mod(a: object, b: object) -> object:
    b = np.asarray(b, dtype=np.float64)
    return np.where(b == 0, np.nan, np.mod(a, b))


ARITH = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": _div, "%": _mod}
CMP = {
    "==": np.equal,
    "!=": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


def num_leaf() -> st.SearchStrategy[Gen]:
    fields = st.sampled_from(["x", "y"]).map(
        lambda f: Gen(f, PREC["atom"], lambda c, f=f: c[f].astype(np.float64))
    )
    literals = st.sampled_from(sorted(NUMBER_LITERALS)).map(
        lambda t: Gen(t, PREC["atom"], lambda c, v=NUMBER_LITERALS[t]: v)
    )
    return st.one_of(fields, literals)


def num_expr(depth: int) -> st.SearchStrategy[Gen]:
    if depth == 0:
        return num_leaf()
    sub = num_expr(depth - 1)

    def binary(args: tuple[Gen, str, Gen, bool]) -> Gen:
        a, op, b, parens = args
        level = PREC["add"] if op in "+-" else PREC["mul"]
        text = f"{a.at(level, parens)} {op} {b.at(level + 1)}"
        return Gen(text, level, lambda c: ARITH[op](a.ref(c), b.ref(c)))

    def negate(a: Gen) -> Gen:
        return Gen(f"-{a.at(PREC['neg'])}", PREC["neg"], lambda c: np.negative(a.ref(c)))

    return st.one_of(
        num_leaf(),
        st.tuples(sub, st.sampled_from(sorted(ARITH)), sub, st.booleans()).map(binary),
        sub.map(negate),
    )


def category_atom() -> st.SearchStrategy[Gen]:
    def equal(args: tuple[str, str, bool]) -> Gen:
        label, op, flipped = args
        code, quote = STAGES.index(label), '"' if flipped else "'"
        text = (
            f"{quote}{label}{quote} {op} stage" if flipped else f"stage {op} {quote}{label}{quote}"
        )
        return Gen(text, PREC["cmp"], lambda c: CMP[op](c["stage"], code))

    def member(args: tuple[list[str], str]) -> Gen:
        labels, op = args
        codes = [STAGES.index(label) for label in labels]
        listed = ", ".join(f'"{label}"' for label in labels)

        def ref(c: dict[str, np.ndarray]) -> object:
            found = np.isin(c["stage"], codes)
            return found if op == "in" else ~found

        return Gen(f"stage {op} [{listed}]", PREC["cmp"], ref)

    labels = st.sampled_from(STAGES)
    return st.one_of(
        st.tuples(labels, st.sampled_from(["==", "!="]), st.booleans()).map(equal),
        st.tuples(st.lists(labels, max_size=3), st.sampled_from(["in", "not in"])).map(member),
    )


def bool_leaf(depth: int) -> st.SearchStrategy[Gen]:
    fields = st.sampled_from(["flag", "muted"]).map(
        lambda f: Gen(f, PREC["atom"], lambda c, f=f: c[f])
    )
    literals = st.sampled_from(["true", "false"]).map(
        lambda t: Gen(t, PREC["atom"], lambda c, v=(t == "true"): v)
    )

    def compare(args: tuple[Gen, str, Gen]) -> Gen:
        a, op, b = args
        text = f"{a.at(PREC['add'])} {op} {b.at(PREC['add'])}"
        return Gen(text, PREC["cmp"], lambda c: CMP[op](a.ref(c), b.ref(c)))

    def member(args: tuple[Gen, list[float], str]) -> Gen:
        a, values, op = args
        listed = ", ".join(repr(v) for v in values)

        def ref(c: dict[str, np.ndarray]) -> object:
            found = np.isin(a.ref(c), values)
            return found if op == "in" else ~found

        return Gen(f"{a.at(PREC['add'])} {op} [{listed}]", PREC["cmp"], ref)

    numbers = num_expr(depth)
    values = st.lists(st.sampled_from([-1, 0, 1, 2.5, 3]), max_size=3)
    return st.one_of(
        fields,
        literals,
        category_atom(),
        st.tuples(numbers, st.sampled_from(sorted(CMP)), numbers).map(compare),
        st.tuples(numbers, values, st.sampled_from(["in", "not in"])).map(member),
    )


def bool_expr(depth: int) -> st.SearchStrategy[Gen]:
    if depth == 0:
        return bool_leaf(1)
    sub = bool_expr(depth - 1)

    def junction(args: tuple[Gen, str, Gen, bool]) -> Gen:
        a, op, b, parens = args
        level = PREC[op]
        combine = np.logical_and if op == "and" else np.logical_or
        text = f"{a.at(level, parens)} {op} {b.at(level + 1)}"
        return Gen(text, level, lambda c: combine(a.ref(c), b.ref(c)))

    def negate(a: Gen) -> Gen:
        return Gen(f"not {a.at(PREC['not'])}", PREC["not"], lambda c: np.logical_not(a.ref(c)))

    return st.one_of(
        bool_leaf(2),
        st.tuples(sub, st.sampled_from(["and", "or"]), sub, st.booleans()).map(junction),
        sub.map(negate),
    )


def reference(gen: Gen, columns: dict[str, np.ndarray], dtype: type) -> np.ndarray:
    with np.errstate(all="ignore"):
        value = gen.ref(columns)
    return np.broadcast_to(np.asarray(value, dtype=dtype), (N,))


@settings(max_examples=300, deadline=None)
@given(bool_expr(3), st.integers(0, 2**32 - 1))
def test_random_conditions_match_numpy_reference(gen: Gen, seed: int) -> None:
    columns = population(seed)
    result = compile_condition(gen.text, CATALOG).evaluate(columns)
    np.testing.assert_array_equal(result, reference(gen, columns, bool), err_msg=gen.text)


@settings(max_examples=200, deadline=None)
@given(num_expr(3), st.integers(0, 2**32 - 1))
def test_random_number_expressions_match_numpy_reference(gen: Gen, seed: int) -> None:
    columns = population(seed)
    tree = parse(gen.text)
    assert check(tree, CATALOG, expect=None) == "number"
    result = evaluate(tree, columns, CATALOG)
    assert result.dtype == np.float64
    np.testing.assert_array_equal(result, reference(gen, columns, np.float64), err_msg=gen.text)


# --------------------------------------------------------------------------------------------
# Precedence and tree shape
# --------------------------------------------------------------------------------------------


def test_not_binds_tighter_than_and() -> None:
    tree = parse("not flag and muted")
    assert isinstance(tree, BoolOp) and tree.op == "and"
    assert tree.operands == (Not(Field("flag", 4), 0), Field("muted", 13))


def test_and_binds_tighter_than_or() -> None:
    tree = parse("flag or muted and x > 1")
    assert isinstance(tree, BoolOp) and tree.op == "or"
    assert isinstance(tree.operands[1], BoolOp) and tree.operands[1].op == "and"
    columns = {"flag": np.array([1, 0, 0, 0], bool), "muted": np.array([0, 1, 1, 0], bool)}
    columns["x"] = np.array([0, 2, 0, 2])
    got = evaluate(tree, columns, CATALOG)
    np.testing.assert_array_equal(got, [True, True, False, False])


def test_unary_minus_binds_tighter_than_times_and_plus() -> None:
    tree = parse("-x * 2 + 1")
    assert tree == BinOp(
        "+", BinOp("*", Neg(Field("x", 1), 0), Number(2, 5), 0, 3), Number(1, 9), 0, 7
    )


def test_binary_operators_are_left_associative() -> None:
    columns = {"x": np.array([12.0])}
    assert evaluate(parse("x - 4 - 2"), columns, CATALOG)[0] == 6
    assert evaluate(parse("x / 2 * 3"), columns, CATALOG)[0] == 18
    assert evaluate(parse("x % 5 * 2"), columns, CATALOG)[0] == 4


def test_not_applies_to_the_whole_comparison() -> None:
    tree = parse("not x > 1")
    assert isinstance(tree, Not) and isinstance(tree.operand, Compare)
    assert isinstance(parse("x not in [1]"), Compare)


def test_and_or_chains_are_flat() -> None:
    tree = parse(" and ".join(["flag"] * 500))
    assert isinstance(tree, BoolOp) and len(tree.operands) == 500
    assert compile_condition(" or ".join(["muted"] * 500), CATALOG).evaluate(population(0)).any()


def test_nodes_carry_start_offsets() -> None:
    tree = parse('muted or  stage == "new"')
    assert isinstance(tree, BoolOp)
    compare = tree.operands[1]
    assert isinstance(compare, Compare)
    assert (compare.pos, compare.op_pos, compare.right.pos) == (10, 16, 19)


# --------------------------------------------------------------------------------------------
# Robustness: only RuleSyntaxError ever escapes
# --------------------------------------------------------------------------------------------

SOUP = [
    "x", "y", "flag", "muted", "stage", "nope", "and", "or", "not", "in", "true", "false",
    "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "(", ")", "[", "]", ",",
    "0", "7", "0.5", "1e3", "1e999", '"new"', "'core'", '"', "'", "=", ".", "!", "&&", "@",
    "__class__", "f", "lambda", ":", ";", "`", "**", "\\", "\n", "“", "（",
]  # fmt: skip


def compiles_or_raises_cleanly(text: str) -> None:
    try:
        cond = compile_condition(text, CATALOG)
    except RuleSyntaxError as err:
        assert 0 <= err.position <= len(text)
        assert err.text == text
        str(err)
        return
    result = cond.evaluate(population(0))
    assert result.dtype == np.bool_ and result.shape == (N,)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_only_raises_rule_syntax_error(text: str) -> None:
    compiles_or_raises_cleanly(text)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(SOUP), max_size=30), st.sampled_from([" ", ""]))
def test_token_soup_only_raises_rule_syntax_error(words: list[str], sep: str) -> None:
    compiles_or_raises_cleanly(sep.join(words))


@pytest.mark.parametrize(
    "text",
    [
        "(" * 5000 + "flag" + ")" * 5000,
        "not " * 5000 + "flag",
        "-" * 5000 + "x > 0",
        "x" + " + 1" * 3000 + " > 0",
        "[" * 5000,
        "x in " + "[" * 5000,
        "(" * (MAX_DEPTH + 1) + "flag" + ")" * (MAX_DEPTH + 1),
    ],
)
def test_deep_nesting_is_a_clean_error(text: str) -> None:
    with pytest.raises(RuleSyntaxError):
        compile_condition(text, CATALOG)


def test_nesting_just_below_the_limit_is_fine() -> None:
    depth = MAX_DEPTH - 1
    text = "(" * depth + "flag" + ")" * depth
    assert compile_condition(text, CATALOG).evaluate(population(0)).any()


def test_non_text_input_is_a_rule_syntax_error() -> None:
    with pytest.raises(RuleSyntaxError, match="must be text"):
        parse(7)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Escape attempts and foreign syntax: clean errors at the offending token
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("stage.__class__", 5, "attribute access"),
        ("x.real > 0", 1, "attribute access"),
        ("len(x) > 0", 3, "function calls"),
        ("flag(1)", 4, "function calls"),
        ("(x)(1)", 3, "function calls"),
        ("x[0] > 1", 1, "indexing"),
        ("x[1:2] > 1", 1, "indexing"),
        ("__class__", 0, "'__'"),
        ("__import__('os')", 0, "'__'"),
        ("flag and __builtins__", 9, "'__'"),
        ("lambda: 1", 0, "lambda"),
        ("[x for x in y]", 0, "list is only allowed"),
        ("x > 1 for y in z", 6, "comprehensions"),
        ("flag if x else muted", 5, "conditional"),
        ("x > 1; muted", 5, "single expression"),
        ("x = 1", 2, "'=='"),
        ("(x := 1) > 0", 3, "':='"),
        ("x > 1 && flag", 6, "'and'"),
        ("x > 1 || flag", 6, "'or'"),
        ("!flag", 0, "'not'"),
        ("x > 1 & flag", 6, "'and'"),
        ("`x` > 1", 0, "backticks"),
        ("x @ x > 1", 2, "'@'"),
        ("x ** 2 > 1", 2, "power"),
        ("x // 2 > 1", 2, "floor division"),
        ('f"{x}" == "a"', 0, "string prefixes"),
        ("b'x' == 'x'", 0, "string prefixes"),
        ("import os", 0, "reserved"),
        ("exec('x')", 0, "reserved"),
        ("eval('1')", 0, "reserved"),
        ("x is None", 2, "instead of 'is'"),
        ("flag == True", 8, "lowercase"),
        ("x > 1 # comment", 6, "comments"),
        ("{1: 2}", 0, "no sets or dicts"),
        ("x > $1", 4, "unexpected character '$'"),
        ("stage == “new”", 9, "ASCII '\"'"),
        ("x > 1 \\\n and flag", 6, "'\\'"),
        ("x > .5", 4, "leading digit"),
        ("x > 1.5.2", 4, "invalid number"),
        ("x > 0x10", 4, "invalid number"),
        ("x > 1e999", 4, "too large"),
        ("stage == 'new", 9, "unterminated string"),
        ("stage == 'n\\ew'", 11, "unsupported escape"),
        ("1 < x < 3", 6, "chained"),
        ("x == y == 1", 7, "chained"),
        ("x AND flag", 2, "lowercase"),
        ("stage 'new'", 6, "expected an operator"),
        ("x >> 1", 3, "expected a value"),
        ("(x > 1", 6, "expected ')'"),
        ("x > 1)", 5, "unexpected ')'"),
        ("x in [y]", 6, "only hold literals"),
        ("x in [1, 2", 10, "missing ']'"),
        ("x not flag", 2, "'not in'"),
        ("[1] == x", 0, "list is only allowed"),
        ("", 0, "empty condition"),
        ("x > 1 and", 9, "ends too early"),
    ],
)
def test_foreign_syntax_is_rejected_at_the_offending_token(
    text: str, position: int, fragment: str
) -> None:
    with pytest.raises(RuleSyntaxError) as info:
        compile_condition(text, CATALOG)
    assert fragment in info.value.message
    assert info.value.position == position, str(info.value)


def test_dunder_names_are_rejected_before_catalog_lookup() -> None:
    catalog = dict(CATALOG)
    with pytest.raises(RuleSyntaxError, match="'__'"):
        parse("__dict__ > 0")
    with pytest.raises(ValueError):
        catalog["__x"] = FieldSpec("__x", "number")


def test_source_text_never_reaches_python_eval(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("eval/exec/compile called")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, forbidden)
    cond = compile_condition('stage in ["new"] and (x + 1) / 2 >= 0.5 or not flag', CATALOG)
    assert cond.evaluate(population(3)).shape == (N,)


# --------------------------------------------------------------------------------------------
# Type errors and messages
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("stage == 3", 9, "cannot compare category field 'stage' with a number"),
        ("3 != stage", 0, "cannot compare"),
        ("stage in [1, 2]", 10, "cannot compare category field 'stage' with a number"),
        ("stage < 'new'", 6, "'<' needs numbers"),
        ("flag + 1 > 0", 0, "'+' needs numbers on both sides, but got true/false field 'flag'"),
        ("x * stage > 0", 4, "category field 'stage'"),
        ("-flag", 1, "unary '-' needs a number"),
        ("x > 1 and y", 10, "'and' needs true/false values"),
        ("x or flag", 0, "'or' needs true/false values"),
        ("not x", 4, "'not' needs a true/false value"),
        ("x + 1", 0, "a condition must be true or false, but this is a number"),
        ("stage", 0, "must be true or false, but this is category field 'stage'"),
        ("'new'", 0, "must be true or false, but this is a string"),
        ("stage in 'new'", 9, "must be a list"),
        ("x in y", 5, "must be a list"),
        ("x in [1, 'a']", 9, "list mixes types"),
        ("x in ['a']", 6, "cannot compare number field 'x' with a string"),
        ("flag == 1", 8, "cannot compare true/false field 'flag' with a number"),
        ("x == true", 5, "cannot compare number field 'x' with a true/false value"),
        ("flag < muted", 5, "'<' needs numbers"),
        ("'a' < 'b'", 4, "'<' needs numbers"),
        ("'a' == 1", 7, "cannot compare a string with a number"),
        ("stage == 'core' and nope > 1", 20, "unknown field 'nope'"),
    ],
)
def test_type_errors_point_at_the_offending_token(text: str, position: int, fragment: str) -> None:
    with pytest.raises(RuleSyntaxError) as info:
        compile_condition(text, CATALOG)
    assert fragment in info.value.message
    assert info.value.position == position, str(info.value)


def test_unknown_field_suggests_the_closest_name_with_a_caret() -> None:
    text = 'stage == "new" and days_since_opn >= 7'
    with pytest.raises(RuleSyntaxError) as info:
        compile_condition(text, DOC_CATALOG)
    err = info.value
    assert err.message == "unknown field 'days_since_opn' (did you mean 'days_since_open'?)"
    assert err.position == 19
    lines = str(err).splitlines()
    assert lines == [err.message + " at column 20", "  " + text, "  " + " " * 19 + "^"]


def test_unknown_field_without_close_match_has_no_suggestion() -> None:
    with pytest.raises(RuleSyntaxError) as info:
        compile_condition("zzz > 1", CATALOG)
    assert info.value.message == "unknown field 'zzz'"


def test_bad_category_value_lists_the_valid_ones() -> None:
    with pytest.raises(RuleSyntaxError) as info:
        compile_condition('stage in ["new", "cor"]', CATALOG)
    err = info.value
    assert err.position == 17
    assert "'cor' is not a category of 'stage' (did you mean 'core'?)" in err.message
    assert err.message.endswith("valid: 'potential', 'new', 'core', 'dormant'")


def test_category_fields_with_different_categories_cannot_be_compared() -> None:
    catalog = dict(DOC_CATALOG, stage2=FieldSpec("stage2", "category", STAGES))
    columns = doc_columns(0) | {"stage2": np.zeros(400, np.int8)}
    result = compile_condition("stage == stage2", catalog).evaluate(columns)
    np.testing.assert_array_equal(result, columns["stage"] == 0)
    with pytest.raises(RuleSyntaxError, match="categories differ"):
        compile_condition("stage == quadrant", DOC_CATALOG)


def test_caret_on_multi_line_condition_names_the_line() -> None:
    text = "x > 1\n  and flag = 2"
    with pytest.raises(RuleSyntaxError) as info:
        compile_condition(text, CATALOG)
    lines = str(info.value).splitlines()
    assert lines[0].endswith("at line 2, column 12")
    assert lines[1:] == ["    and flag = 2", "  " + " " * 11 + "^"]


def test_with_context_prefixes_rule_and_source_and_survives_pickling() -> None:
    with pytest.raises(RuleSyntaxError) as info:
        compile_condition("x >= 7 and nope", CATALOG)
    err = info.value.with_context("recall_shallow", "experiments/x.yaml")
    assert isinstance(err, RuleSyntaxError) and isinstance(err, ValueError)
    assert str(err).startswith("rule 'recall_shallow' in experiments/x.yaml: unknown field 'nope'")
    assert (err.message, err.text, err.position) == (
        info.value.message,
        info.value.text,
        info.value.position,
    )
    assert str(pickle.loads(pickle.dumps(err))) == str(err)
    assert str(info.value.with_context()) == str(info.value)


def test_check_returns_the_result_kind() -> None:
    assert check(parse("x + 1"), CATALOG, expect=None) == "number"
    assert check(parse("x > 1"), CATALOG) == "bool"
    with pytest.raises(RuleSyntaxError, match="must be a number"):
        check(parse("x > 1"), CATALOG, expect="number")


@pytest.mark.parametrize(
    "spec",
    [
        ("and", "number", ()),
        ("x.y", "number", ()),
        ("x", "colour", ()),
        ("x", "category", ()),
        ("x", "number", ("a",)),
        ("x", "category", ("a", "a")),
    ],
)
def test_fieldspec_rejects_unusable_definitions(spec: tuple) -> None:
    with pytest.raises(ValueError):
        FieldSpec(*spec)


# --------------------------------------------------------------------------------------------
# never_true
# --------------------------------------------------------------------------------------------

NEVER = [
    "x >= 7 and x < 3",
    'stage == "new" and stage == "core"',
    "false",
    "1 > 2",
    "flag and not flag",
    "muted == true and muted == false",
    "muted != true and muted != false",
    "x in [1, 2] and x > 5",
    "x > 5 and x < 5",
    "x >= 5 and x < 5",
    "x >= 5 and x > 5 and x <= 5",
    "x <= 5 and x < 5 and x >= 5",
    "x == 3 and x != 3",
    "y < 0 and 0 < y",
    "x >= 2 * 3 and x <= 5",
    "x in []",
    'stage in ["new"] and stage not in ["new", "core"]',
    "(x > 5 and x < 1) or false",
    "x > 1 and (flag or muted) and x < 0",
    "flag and (x > 1 and (y > 2 and x < 1))",
]
SOMETIMES = [
    "x >= 7 and x <= 7",
    "x > 3 and x < 4",
    "x != 3",
    "true",
    'stage != "new" and stage != "core"',
    "flag or not flag",
    "x > 5 or x < 1",
    "x > 5 and y < 1",
    "not (y > 5) and not (y <= 5)",
    "x + 1 > 3 and x > 5",
    "x > y and y > 1",
    "x in [1, 2] and x >= 2",
]


@pytest.mark.parametrize("text", NEVER)
def test_never_true_catches_contradictions(text: str) -> None:
    reason = never_true(parse(text), CATALOG)
    assert reason, text
    assert not compile_condition(text, CATALOG).evaluate(population(0)).any()


@pytest.mark.parametrize("text", SOMETIMES)
def test_never_true_does_not_flag_satisfiable_conditions(text: str) -> None:
    assert never_true(parse(text), CATALOG) is None


def test_never_true_reason_names_the_field_and_its_constraints() -> None:
    reason = never_true(parse("x >= 7 and flag and x < 3"), CATALOG)
    assert reason == "no value of 'x' satisfies all of: x >= 7, x < 3"


def test_satisfiable_examples_really_are_satisfiable() -> None:
    columns = grid_population()
    for text in SOMETIMES:
        assert compile_condition(text, CATALOG).evaluate(columns).any(), text


# Every conjunction of these atoms, if satisfiable at all, is satisfied by some row of
# grid_population(): constants are integers in [0, 6], the grid has every constant, every
# midpoint, values beyond both ends and nan; stage codes include one outside the categories.
X_GRID = [*np.arange(-1.0, 7.5, 0.5), np.nan]


def grid_population() -> dict[str, np.ndarray]:
    rows = list(product(X_GRID, [-1, 0, 1, 2, 3], [False, True], [False, True]))
    x, stage, flag, muted = (np.array(col) for col in zip(*rows, strict=True))
    return {
        "x": x,
        "y": x[::-1].copy(),
        "stage": stage.astype(np.int8),
        "flag": flag,
        "muted": muted,
    }


def simple_atom() -> st.SearchStrategy[str]:
    const = st.integers(0, 6).map(str)
    number = st.builds(
        lambda op, c, flip: f"{c} {op} x" if flip else f"x {op} {c}",
        st.sampled_from(sorted(CMP)),
        const,
        st.booleans(),
    )
    member = st.builds(
        lambda op, cs: f"x {op} [{', '.join(cs)}]",
        st.sampled_from(["in", "not in"]),
        st.lists(const, max_size=3),
    )
    label = st.sampled_from(STAGES).map(lambda s: f'"{s}"')
    category = st.one_of(
        st.builds(lambda op, s: f"stage {op} {s}", st.sampled_from(["==", "!="]), label),
        st.builds(
            lambda op, ls: f"stage {op} [{', '.join(ls)}]",
            st.sampled_from(["in", "not in"]),
            st.lists(label, max_size=3),
        ),
    )
    boolean = st.sampled_from(
        ["flag", "not flag", "flag == true", "flag == false", "flag != true", "flag != false"]
    )
    return st.one_of(number, member, category, boolean, st.sampled_from(["true", "false"]))


@settings(max_examples=400, deadline=None)
@given(st.lists(simple_atom(), min_size=1, max_size=5))
def test_never_true_is_exact_on_simple_conjunctions(atoms: list[str]) -> None:
    text = " and ".join(atoms)
    reason = never_true(parse(text), CATALOG)
    fires = compile_condition(text, CATALOG).evaluate(grid_population()).any()
    assert (reason is None) == bool(fires), (text, reason)


def any_condition() -> st.SearchStrategy[str]:
    atom = st.one_of(simple_atom(), bool_expr(1).map(lambda g: g.text))
    return st.recursive(
        atom.map(lambda a: f"({a})"),
        lambda inner: st.one_of(
            st.lists(inner, min_size=2, max_size=4).map(lambda xs: "(" + " and ".join(xs) + ")"),
            st.lists(inner, min_size=2, max_size=3).map(lambda xs: "(" + " or ".join(xs) + ")"),
            inner.map(lambda a: f"not {a}"),
        ),
        max_leaves=8,
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_condition(), st.integers(0, 2**32 - 1))
def test_never_true_has_no_false_positives(text: str, seed: int) -> None:
    if never_true(parse(text), CATALOG) is None:
        return
    cond = compile_condition(text, CATALOG)
    assert not cond.evaluate(grid_population()).any(), text
    assert not cond.evaluate(population(seed)).any(), text
