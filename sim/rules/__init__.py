"""Rules: the condition language strategists write in YAML, parsed and evaluated by our own code.

Conditions such as ``stage == "new" and days_since_open >= 7`` are tokenized and parsed into a
syntax tree, type-checked against a field catalog and evaluated vectorised over the population's
numpy columns. Config text is never handed to ``eval``/``exec``. See ``docs/RULES_LANGUAGE.md``.
"""

from sim.rules.expression import (
    Condition,
    FieldSpec,
    Node,
    RuleSyntaxError,
    check,
    compile_condition,
    evaluate,
    never_true,
    parse,
)

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
