"""Tokens of the rule condition language and the error every rule problem raises.

The tokenizer turns condition text such as ``stage == "new" and days_since_open >= 7`` into a
list of :class:`Token`. It is the first line of defence: anything that is not part of the small
grammar documented in ``docs/RULES_LANGUAGE.md`` (attribute access, ``&&``, ``=``, backticks,
f-strings, reserved Python words, dunder names, unknown characters ...) is rejected here with a
:class:`RuleSyntaxError` that marks the offending character. Nothing in this package ever hands
rule text to Python's ``eval``/``exec``/``compile`` or the ``ast`` module.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false"})
OPERATORS = ("==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "(", ")", "[", "]", ",")

_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")

# Character sequences from other languages, each with the message that says what to write instead.
# Two-character sequences are tried before the operators, so that ``**`` is not read as ``*``.
_FORBIDDEN = (
    (":=", "':=' (assignment) is not allowed; a condition only compares"),
    ("**", "'**' (power) is not supported; use '*'"),
    ("//", "'//' (floor division) is not supported; use '/' or '%'"),
    ("&&", "use 'and' instead of '&&'"),
    ("||", "use 'or' instead of '||'"),
    ("<>", "use '!=' instead of '<>'"),
    ("=", "'=' is assignment; use '==' to compare"),
    ("!", "use 'not' instead of '!'"),
    ("&", "use 'and' instead of '&'"),
    ("|", "use 'or' instead of '|'"),
    ("~", "use 'not' instead of '~'"),
    ("^", "'^' is not supported"),
    (".", "'.' (attribute access) is not allowed; field names are plain words"),
    (";", "';' is not allowed: a condition is a single expression"),
    (":", "':' is not allowed (no slices, dicts or lambdas)"),
    ("{", "'{' is not allowed (no sets or dicts)"),
    ("}", "'}' is not allowed (no sets or dicts)"),
    ("@", "'@' is not supported"),
    ("`", "backticks are not allowed; quote strings with \" or '"),
    ("#", "comments ('#') are not allowed inside a condition"),
    ("\\", "'\\' is only allowed inside a string, before a quote or another '\\'"),
)

# Look-alike characters typed with a Chinese input method, and the ASCII character meant.
_FULL_WIDTH = {
    "“": '"', "”": '"', "‘": "'", "’": "'", "（": "(", "）": ")",
    "＝": "=", "，": ",", "【": "[", "】": "]", "［": "[", "］": "]",
    "＞": ">", "＜": "<", "！": "!",
}  # fmt: skip

# Python words that are not part of the language, with the message shown when one appears.
_PYTHON_WORDS = {
    "True": "use lowercase 'true'",
    "False": "use lowercase 'false'",
    "None": "there is no None/null in conditions",
    "is": "use '==' or '!=' instead of 'is'",
    "lambda": "lambda functions are not allowed",
    "if": "'if' is not allowed (no conditional expressions or comprehensions)",
    "else": "'else' is not allowed (no conditional expressions)",
    "for": "'for' is not allowed (no comprehensions)",
}
_RESERVED = frozenset({
    "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "eval",
    "except", "exec", "finally", "from", "global", "import", "nonlocal", "pass", "print", "raise",
    "return", "try", "while", "with", "yield",
})  # fmt: skip

TokenKind = Literal["number", "string", "name", "keyword", "op", "end"]


class RuleSyntaxError(ValueError):
    """A rule condition that cannot be parsed, type-checked or understood.

    Parameters
    ----------
    message : str
        What is wrong, in the strategist's terms.
    text : str
        The whole condition text.
    position : int
        0-based character offset in ``text`` of the offending token.
    context : str, optional
        Prefix naming where the condition came from, set by :meth:`with_context`.

    Notes
    -----
    ``str(err)`` shows the message, the 1-based column and the condition with a caret under the
    offending character::

        unknown field 'days_since_opn' (did you mean 'days_since_open'?) at column 20
          stage == "new" and days_since_opn >= 7
                             ^
    """

    def __init__(self, message: str, text: str, position: int, context: str = "") -> None:
        self.message = message
        self.text = text
        self.position = max(0, position)
        self.context = context
        super().__init__(self._render())

    def _render(self) -> str:
        line_start = self.text.rfind("\n", 0, self.position) + 1
        line_end = self.text.find("\n", self.position)
        line = self.text[line_start : len(self.text) if line_end < 0 else line_end]
        column = self.position - line_start + 1
        where = f"column {column}"
        if "\n" in self.text:
            where = f"line {self.text.count(chr(10), 0, self.position) + 1}, {where}"
        shown = "".join(ch if ch.isprintable() else " " for ch in line)
        caret = " " * (column - 1) + "^"
        return f"{self.context}{self.message} at {where}\n  {shown}\n  {caret}"

    def __str__(self) -> str:
        return self._render()

    def __reduce__(self) -> tuple[type[RuleSyntaxError], tuple[str, str, int, str]]:
        return (type(self), (self.message, self.text, self.position, self.context))

    def with_context(
        self, rule_name: str | None = None, source: str | None = None
    ) -> RuleSyntaxError:
        """Return a copy whose message starts with where the condition came from.

        Parameters
        ----------
        rule_name : str, optional
            Name of the rule, e.g. ``"recall_shallow"``.
        source : str, optional
            File or config key the rule was read from, e.g. ``"experiments/x.yaml"``.

        Returns
        -------
        RuleSyntaxError
            Same message, text and position; ``str()`` reads
            ``rule 'recall_shallow' in experiments/x.yaml: unknown field ...``.
        """
        parts = []
        if rule_name is not None:
            parts.append(f"rule {rule_name!r}")
        if source is not None:
            parts.append(f"in {source}")
        context = " ".join(parts) + ": " if parts else ""
        return RuleSyntaxError(self.message, self.text, self.position, context)


@dataclass(frozen=True)
class Token:
    """One token: its kind, its value and its 0-based start offset in the condition text.

    ``value`` is the operator or keyword text, the name, the decoded string, or the number
    (``int`` for integer literals, ``float`` otherwise). ``kind == "end"`` marks the end of text.
    """

    kind: TokenKind
    value: str | int | float
    pos: int


def tokenize(text: str) -> list[Token]:
    """Split condition text into tokens, ending with an ``"end"`` token.

    Raises
    ------
    RuleSyntaxError
        For any character or word outside the language (see ``docs/RULES_LANGUAGE.md``).
    """
    return list(iter_tokens(text))


def iter_tokens(text: str) -> Iterator[Token]:
    """Yield the tokens of ``text`` one by one, so that a parser meets errors in text order."""
    pending: list[Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch.isdigit() and ch.isascii():
            i = _read_number(text, i, pending)
        elif ch in "\"'":
            i = _read_string(text, i, pending)
        elif ch in _NAME_CHARS:
            i = _read_name(text, i, pending)
        else:
            i = _read_operator(text, i, pending)
        yield from pending
        pending.clear()
    yield Token("end", "", len(text))


def _read_number(text: str, i: int, tokens: list[Token]) -> int:
    match = _NUMBER.match(text, i)
    assert match is not None  # text[i] is a digit
    end = match.end()
    if end < len(text) and (text[end] in _NAME_CHARS or text[end] == "."):
        raise RuleSyntaxError("invalid number", text, i)
    literal = match.group()
    as_float = float(literal)
    if not math.isfinite(as_float):
        raise RuleSyntaxError("number too large", text, i)
    is_int = all(c.isdigit() for c in literal)
    tokens.append(Token("number", int(literal) if is_int else as_float, i))
    return end


def _read_string(text: str, i: int, tokens: list[Token]) -> int:
    quote = text[i]
    chars: list[str] = []
    j = i + 1
    while j < len(text):
        ch = text[j]
        if ch == quote:
            tokens.append(Token("string", "".join(chars), i))
            return j + 1
        if ch == "\\":
            escaped = text[j + 1] if j + 1 < len(text) else ""
            if escaped not in ('"', "'", "\\"):
                raise RuleSyntaxError(
                    "unsupported escape in string; only \\\", \\' and \\\\ are allowed", text, j
                )
            chars.append(escaped)
            j += 2
        else:
            chars.append(ch)
            j += 1
    raise RuleSyntaxError(f"unterminated string: missing closing {quote}", text, i)


def _read_name(text: str, i: int, tokens: list[Token]) -> int:
    match = _NAME.match(text, i)
    assert match is not None  # text[i] is a name character and not a digit
    word, end = match.group(), match.end()
    if end < len(text) and text[end] in "\"'":
        raise RuleSyntaxError(
            'string prefixes such as f"..." are not allowed; write a plain quoted string',
            text,
            i,
        )
    if word.startswith("__"):
        raise RuleSyntaxError(f"names starting with '__' are not allowed: {word!r}", text, i)
    if word in _PYTHON_WORDS:
        raise RuleSyntaxError(_PYTHON_WORDS[word], text, i)
    if word in _RESERVED:
        raise RuleSyntaxError(f"{word!r} is a reserved word and is not allowed here", text, i)
    if word not in KEYWORDS and word.lower() in KEYWORDS:
        raise RuleSyntaxError(f"keywords are lowercase: write {word.lower()!r}", text, i)
    tokens.append(Token("keyword" if word in KEYWORDS else "name", word, i))
    return end


def _read_operator(text: str, i: int, tokens: list[Token]) -> int:
    for seq, message in _FORBIDDEN:
        if len(seq) == 2 and text.startswith(seq, i):
            raise RuleSyntaxError(message, text, i)
    for op in OPERATORS:
        if text.startswith(op, i):
            tokens.append(Token("op", op, i))
            return i + len(op)
    for seq, message in _FORBIDDEN:
        if text.startswith(seq, i):
            if seq == "." and text[i + 1 : i + 2].isdigit():
                message = "write decimals with a leading digit, e.g. 0.5"
            raise RuleSyntaxError(message, text, i)
    ch = text[i]
    message = f"unexpected character {ch!r} (U+{ord(ch):04X})"
    if ch in _FULL_WIDTH:
        message += f"; use the ASCII {_FULL_WIDTH[ch]!r}"
    raise RuleSyntaxError(message, text, i)
