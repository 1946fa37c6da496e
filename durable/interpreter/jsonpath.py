"""JSONPath as Step Functions evaluates it (Jayway-style), compiled once per path.

A path starts at one of three roots: ``$`` (the state's data), ``$$`` (the context object)
or ``$name`` (a workflow variable). Definite paths (names and single indices only) yield
one value or raise :class:`PathMissing`; indefinite paths (wildcards, slices, unions,
filters, deep scan) yield a list of every match, ``[]`` when nothing matches.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

__all__ = [
    "Path",
    "PathMissing",
    "PathSyntaxError",
    "ResultPathMismatch",
    "compile_path",
    "compile_reference_path",
    "jayway_path",
]

ROOT_INPUT: Final = "input"
ROOT_CONTEXT: Final = "context"
ROOT_VARIABLE: Final = "variable"

_IDENT_START = re.compile(r"[^\W\d]\w*", re.UNICODE)
_NAME_CHARS = re.compile(r"[^.\[\]()\s,]+")


class PathSyntaxError(ValueError):
    """The text is not a JSONPath (or not a Reference Path, where one is required)."""


class PathMissing(Exception):
    """A definite path matched nothing. ``detail`` is Jayway's wording of the miss."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ResultPathMismatch(Exception):
    """A Reference Path cannot be applied to the target (a non-object on the way)."""


# --- steps ----------------------------------------------------------------------------------
# ("key", name) | ("index", i) | ("wild",) | ("keys", (names...)) | ("indices", (ints...))
# | ("slice", start, stop, step) | ("filter", predicate) | ("deep", step) | ("length",)
Step = tuple[Any, ...]


def _quote(name: str) -> str:
    return "['" + name + "']"


def jayway_path(steps: tuple[Step, ...], upto: int) -> str:
    """Render the first ``upto`` steps the way Jayway prints normalized paths: ``$['a'][0]``."""
    out = ["$"]
    for step in steps[:upto]:
        kind = step[0]
        if kind == "key":
            out.append(_quote(step[1]))
        elif kind == "index":
            out.append(f"[{step[1]}]")
        else:
            out.append("[*]")
    return "".join(out)


class Path:
    """A compiled JSONPath. Immutable; evaluate with :meth:`get`."""

    __slots__ = ("definite", "get", "root", "steps", "text", "variable")

    def __init__(self, text: str, root: str, variable: str | None, steps: tuple[Step, ...]) -> None:
        self.text = text
        self.root = root
        self.variable = variable
        self.steps = steps
        self.definite = all(s[0] in ("key", "index") for s in steps)
        self.get: Callable[[Any], Any] = self._build_getter()

    def __repr__(self) -> str:
        return f"Path({self.text!r})"

    @property
    def is_root(self) -> bool:
        """True for the plain ``$`` (the whole state data)."""
        return not self.steps and self.root == ROOT_INPUT

    def _build_getter(self) -> Callable[[Any], Any]:
        steps = self.steps
        if not steps:
            return _identity
        if self.definite:
            if len(steps) == 1 and steps[0][0] == "key":
                name = steps[0][1]

                def get_one(doc: Any) -> Any:
                    if type(doc) is dict:
                        try:
                            return doc[name]
                        except KeyError:
                            pass
                    return _definite(steps, doc)

                return get_one
            return lambda doc: _definite(steps, doc)
        return lambda doc: _indefinite(steps, doc)


def _identity(doc: Any) -> Any:
    return doc


def _definite(steps: tuple[Step, ...], doc: Any) -> Any:
    cur = doc
    last = len(steps) - 1
    for i, step in enumerate(steps):
        if step[0] == "key":
            if isinstance(cur, dict):
                if step[1] in cur:
                    cur = cur[step[1]]
                    continue
                if i == last:
                    raise PathMissing(f"No results for path: {jayway_path(steps, i + 1)}")
                raise PathMissing(f"Missing property in path {jayway_path(steps, i + 1)}")
            raise PathMissing(
                f"Expected to find an object with property {_quote(step[1])} in path "
                f"{jayway_path(steps, i)} but found '{_java_type(cur)}'. This is not a json object "
                "according to the JsonProvider: 'com.jayway.jsonpath.spi.json.JsonSmartJsonProvider'."
            )
        index = step[1]
        if isinstance(cur, list):
            n = len(cur)
            j = index + n if index < 0 else index
            if 0 <= j < n:
                cur = cur[j]
                continue
        raise PathMissing(f"No results for path: {jayway_path(steps, i + 1)}")
    return cur


def _java_type(value: Any) -> str:
    if isinstance(value, str):
        return "java.lang.String"
    if isinstance(value, bool):
        return "java.lang.Boolean"
    if isinstance(value, int):
        return "java.lang.Integer"
    if isinstance(value, float):
        return "java.lang.Double"
    if isinstance(value, list):
        return "net.minidev.json.JSONArray"
    return "null"


def _children(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return list(node.values())
    if isinstance(node, list):
        return node
    return []


def _apply(step: Step, nodes: list[Any]) -> list[Any]:
    kind = step[0]
    out: list[Any] = []
    if kind == "key":
        name = step[1]
        for n in nodes:
            if isinstance(n, dict) and name in n:
                out.append(n[name])
    elif kind == "index":
        for n in nodes:
            if isinstance(n, list):
                j = step[1] + len(n) if step[1] < 0 else step[1]
                if 0 <= j < len(n):
                    out.append(n[j])
    elif kind == "wild":
        for n in nodes:
            out.extend(_children(n))
    elif kind == "keys":
        for n in nodes:
            if isinstance(n, dict):
                out.extend(n[k] for k in step[1] if k in n)
    elif kind == "indices":
        for n in nodes:
            if isinstance(n, list):
                for i in step[1]:
                    j = i + len(n) if i < 0 else i
                    if 0 <= j < len(n):
                        out.append(n[j])
    elif kind == "slice":
        for n in nodes:
            if isinstance(n, list):
                out.extend(n[slice(step[1], step[2], step[3])])
    elif kind == "filter":
        pred = step[1]
        for n in nodes:
            for child in _children(n):
                if pred(child):
                    out.append(child)
    elif kind == "deep":
        inner = step[1]
        for n in nodes:
            for d in _descendants(n):
                out.extend(_apply(inner, [d]))
    elif kind == "length":
        for n in nodes:
            if isinstance(n, (list, dict, str)):
                out.append(len(n))
    return out


def _descendants(node: Any) -> list[Any]:
    """``node`` and every container below it, depth first in document order (as Jayway scans)."""
    out: list[Any] = []
    stack = [node]
    while stack:
        cur = stack.pop()
        out.append(cur)
        stack.extend(reversed([c for c in _children(cur) if isinstance(c, (dict, list))]))
    return out


def _indefinite(steps: tuple[Step, ...], doc: Any) -> list[Any]:
    nodes = [doc]
    for step in steps:
        nodes = _apply(step, nodes)
        if not nodes:
            break
    if steps and steps[-1][0] == "length" and len(nodes) == 1:
        return nodes[0]  # type: ignore[no-any-return]
    return nodes


# --- parser ---------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, why: str = "") -> PathSyntaxError:
        return PathSyntaxError(f"Invalid JSONPath '{self.text}'" + (f": {why}" if why else ""))

    def parse(self) -> Path:
        t = self.text
        if not t.startswith("$"):
            raise self.fail("must start with '$'")
        variable = None
        if t.startswith("$$"):
            root, self.pos = ROOT_CONTEXT, 2
        else:
            m = _IDENT_START.match(t, 1)
            if m:
                root, variable, self.pos = ROOT_VARIABLE, m.group(0), m.end()
            else:
                root, self.pos = ROOT_INPUT, 1
        steps: list[Step] = []
        while self.pos < len(t):
            steps.append(self.step())
        return Path(t, root, variable, tuple(steps))

    def step(self) -> Step:
        t = self.text
        c = t[self.pos]
        if t.startswith("..", self.pos):
            self.pos += 2
            if self.pos < len(t) and t[self.pos] == "[":
                return ("deep", self.bracket())
            return ("deep", self.dotted())
        if c == ".":
            self.pos += 1
            return self.dotted()
        if c == "[":
            return self.bracket()
        raise self.fail(f"unexpected character {c!r} at {self.pos}")

    def dotted(self) -> Step:
        t = self.text
        if self.pos < len(t) and t[self.pos] == "*":
            self.pos += 1
            return ("wild",)
        if t.startswith("length()", self.pos) and self.pos + 8 == len(t):
            self.pos += 8
            return ("length",)
        m = _NAME_CHARS.match(t, self.pos)
        if not m:
            raise self.fail("expected a property name")
        self.pos = m.end()
        return ("key", m.group(0))

    def bracket(self) -> Step:
        t = self.text
        end = _find_close(t, self.pos)
        if end < 0:
            raise self.fail("unclosed '['")
        inner = t[self.pos + 1 : end].strip()
        self.pos = end + 1
        if inner == "*":
            return ("wild",)
        if inner.startswith("?"):
            return ("filter", _compile_filter(inner[1:].strip(), self))
        if inner[:1] in ("'", '"'):
            names = _split_quoted(inner)
            if names is None:
                raise self.fail("bad quoted name")
            return ("key", names[0]) if len(names) == 1 else ("keys", tuple(names))
        if ":" in inner:
            parts = inner.split(":")
            if len(parts) > 3:
                raise self.fail("bad slice")
            try:
                nums = [int(p) if p.strip() else None for p in parts]
            except ValueError:
                raise self.fail("bad slice") from None
            while len(nums) < 3:
                nums.append(None)
            if nums[2] == 0:
                raise self.fail("slice step cannot be zero")
            return ("slice", nums[0], nums[1], nums[2])
        try:
            idx = [int(p) for p in inner.split(",")]
        except ValueError:
            raise self.fail(f"bad subscript [{inner}]") from None
        return ("index", idx[0]) if len(idx) == 1 else ("indices", tuple(idx))


def _find_close(t: str, start: int) -> int:
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
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _split_quoted(inner: str) -> list[str] | None:
    names: list[str] = []
    i = 0
    while i < len(inner):
        q = inner[i]
        if q not in ("'", '"'):
            return None
        j = i + 1
        buf = []
        while j < len(inner) and inner[j] != q:
            if inner[j] == "\\" and j + 1 < len(inner) and inner[j + 1] in (q, "\\"):
                j += 1
            buf.append(inner[j])
            j += 1
        if j >= len(inner):
            return None
        names.append("".join(buf))
        i = j + 1
        while i < len(inner) and inner[i] in " ,":
            i += 1
    return names or None


# --- filters: [?(@.a > 1 && @.b == 'x')] ------------------------------------------------------

_FILTER_TOKEN = re.compile(
    r"\s*(?:(?P<op>==|!=|<=|>=|<|>|=~|&&|\|\|)|(?P<lp>\()|(?P<rp>\))|(?P<not>!)"
    r"|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"|(?P<kw>true|false|null)\b|(?P<path>@[^\s=!<>&|()]*))"
)


def _compile_filter(expr: str, parser: _Parser) -> Callable[[Any], bool]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    expr = expr.strip()
    while pos < len(expr):
        m = _FILTER_TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            if expr[pos:].strip() == "":
                break
            raise parser.fail("bad filter expression")
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    it = _FilterParser(tokens, parser)
    fn = it.expr()
    if it.i != len(tokens):
        raise parser.fail("bad filter expression")
    return lambda node: bool(fn(node))


_MISSING = object()


class _FilterParser:
    def __init__(self, tokens: list[tuple[str, str]], parser: _Parser) -> None:
        self.tokens = tokens
        self.i = 0
        self.parser = parser

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("", "")

    def expr(self) -> Callable[[Any], Any]:
        left = self.conj()
        while self.peek() == ("op", "||"):
            self.i += 1
            right = self.conj()
            left = (lambda a, b: lambda n: a(n) or b(n))(left, right)
        return left

    def conj(self) -> Callable[[Any], Any]:
        left = self.comparison()
        while self.peek() == ("op", "&&"):
            self.i += 1
            right = self.comparison()
            left = (lambda a, b: lambda n: a(n) and b(n))(left, right)
        return left

    def comparison(self) -> Callable[[Any], Any]:
        kind, _ = self.peek()
        if kind == "not":
            self.i += 1
            inner = self.comparison()
            return lambda n: not inner(n)
        if kind == "lp":
            self.i += 1
            inner = self.expr()
            if self.peek()[0] != "rp":
                raise self.parser.fail("unbalanced parentheses in filter")
            self.i += 1
            return inner
        left = self.operand()
        kind, op = self.peek()
        if kind != "op" or op in ("&&", "||"):
            return lambda n: (v := left(n)) is not _MISSING and v is not None and v is not False
        self.i += 1
        right = self.operand()
        return lambda n: _compare(op, left(n), right(n))

    def operand(self) -> Callable[[Any], Any]:
        kind, text = self.peek()
        self.i += 1
        if kind == "path":
            sub = _Parser("$" + text[1:]).parse()

            def get(n: Any) -> Any:
                try:
                    return sub.get(n)
                except PathMissing:
                    return _MISSING

            return get
        if kind == "str":
            value: Any = re.sub(r"\\(.)", r"\1", text[1:-1])
        elif kind == "num":
            value = float(text) if any(c in text for c in ".eE") else int(text)
        elif kind == "kw":
            value = {"true": True, "false": False, "null": None}[text]
        else:
            raise self.parser.fail("bad filter operand")
        return lambda n: value


def _compare(op: str, a: Any, b: Any) -> bool:
    if a is _MISSING or b is _MISSING:
        return op == "!=" and (a is _MISSING) != (b is _MISSING)
    if op == "==":
        return (type(a) is type(b) and a == b) or (_both_num(a, b) and a == b)
    if op == "!=":
        return not ((type(a) is type(b) and a == b) or (_both_num(a, b) and a == b))
    if op == "=~":
        if not (isinstance(a, str) and isinstance(b, str)):
            return False
        try:
            return re.search(b.strip("/"), a) is not None
        except re.error:
            return False
    if _both_num(a, b) or (isinstance(a, str) and isinstance(b, str)):
        if op == "<":
            return bool(a < b)
        if op == "<=":
            return bool(a <= b)
        if op == ">":
            return bool(a > b)
        if op == ">=":
            return bool(a >= b)
    return False


def _both_num(a: Any, b: Any) -> bool:
    return (
        isinstance(a, (int, float))
        and isinstance(b, (int, float))
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    )


# --- public constructors ----------------------------------------------------------------------

_cache: dict[str, Path] = {}


def compile_path(text: str) -> Path:
    """Compile any JSONPath (``$``, ``$$`` or ``$var`` root). Raises :class:`PathSyntaxError`."""
    path = _cache.get(text)
    if path is None:
        if not isinstance(text, str) or not text:
            raise PathSyntaxError(f"Invalid JSONPath {text!r}")
        try:
            path = _Parser(text).parse()
        except PathSyntaxError:
            raise
        except (ValueError, RecursionError) as exc:  # absurd literals or nesting
            raise PathSyntaxError(f"Invalid JSONPath '{text[:100]}': {type(exc).__name__}") from None
        if len(_cache) < 10_000:
            _cache[text] = path
    return path


def compile_reference_path(text: str) -> Path:
    """Compile a Reference Path: a single node, no wildcard, filter, slice, union or deep scan."""
    path = compile_path(text)
    if not path.definite:
        raise PathSyntaxError(f"Invalid Reference Path '{text}': must identify a single node")
    return path


def set_reference(path: Path, target: Any, value: Any) -> Any:
    """Return ``target`` with ``value`` placed at the Reference ``path`` (copy on write).

    Missing intermediate objects are created; a non-object on the way raises
    :class:`ResultPathMismatch`. ``$`` replaces the whole document.
    """
    steps = path.steps
    if not steps:
        return value
    return _set(steps, 0, target, value)


def _set(steps: tuple[Step, ...], i: int, node: Any, value: Any) -> Any:
    step = steps[i]
    last = i == len(steps) - 1
    if step[0] == "key":
        if not isinstance(node, dict):
            raise ResultPathMismatch(path_prefix_text(steps, i))
        copy = dict(node)
        copy[step[1]] = value if last else _set(steps, i + 1, node.get(step[1], {}), value)
        return copy
    if not isinstance(node, list):
        raise ResultPathMismatch(path_prefix_text(steps, i))
    n = len(node)
    j = step[1] + n if step[1] < 0 else step[1]
    if not 0 <= j < n:
        raise ResultPathMismatch(path_prefix_text(steps, i))
    lst = list(node)
    lst[j] = value if last else _set(steps, i + 1, node[j], value)
    return lst


def path_prefix_text(steps: tuple[Step, ...], upto: int) -> str:
    return jayway_path(steps, upto)
