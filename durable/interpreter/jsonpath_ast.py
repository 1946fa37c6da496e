"""The parsed form of a Step Functions JSONPath: roots, steps and filter expressions.

``jsonpath_syntax`` reads a path into these values, ``jsonpath_filter_syntax`` reads the filter
expressions inside one, ``jsonpath`` and ``jsonpath_filter`` evaluate them. docs/jsonpath.md lists
every construct with what AWS does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "BLANKS",
    "ROOT_CONTEXT",
    "ROOT_INPUT",
    "ROOT_VARIABLE",
    "Exists",
    "Filter",
    "FilterNode",
    "Function",
    "Index",
    "Key",
    "Literal",
    "Logical",
    "Operand",
    "ParsedPath",
    "PathSyntaxError",
    "Relation",
    "Scan",
    "Slice",
    "Step",
    "SubPath",
    "Wildcard",
    "closing_bracket",
    "syntax_error",
    "unescape_quoted",
]

ROOT_INPUT = "input"
ROOT_CONTEXT = "context"
ROOT_VARIABLE = "variable"

BLANKS = " \t\r\n"


class PathSyntaxError(ValueError):
    """The text is not a JSONPath (or not the kind of path the field requires)."""


# --- steps ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Key:
    """``.name``, ``['name']`` or the union ``['a','b']`` (merged into one object at the leaf)."""

    names: tuple[str, ...]
    quote: str = "'"

    def fragment(self) -> str:
        q = self.quote
        return "[" + ",".join(q + n.replace("\\", "\\\\").replace("'", "\\'") + q for n in self.names) + "]"


@dataclass(frozen=True, slots=True)
class Index:
    """``[0]``, ``[-1]`` or ``[0,2]``."""

    indices: tuple[int, ...]

    def fragment(self) -> str:
        return "[" + ",".join(str(i) for i in self.indices) + "]"


@dataclass(frozen=True, slots=True)
class Slice:
    """``[a:b]``, ``[a:]`` or ``[:b]``; Jayway reads a third ``:step`` part and ignores it."""

    start: int | None
    stop: int | None

    def fragment(self) -> str:
        return f"[{'' if self.start is None else self.start}:{'' if self.stop is None else self.stop}]"


@dataclass(frozen=True, slots=True)
class Wildcard:
    """``.*`` or ``[*]``: every member of an object or element of an array."""

    def fragment(self) -> str:
        return "[*]"


@dataclass(frozen=True, slots=True)
class Scan:
    """``..``: the next step applied at every depth (deep scan)."""

    def fragment(self) -> str:
        return ".."


@dataclass(frozen=True, slots=True)
class Filter:
    """``[?(expr)]``: the array elements (or the object itself) for which ``expr`` holds."""

    expr: FilterNode
    text: str

    def fragment(self) -> str:
        return "[?]"


@dataclass(frozen=True, slots=True)
class Function:
    """``name()`` / ``name(args)``. AWS does not evaluate JSONPath functions: it accepts them in a
    definition and then finds no such node at run time, so this step matches nothing."""

    text: str

    def fragment(self) -> str:
        return "['" + self.text + "']"


Step = Key | Index | Slice | Wildcard | Scan | Filter | Function


@dataclass(frozen=True, slots=True)
class ParsedPath:
    text: str
    root: str  # ROOT_INPUT ("$" or "@"), ROOT_CONTEXT ("$$") or ROOT_VARIABLE ("$name")
    variable: str | None
    steps: tuple[Step, ...]
    current: bool = False  # rooted at "@" (inside a filter)


# --- filter expressions ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Literal:
    kind: str  # "str" | "num" | "bool" | "null" | "json" | "pattern"
    value: Any


@dataclass(frozen=True, slots=True)
class SubPath:
    path: ParsedPath  # "@..." (the element) or "$..." (the document)


Operand = Literal | SubPath


@dataclass(frozen=True, slots=True)
class Relation:
    left: Operand
    op: str  # Jayway's operator name: "==", "<", "=~", "IN", "SIZE", ...
    right: Operand


@dataclass(frozen=True, slots=True)
class Exists:
    path: SubPath
    present: bool  # False for "!@.x"


@dataclass(frozen=True, slots=True)
class Logical:
    op: str  # "&&" | "||"
    left: FilterNode
    right: FilterNode


FilterNode = Relation | Exists | Logical


def syntax_error(text: str, why: str) -> PathSyntaxError:
    return PathSyntaxError(f"Invalid JSONPath '{text[:200]}': {why}")


def unescape_quoted(s: str, quote: str) -> str:
    """A quoted name as AWS reads it: a backslash escapes the quote or a backslash; any other
    backslash stays (recorded: ``$['Test\\""Name"']`` selects the key ``Test\\""Name"``)."""
    if "\\" not in s:
        return s
    out: list[str] = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s) and s[i + 1] in (quote, "\\"):
            out.append(s[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


_CLOSERS: Final = {"(": ")", "[": "]", "{": "}"}


def closing_bracket(t: str, start: int) -> int:
    """Index of the bracket closing the ``(``, ``[`` or ``{`` at ``start`` (nesting counted,
    quoted text skipped, backslash escapes honoured), or -1."""
    opener = t[start]
    closer = _CLOSERS[opener]
    depth = 0
    quote = ""
    i = start
    while i < len(t):
        c = t[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in ("'", '"'):
            quote = c
        elif c == opener:
            depth += 1
        elif c == closer:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1
