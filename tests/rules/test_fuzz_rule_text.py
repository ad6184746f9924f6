"""Fuzzing rule conditions (hypothesis): arbitrary text and token soup is either compiled or
refused with a :class:`RuleSyntaxError` (the project's own error) — never another exception."""

from __future__ import annotations

from hypothesis import event, given, settings
from hypothesis import strategies as st

from sim.rules.expression import compile_condition
from sim.rules.fields import CATALOG
from sim.rules.tokens import RuleSyntaxError

TOKENS = st.sampled_from(
    [*sorted(CATALOG)[:20], "==", "!=", "<", ">=", "and", "or", "not", "(", ")", "+", "-", "*",
     "/", "%", "in", "[", "]", ",", "0", "1.5", "1e999", '"new"', '"x"', "true", "__class__",
     "__import__('os').system('x')", "lambda", ".", "'", '"']
)  # fmt: skip
NUMERIC = [name for name, spec in sorted(CATALOG.items()) if spec.kind == "number"]
COMPARISONS = st.tuples(
    st.sampled_from(NUMERIC or sorted(CATALOG)),
    st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
    st.one_of(st.integers(-(10**30), 10**30).map(str), st.sampled_from(["1e999", "-0.0", '"x"'])),
).map(" ".join)
TEXTS = st.one_of(
    st.text(max_size=60),
    st.lists(TOKENS, max_size=15).map(" ".join),
    st.lists(COMPARISONS, min_size=1, max_size=3).map(" and ".join),
)


@settings(max_examples=500, deadline=None)
@given(text=TEXTS)
def test_a_condition_compiles_or_is_refused_cleanly(text):
    try:
        compile_condition(text, CATALOG)
    except RuleSyntaxError:
        event("refused")
    else:
        event("compiled")
