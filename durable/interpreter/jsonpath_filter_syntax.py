"""The filter expressions of JSONPath, ``[?( ... )]``, read as Jayway's FilterCompiler reads them.

Hand-written for the same reason as ``jsonpath_syntax``: the behaviour to match is Jayway's,
including its quirks (see ``read_filter``). The expression becomes ``jsonpath_ast`` filter nodes;
``jsonpath_filter`` gives them their meaning.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .jsonpath_ast import (
    BLANKS,
    Exists,
    FilterNode,
    Literal,
    Logical,
    Operand,
    ParsedPath,
    PathSyntaxError,
    Relation,
    SubPath,
    closing_bracket,
    syntax_error,
    unescape_quoted,
)

__all__ = ["read_filter"]

_SYMBOL_OPS = frozenset({">=", "<=", "==", "===", "!=", "!==", "<", ">", "=~"})
_WORD_OPS = frozenset(
    {
        "NIN",
        "IN",
        "CONTAINS",
        "ALL",
        "SIZE",
        "EXISTS",
        "TYPE",
        "MATCHES",
        "EMPTY",
        "SUBSETOF",
        "ANYOF",
        "NONEOF",
    }
)
_RELATIONAL_CHARS = "<>=~!"
_NUMBER_CHARS = frozenset("0123456789-.eE")


# --- the filter reader: Jayway's FilterCompiler, step for step ---------------------------------


class _FilterReader:
    """Reads ``( ... )``. Jayway groups ``&&``/``||`` with a stack that folds from the right when
    a parenthesis closes (so ``a && b || c`` is ``a && (b || c)``), and treats ``!`` only as the
    negation of an existence test (``!@.x``); both are kept as AWS evaluates them."""

    def __init__(self, text: str, original: str, parse: Callable[[str], ParsedPath]) -> None:
        self.t = text
        self.original = original
        self.parse = parse
        self.pos = 0

    def fail(self, why: str) -> PathSyntaxError:
        return syntax_error(self.original, f"Could not compile inline filter : {why}")

    def skip_blanks(self) -> None:
        while self.pos < len(self.t) and self.t[self.pos] in BLANKS:
            self.pos += 1

    def char(self) -> str:
        return self.t[self.pos] if self.pos < len(self.t) else ""

    def next_significant(self) -> str:
        i = self.pos + 1
        while i < len(self.t) and self.t[i] in BLANKS:
            i += 1
        return self.t[i] if i < len(self.t) else ""

    def previous_significant(self) -> str:
        i = self.pos - 1
        while i >= 0 and self.t[i] in BLANKS:
            i -= 1
        return self.t[i] if i >= 0 else ""

    def read(self) -> FilterNode:
        ops: list[str] = []
        exprs: list[FilterNode] = []
        unbalanced = 0
        while True:
            self.skip_blanks()
            if self.pos >= len(self.t):
                break
            before = self.pos
            c = self.t[self.pos]
            if c == "(":
                unbalanced += 1
                self.pos += 1
            elif c == ")":
                unbalanced -= 1
                self.pos += 1
                if not exprs:
                    raise self.fail("Failed to parse filter")
                node = exprs.pop()
                if ops:
                    if not exprs:
                        raise self.fail("Expected expression on right hand side of operator")
                    node = Logical(ops.pop(), exprs.pop(), node)
                    while ops:
                        if not exprs:
                            raise self.fail("Failed to parse filter")
                        node = Logical(ops.pop(), exprs.pop(), node)
                exprs.append(node)
            elif c == "!":
                self.pos += 1
            elif c in "&|":
                op = self.t[self.pos : self.pos + 2]
                if op not in ("&&", "||"):
                    raise self.fail("Expected logical operator")
                ops.append(op)
                self.pos += 2
            else:
                exprs.append(self.expression())
            if self.pos <= before:
                raise self.fail("Failed to parse filter")
        if unbalanced != 0:
            raise self.fail("Failed to parse filter. Brackets are not balanced.")
        if not exprs:
            raise self.fail("Failed to parse filter")
        return exprs[-1]

    def expression(self) -> FilterNode:
        left = self.value()
        if self.terminated():
            if not isinstance(left, SubPath):
                raise self.fail("Expected a path before a logical operator")
            return Exists(left, self._last_present)
        op = self.operator()
        right = self.value()
        return Relation(left, op, right)

    def terminated(self) -> bool:
        c = self.char()
        if c == ")" or c in ("&", "|"):
            return True
        n = self.next_significant()
        return n == ")" or n in ("&", "|")

    def operator(self) -> str:
        self.skip_blanks()
        start = self.pos
        t = self.t
        if self.char() and self.char() in _RELATIONAL_CHARS:
            while self.pos < len(t) and t[self.pos] in _RELATIONAL_CHARS:
                self.pos += 1
        else:
            while self.pos < len(t) and t[self.pos] != " ":
                self.pos += 1
        text = t[start : self.pos]
        if text in _SYMBOL_OPS:
            return text
        if text.upper() in _WORD_OPS:
            return text.upper()
        raise self.fail(f"Filter operator {text} is not supported!")

    _last_present = True  # False when the last path read was written "!@.x"

    def value(self) -> Operand:
        self.skip_blanks()
        c = self.char()
        if c in ("$", "@"):
            return self.sub_path()
        return self.literal(c)

    def sub_path(self) -> SubPath:
        t = self.t
        self._last_present = self.previous_significant() != "!"
        begin = self.pos
        self.pos += 1
        while self.pos < len(t):
            if t[self.pos] == "[":
                close = closing_bracket(t, self.pos)
                if close < 0:
                    raise self.fail("Square brackets does not match in filter")
                self.pos = close + 1
                if self.pos >= len(t):
                    break
            c = t[self.pos]
            if c == ")" and not self._closes_function(begin):
                break
            if c in _RELATIONAL_CHARS or c == " ":
                break
            self.pos += 1
        text = t[begin : self.pos]
        try:
            return SubPath(self.parse(text))
        except PathSyntaxError as exc:
            raise self.fail(str(exc)) from None

    def _closes_function(self, lower: int) -> bool:
        i = self.pos - 1
        while i >= 0 and self.t[i] in BLANKS:
            i -= 1
        if i < 0 or self.t[i] != "(":
            return False
        i -= 1
        while i > lower:
            if self.t[i] == ".":
                return True
            i -= 1
        return False

    def literal(self, c: str) -> Literal:
        t = self.t
        if c in ("'", '"'):
            end = _next_unescaped(t, self.pos + 1, c)
            if end < 0:
                raise self.fail(f"String not closed. Expected {c}")
            raw = t[self.pos + 1 : end]
            self.pos = end + 1
            return Literal("str", unescape_quoted(raw, c))
        if c in ("t", "f"):
            word = "true" if c == "t" else "false"
            if not t.startswith(word, self.pos):
                raise self.fail("Expected boolean literal")
            self.pos += len(word)
            return Literal("bool", word == "true")
        if c == "n":
            if not t.startswith("null", self.pos):
                raise self.fail("Expected <null> value")
            self.pos += 4
            return Literal("null", None)
        if c in ("{", "["):
            end = closing_bracket(t, self.pos)
            if end < 0:
                raise self.fail("JSON literal not closed")
            raw = t[self.pos : end + 1]
            self.pos = end + 1
            return Literal("json", _permissive_json(raw, self))
        if c == "/":
            end = _next_unescaped(t, self.pos + 1, "/")
            if end < 0:
                raise self.fail("Pattern not closed. Expected / in filter")
            body = t[self.pos + 1 : end]
            flags = 0
            self.pos = end + 1
            if t[self.pos : self.pos + 1] == "i":
                flags = re.IGNORECASE
                self.pos += 1
            try:
                return Literal("pattern", re.compile(body, flags))
            except re.error as exc:
                raise self.fail(f"bad regular expression: {exc}") from None
        start = self.pos
        while self.pos < len(t) and t[self.pos] in _NUMBER_CHARS:
            self.pos += 1
        number = t[start : self.pos]
        if not re.fullmatch(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", number):
            raise self.fail(f"Expected a literal, found {t[start : start + 20]!r}")
        return Literal("num", float(number) if any(ch in number for ch in ".eE") else int(number))


def _next_unescaped(t: str, start: int, ch: str) -> int:
    i = start
    while i < len(t):
        if t[i] == "\\":
            i += 2
            continue
        if t[i] == ch:
            return i
        i += 1
    return -1


_JSON_TOKEN = re.compile(
    r"\s*(?:(?P<punct>[\[\]{}:,])|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<num>-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|(?P<word>[A-Za-z_$][\w$]*))"
)


def _permissive_json(text: str, reader: _FilterReader) -> Any:
    """A JSON literal as json-smart's permissive mode reads it: quotes ' or ", bare keys."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _JSON_TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if not text[pos:].strip():
                break
            raise reader.fail(f"bad JSON literal {text[:50]}")
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    value, end = _json_value(tokens, 0, reader)
    if end != len(tokens):
        raise reader.fail(f"bad JSON literal {text[:50]}")
    return value


def _json_value(tokens: list[tuple[str, str]], i: int, reader: _FilterReader) -> tuple[Any, int]:
    if i >= len(tokens):
        raise reader.fail("bad JSON literal")
    kind, text = tokens[i]
    if kind == "str":
        return unescape_quoted(text[1:-1], text[0]), i + 1
    if kind == "num":
        return (float(text) if any(c in text for c in ".eE") else int(text)), i + 1
    if kind == "word":
        return {"true": True, "false": False, "null": None}.get(text, text), i + 1
    if text == "[":
        items: list[Any] = []
        i += 1
        while i < len(tokens) and tokens[i][1] != "]":
            item, i = _json_value(tokens, i, reader)
            items.append(item)
            if i < len(tokens) and tokens[i][1] == ",":
                i += 1
        return items, i + 1
    if text == "{":
        obj: dict[str, Any] = {}
        i += 1
        while i < len(tokens) and tokens[i][1] != "}":
            key, i = _json_value(tokens, i, reader)
            if i >= len(tokens) or tokens[i][1] != ":":
                raise reader.fail("bad JSON literal")
            obj[str(key)], i = _json_value(tokens, i + 1, reader)
            if i < len(tokens) and tokens[i][1] == ",":
                i += 1
        return obj, i + 1
    raise reader.fail("bad JSON literal")


def read_filter(text: str, original: str, parse: Callable[[str], ParsedPath]) -> FilterNode:
    """Read the ``( ... )`` of a filter; ``parse`` reads the paths inside it."""
    return _FilterReader(text, original, parse).read()
