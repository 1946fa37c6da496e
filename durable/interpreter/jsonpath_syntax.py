"""The grammar of Step Functions JSONPath: Jayway JsonPath's, read the way Jayway reads it.

AWS evaluates JSONPath with Jayway JsonPath (its error texts name Jayway's classes), so the
grammar to accept is Jayway's, quirks included: a dot may precede a bracket (``$.[0]``), a
bracket of quoted names is a union (``['a', 'b']``), a slice has at most two bounds (a third
part is ignored), a filter is ``[?( ... )]`` with Jayway's operators. No Python JSONPath library
reads this dialect (they follow Goessner or RFC 9535, which differ on unions, slices, filters
and functions), which is why this parser is hand-written. docs/jsonpath.md lists every construct
with what AWS does.

``parse_path`` returns a ``ParsedPath`` (``jsonpath_ast``); filters are read by
``jsonpath_filter_syntax``, evaluation lives in ``jsonpath`` and ``jsonpath_filter``.
"""

from __future__ import annotations

import re

from .jsonpath_ast import (
    BLANKS,
    ROOT_CONTEXT,
    ROOT_INPUT,
    ROOT_VARIABLE,
    Filter,
    Function,
    Index,
    Key,
    ParsedPath,
    PathSyntaxError,
    Scan,
    Slice,
    Step,
    Wildcard,
    closing_bracket,
    syntax_error,
    unescape_quoted,
)
from .jsonpath_filter_syntax import read_filter

__all__ = ["PathSyntaxError", "parse_path"]

_IDENT = re.compile(r"[^\W\d]\w*", re.UNICODE)


# --- the path reader ---------------------------------------------------------------------------


def parse_path(text: str) -> ParsedPath:
    """Parse a ``$``, ``$$``, ``$name`` or (inside filters) ``@`` path; raise PathSyntaxError."""
    if not isinstance(text, str) or not text:
        raise PathSyntaxError(f"Invalid JSONPath {text!r}")
    t = text.strip(BLANKS)
    if t.endswith("."):
        raise syntax_error(text, "Path must not end with a '.' or '..'")
    variable = None
    current = False
    if t.startswith("$$"):
        root, pos = ROOT_CONTEXT, 2
    elif t.startswith("@"):
        root, pos, current = ROOT_INPUT, 1, True
    elif t.startswith("$"):
        m = _IDENT.match(t, 1)
        if m:
            root, variable, pos = ROOT_VARIABLE, m.group(0), m.end()
        else:
            root, pos = ROOT_INPUT, 1
    else:
        raise syntax_error(text, "Path must start with '$' or '@'")
    if pos < len(t) and t[pos] not in ".[":
        raise syntax_error(text, f"Illegal character at position {pos} expected '.' or '['")
    steps = _Reader(text, t, pos).read()
    return ParsedPath(text, root, variable, tuple(steps), current)


class _Reader:
    def __init__(self, original: str, t: str, pos: int) -> None:
        self.original = original
        self.t = t
        self.pos = pos
        self.steps: list[Step] = []

    def fail(self, why: str) -> PathSyntaxError:
        return syntax_error(self.original, why)

    def next_significant(self, start: int) -> tuple[int, str]:
        i = start
        while i < len(self.t) and self.t[i] in BLANKS:
            i += 1
        return i, (self.t[i] if i < len(self.t) else "")

    def read(self) -> list[Step]:
        t = self.t
        while self.pos < len(t):
            c = t[self.pos]
            if c == "[":
                self.bracket()
            elif c == ".":
                self.dot()
            elif c == "*":
                self.pos += 1
                self.steps.append(Wildcard())
            elif c in BLANKS:
                raise self.fail(f"Could not parse token starting at position {self.pos}")
            else:
                self.property_or_function()
        return self.steps

    def dot(self) -> None:
        t = self.t
        if t.startswith("..", self.pos):
            self.steps.append(Scan())
            self.pos += 2
        else:
            self.pos += 1
        if self.pos >= len(t):
            raise self.fail("Path must not end with a '.'")
        if t[self.pos] == ".":
            raise self.fail(f"Character '.' on position {self.pos} is not valid.")
        if t[self.pos] in BLANKS:
            raise self.fail(f"Could not parse token starting at position {self.pos}")

    def property_or_function(self) -> None:
        t = self.t
        start = i = self.pos
        while i < len(t):
            c = t[i]
            if c == " ":
                raise self.fail(f"Use bracket notion ['my prop'] for a name with blanks. position: {i}")
            if c in ".[(":
                break
            i += 1
        name = t[start:i]
        if i < len(t) and t[i] == "(":
            close = closing_bracket(t, i)
            if close < 0:
                raise self.fail(f"Arguments to function: '{name}' are not closed properly.")
            self.steps.append(Function(t[start : close + 1]))
            self.pos = close + 1
            return
        self.steps.append(Key((name,)))
        self.pos = i

    def bracket(self) -> None:
        t = self.t
        j, c = self.next_significant(self.pos + 1)
        if c in ("'", '"'):
            self.quoted_names(c)
        elif c.isdigit() or c in "-:":
            self.array_subscript()
        elif c == "*":
            k, after = self.next_significant(j + 1)
            if after != "]":
                raise self.fail(f"Expected wildcard token to end with ']' on position {j + 1}")
            self.steps.append(Wildcard())
            self.pos = k + 1
        elif c == "?":
            self.filter(j)
        else:
            raise self.fail(f"Could not parse token starting at position {self.pos}. Expected ?, ', 0-9, * ")
        if self.pos > len(t):
            raise self.fail("unclosed '['")

    def quoted_names(self, quote: str) -> None:
        t = self.t
        names: list[str] = []
        i = start = self.pos + 1
        end = -1
        in_name = escaped = comma_last = False
        while i < len(t):
            c = t[i]
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == "]" and not in_name:
                if comma_last:
                    raise self.fail(f"Found empty property at index {i}")
                break
            elif c == quote:
                if in_name:
                    _, after = self.next_significant(i + 1)
                    if after not in ("]", ","):
                        raise self.fail(
                            "Property must be separated by comma or Property must be terminated close "
                            f"square bracket at index {i}"
                        )
                    end = i
                    names.append(unescape_quoted(t[start:i], quote))
                    in_name = False
                else:
                    start = i + 1
                    in_name = True
                    comma_last = False
            elif c == "," and not in_name:
                if comma_last:
                    raise self.fail(f"Found empty property at index {i}")
                comma_last = True
            i += 1
        if in_name or end < 0:
            raise self.fail(f"Property has not been closed - missing closing {quote}")
        k, after = self.next_significant(end + 1)
        if after != "]":
            raise self.fail("Property has not been closed - missing closing ]")
        self.steps.append(Key(tuple(names), quote))
        self.pos = k + 1

    def array_subscript(self) -> None:
        t = self.t
        close = t.find("]", self.pos + 1)
        if close < 0:
            raise self.fail("unclosed '['")
        body = t[self.pos + 1 : close].strip(BLANKS)
        if any(not (ch.isdigit() or ch in ",-: ") for ch in body):
            raise self.fail(f"Could not parse token starting at position {self.pos}. Expected ?, ', 0-9, * ")
        if ":" in body:
            self.steps.append(_slice(body, self))
        else:
            try:
                indices = tuple(_java_int(p.strip()) for p in body.split(","))
            except ValueError:
                raise self.fail(f"Failed to parse ArrayIndexOperation: {body}") from None
            self.steps.append(Index(indices))
        self.pos = close + 1

    def filter(self, question: int) -> None:
        t = self.t
        j, c = self.next_significant(question + 1)
        if c != "(":
            raise self.fail(f"Could not parse token starting at position {self.pos}. Expected ?, ', 0-9, * ")
        close = closing_bracket(t, j)
        if close < 0:
            raise self.fail(f"Could not parse token starting at position {self.pos}. Expected ?, ', 0-9, * ")
        k, after = self.next_significant(close + 1)
        if after != "]":
            raise self.fail(f"Could not parse token starting at position {self.pos}. Expected ?, ', 0-9, * ")
        inner = t[j : close + 1]
        expr = read_filter(inner, self.original, parse_path)
        self.steps.append(Filter(expr, t[self.pos : k + 1]))
        self.pos = k + 1


def _slice(body: str, reader: _Reader) -> Slice:
    text = body.replace(" ", "")
    parts = text.split(":")
    try:
        start = _java_int(parts[0]) if parts[0] else None
        stop = _java_int(parts[1]) if len(parts) > 1 and parts[1] else None
        if len(parts) > 2 and parts[2]:
            _java_int(parts[2])  # read, then ignored, as Jayway does
    except ValueError:
        raise reader.fail(f"Failed to parse SliceOperation: {body}") from None
    if start is None and stop is None:
        raise reader.fail(f"Failed to parse SliceOperation: {body}")
    return Slice(start, stop)


def _java_int(text: str) -> int:
    """Java's Integer.parseInt: an optional sign and digits, within 32 bits."""
    if not re.fullmatch(r"[-+]?\d+", text):
        raise ValueError(text)
    value = int(text)
    if not -(2**31) <= value < 2**31:
        raise ValueError(text)
    return value
