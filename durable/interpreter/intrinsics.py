"""ASL intrinsic functions (JSONPath mode), parsed once into closures and evaluated many times.

An intrinsic is the value of a ``.$`` field such as ``States.Format('Hi {}', $.name)``. Arguments are
single-quoted strings (``\\'``, ``\\{``, ``\\}``, ``\\\\`` escapes), numbers, ``true``/``false``/``null``,
paths (``$...``, ``$$...``, ``$var...``) and nested calls. Paths are never evaluated here: their text
goes to the ``resolve`` callback given to :meth:`Intrinsic.evaluate`. Randomness comes from the
injected :class:`IntrinsicServices`, except for seeded ``States.MathRandom``, which uses a
deterministic splitmix64 so that one seed always yields one value.

Definition-time problems raise :class:`IntrinsicSyntaxError` (as AWS rejects them when the state
machine is created, including a backslash that escapes none of ``' { } \\``). A function that
cannot take its arguments raises :class:`IntrinsicArgumentError` (see ``intrinsic_functions``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from .intrinsic_functions import (
    FUNCTIONS,
    RESERVED,
    IntrinsicArgumentError,
    IntrinsicServices,
    format_pieces,
    render_format,
)

__all__ = [
    "MAX_NESTING",
    "Intrinsic",
    "IntrinsicArgumentError",
    "IntrinsicServices",
    "IntrinsicSyntaxError",
    "compile_intrinsic",
    "is_intrinsic",
]

MAX_NESTING: Final = 10
"""Deepest allowed call nesting; the outermost call is level 1."""


class IntrinsicSyntaxError(ValueError):
    """The text is not a valid intrinsic call (bad syntax, unknown function, wrong arity, too deep)."""


Resolve = Callable[[str], Any]
_Eval = Callable[[Resolve, IntrinsicServices], Any]

_HEAD = re.compile(r"States\.[A-Za-z0-9_.]+\(")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def is_intrinsic(text: str) -> bool:
    """True when ``text`` starts (no leading whitespace) with ``States.<Name>(``."""
    return _HEAD.match(text) is not None


@dataclass(frozen=True, slots=True, eq=False)
class Intrinsic:
    """A compiled intrinsic call. Immutable and reusable; ``paths`` lists every path argument text."""

    text: str
    paths: tuple[str, ...]
    _run: _Eval = field(repr=False)

    def evaluate(self, resolve: Resolve, services: IntrinsicServices) -> Any:
        """Run the call. ``resolve(path_text)`` supplies path values (its failures propagate)."""
        return self._run(resolve, services)


def compile_intrinsic(text: str) -> Intrinsic:
    parser = _Parser(text)
    node = parser.parse()
    return Intrinsic(text, tuple(parser.paths), _compile(node))


# --- parsing ----------------------------------------------------------------------------------
# Nodes: ("lit", value) | ("str", value, raw) | ("path", text) | ("call", name, args)
_Node = tuple[Any, ...]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.paths: list[str] = []

    def error(self, message: str, pos: int | None = None) -> IntrinsicSyntaxError:
        at = self.pos if pos is None else pos
        return IntrinsicSyntaxError(f"{message} at position {at} in intrinsic function {self.text!r}")

    def parse(self) -> _Node:
        if not is_intrinsic(self.text):
            raise IntrinsicSyntaxError(
                f"Not an intrinsic function call (expected 'States.<Name>(...)'): {self.text!r}"
            )
        node = self.call(1)
        self.skip_ws()
        if self.pos != len(self.text):
            raise self.error(f"Unexpected text {self.text[self.pos :]!r} after the intrinsic function call")
        return node

    def skip_ws(self) -> None:
        text, n = self.text, len(self.text)
        while self.pos < n and text[self.pos].isspace():
            self.pos += 1

    def call(self, depth: int) -> _Node:
        start = self.pos
        m = _NAME.match(self.text, self.pos)
        if m is None:  # pragma: no cover - callers check first
            raise self.error("Expected an intrinsic function name")
        name = m.group()
        self.pos = m.end()
        if name not in FUNCTIONS:
            raise IntrinsicSyntaxError(f"Unknown intrinsic function '{name}' in {self.text!r}")
        if depth > MAX_NESTING:
            raise IntrinsicSyntaxError(
                f"Intrinsic functions are nested more than {MAX_NESTING} levels deep in {self.text!r}"
            )
        if self.pos >= len(self.text) or self.text[self.pos] != "(":
            raise self.error(f"Expected '(' after '{name}'")
        self.pos += 1
        args: list[_Node] = []
        self.skip_ws()
        if self.pos < len(self.text) and self.text[self.pos] == ")":
            self.pos += 1
        else:
            while True:
                args.append(self.argument(depth))
                self.skip_ws()
                if self.pos >= len(self.text):
                    raise self.error(f"Missing ')' to close '{name}('", start)
                c = self.text[self.pos]
                self.pos += 1
                if c == ")":
                    break
                if c != ",":
                    raise self.error(f"Expected ',' or ')' but found {c!r}", self.pos - 1)
        low, high, _ = FUNCTIONS[name]
        if len(args) < low or (high is not None and len(args) > high):
            if high is None:
                expected = f"at least {low}"
            elif low == high:
                expected = str(low)
            else:
                expected = f"{low} to {high}"
            raise IntrinsicSyntaxError(
                f"Intrinsic function '{name}' takes {expected} argument(s) but {len(args)} were given "
                f"in {self.text!r}"
            )
        return ("call", name, tuple(args))

    def argument(self, depth: int) -> _Node:
        self.skip_ws()
        text, pos = self.text, self.pos
        if pos >= len(text):
            raise self.error("Missing argument")
        c = text[pos]
        if c == "'":
            return self.string()
        if c == "$":
            return self.path()
        if c == "-" or c.isdigit():
            return self.number()
        m = _NAME.match(text, pos)
        if m is not None:
            word = m.group()
            after = m.end()
            if after < len(text) and text[after] == "(":
                return self.call(depth + 1)
            if word in ("true", "false", "null"):
                self.pos = after
                return ("lit", {"true": True, "false": False, "null": None}[word])
            raise self.error(f"Unexpected argument {word!r}")
        raise self.error(f"Unexpected character {c!r}")

    def string(self) -> _Node:
        text, n = self.text, len(self.text)
        start = self.pos
        i = start + 1
        out: list[str] = []
        while i < n:
            c = text[i]
            if c == "'":
                self.pos = i + 1
                return ("str", "".join(out), text[start + 1 : i])
            if c == "\\":
                nxt = text[i + 1] if i + 1 < n else ""
                if nxt not in RESERVED or not nxt:
                    # AWS refuses the definition (SCHEMA_VALIDATION_FAILED), as a user found with
                    # States.Format('...\\n...'): only ' { } \\ may follow a backslash
                    raise self.error(f"Open escape '\\{nxt}' in a string literal", i)
                out.append(nxt)
                i += 2
                continue
            out.append(c)
            i += 1
        raise self.error("Unterminated string literal", start)

    def number(self) -> _Node:
        m = _NUMBER.match(self.text, self.pos)
        if m is None:
            raise self.error("Invalid number")
        literal = m.group()
        end = m.end()
        if end < len(self.text) and not (self.text[end].isspace() or self.text[end] in ",)"):
            raise self.error("Invalid number")
        self.pos = end
        if m.group(1) is None and m.group(2) is None:
            return ("lit", int(literal))
        value = float(literal)
        if math.isinf(value):
            raise self.error(f"Number {literal} is out of range", m.start())
        return ("lit", value)

    def path(self) -> _Node:
        text, n = self.text, len(self.text)
        start = i = self.pos
        brackets = parens = 0
        quote: str | None = None
        while i < n:
            c = text[i]
            if quote is not None:
                if c == "\\":
                    i += 2
                    continue
                if c == quote:
                    quote = None
            elif c in "'\"" and (brackets or parens):
                quote = c
            elif c == "[":
                brackets += 1
            elif c == "]":
                brackets = max(0, brackets - 1)
            elif c == "(":
                parens += 1
            elif c == ")":
                if not parens and not brackets:
                    break
                parens = max(0, parens - 1)
            elif c == "," and not brackets and not parens:
                break
            i += 1
        if quote is not None or brackets:
            raise self.error("Unterminated path argument", start)
        self.pos = min(i, n)
        path = text[start : self.pos].strip()
        self.paths.append(path)
        return ("path", path)


# --- compiling nodes to closures --------------------------------------------------------------


def _compile(node: _Node) -> _Eval:
    kind = node[0]
    if kind == "lit":
        value = node[1]
        return lambda resolve, services: value
    if kind == "str":
        text_value = node[1]
        return lambda resolve, services: text_value
    if kind == "path":
        path_text = node[1]
        return lambda resolve, services: resolve(path_text)
    name: str = node[1]
    arg_nodes: tuple[_Node, ...] = node[2]
    if name == "States.Format" and arg_nodes[0][0] == "str":
        return _compile_literal_format(arg_nodes)
    impl = FUNCTIONS[name][2]
    evals = tuple(_compile(a) for a in arg_nodes)
    if not evals:
        return lambda resolve, services: impl([], services)
    if len(evals) == 1:
        (only,) = evals
        return lambda resolve, services: impl([only(resolve, services)], services)
    return lambda resolve, services: impl([e(resolve, services) for e in evals], services)


def _compile_literal_format(arg_nodes: tuple[_Node, ...]) -> _Eval:
    """``States.Format`` with a literal template: placeholders and escapes are split once, here."""
    pieces = format_pieces(arg_nodes[0][2], strict=True)
    assert pieces is not None  # the parser refused any other escape
    evals = tuple(_compile(a) for a in arg_nodes[1:])
    if not evals and len(pieces) == 1:
        constant = pieces[0]
        return lambda resolve, services: constant

    def run(resolve: Resolve, services: IntrinsicServices) -> Any:
        return render_format(pieces, [e(resolve, services) for e in evals])

    return run
