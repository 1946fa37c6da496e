"""JSONPath as Step Functions evaluates it (Jayway JsonPath), compiled once per path.

A path starts at one of three roots: ``$`` (the state's data), ``$$`` (the context object)
or ``$name`` (a workflow variable). Definite paths (single names and single indices, and a
union of names at the end) yield one value or raise :class:`PathMissing`; indefinite paths
(wildcards, index lists, slices, filters, deep scan) yield a list of every match, ``[]`` when
nothing matches. The grammar is in ``jsonpath_syntax``, filter semantics in ``jsonpath_filter``;
docs/jsonpath.md describes both.

Two kinds of path, as AWS distinguishes them:
- :func:`compile_path`: a Path (InputPath, OutputPath, Parameters, ResultSelector, Choice...).
- :func:`compile_reference_path`: a Reference Path (ResultPath, ItemsPath, SecondsPath, ...):
  a single node, named or indexed; no wildcard, slice, union, filter, scan or function.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .jsonpath_ast import (
    ROOT_CONTEXT,
    ROOT_INPUT,
    ROOT_VARIABLE,
    Filter,
    Function,
    Index,
    Key,
    ParsedPath,
    PathSyntaxError,
    Slice,
    Step,
    Wildcard,
)
from .jsonpath_filter import UNDEFINED, FilterPredicate, compile_filter
from .jsonpath_syntax import parse_path

__all__ = [
    "ROOT_CONTEXT",
    "ROOT_INPUT",
    "ROOT_VARIABLE",
    "Path",
    "PathMissing",
    "PathSyntaxError",
    "ResultPathMismatch",
    "compile_path",
    "compile_reference_path",
    "jayway_path",
    "set_reference",
]

_PROVIDER = "com.jayway.jsonpath.spi.json.JsonSmartJsonProvider"


class PathMissing(Exception):
    """A definite path matched nothing. ``detail`` is Jayway's wording of the miss."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ResultPathMismatch(Exception):
    """A Reference Path cannot be applied to the target (a non-object on the way)."""


def jayway_path(steps: tuple[Step, ...], upto: int) -> str:
    """The first ``upto`` steps as Jayway prints a path: ``$['a'][0]``."""
    return "$" + "".join(step.fragment() for step in steps[:upto])


def _is_definite(step: Step, leaf: bool) -> bool:
    if isinstance(step, Key):
        return len(step.names) == 1 or leaf
    if isinstance(step, Index):
        return len(step.indices) == 1
    return isinstance(step, Function)


class Path:
    """A compiled JSONPath. Immutable; evaluate with :meth:`get`."""

    __slots__ = ("_filters", "definite", "get", "root", "steps", "text", "variable")

    def __init__(self, parsed: ParsedPath) -> None:
        self.text = parsed.text
        self.root = parsed.root
        self.variable = parsed.variable
        self.steps = parsed.steps
        last = len(self.steps) - 1
        self.definite = all(_is_definite(s, i == last) for i, s in enumerate(self.steps))
        self._filters: dict[int, FilterPredicate] = {
            i: compile_filter(s.expr, _read_sub_path)
            for i, s in enumerate(self.steps)
            if isinstance(s, Filter)
        }
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
        singles = [_single(s) for s in steps]
        if all(singles):
            plan = tuple(s for s in singles if s is not None)
            if len(plan) == 1 and plan[0][1]:
                name = plan[0][0]

                def get_one(doc: Any) -> Any:  # `$.name`, the most common path of all
                    if type(doc) is dict and name in doc:
                        return doc[name]
                    return _simple(steps, plan, doc)

                return get_one
            return lambda doc: _simple(steps, plan, doc)
        if self.definite:
            return self._definite
        return self._indefinite

    def _indefinite(self, doc: Any) -> list[Any]:
        # AWS answers an indefinite path whose definite beginning is missing with [] (recorded:
        # `$.item.items[*]` on {} selects []), where Jayway itself would raise.
        try:
            return self.evaluate(doc, doc)
        except PathMissing:
            return []

    def _definite(self, doc: Any) -> Any:
        found = self.evaluate(doc, doc)
        if not found:
            raise PathMissing(f"No results for path: {jayway_path(self.steps, len(self.steps))}")
        return found[0]

    def evaluate(self, doc: Any, root: Any, *, require: bool = False) -> list[Any]:
        """Every match of the path in ``doc`` (``root`` is what ``$`` means inside filters)."""
        return _Walk(self, root, require).run(doc)


def _single(step: Step) -> tuple[Any, bool] | None:
    """``(name, True)`` for one name, ``(index, False)`` for one index, else None."""
    if isinstance(step, Key) and len(step.names) == 1:
        return step.names[0], True
    if isinstance(step, Index) and len(step.indices) == 1:
        return step.indices[0], False
    return None


def _identity(doc: Any) -> Any:
    return doc


def _simple(steps: tuple[Step, ...], plan: tuple[tuple[Any, bool], ...], doc: Any) -> Any:
    """The common case: names and single indices only, no allocation on the way."""
    cur = doc
    last = len(plan) - 1
    for i, (sel, is_key) in enumerate(plan):
        if is_key:
            if type(cur) is dict:
                if sel in cur:
                    cur = cur[sel]
                    continue
                if i == last:
                    break
                raise PathMissing(f"Missing property in path {jayway_path(steps, i + 1)}")
            raise PathMissing(_not_an_object(steps, i, cur))
        if type(cur) is list:
            j = sel + len(cur) if sel < 0 else sel
            if 0 <= j < len(cur):
                cur = cur[j]
                continue
            break
        raise PathMissing(_not_an_array(steps, i, cur))
    else:
        return cur
    raise PathMissing(f"No results for path: {jayway_path(steps, len(steps))}")


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


def _java_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def _not_an_object(steps: tuple[Step, ...], i: int, node: Any) -> str:
    return (
        f"Expected to find an object with property {steps[i].fragment()} in path {jayway_path(steps, i)} "
        f"but found '{_java_type(node)}'. This is not a json object according to the JsonProvider: "
        f"'{_PROVIDER}'."
    )


def _not_an_array(steps: tuple[Step, ...], i: int, node: Any) -> str:
    if node is None:
        return f"The path {jayway_path(steps, i)} is null"
    rest = "".join(s.fragment() for s in steps[i:])
    return f"Filter: {rest} can only be applied to arrays. Current context is: {_java_text(node)}"


class _Walk:
    """One evaluation, in Jayway's order: depth first, document order, a scan visiting a node
    before its children. Iterative, so neither long paths nor deep documents recurse."""

    __slots__ = ("last", "out", "path", "require", "root", "stack", "steps")

    def __init__(self, path: Path, root: Any, require: bool) -> None:
        self.path = path
        self.steps = path.steps
        self.last = len(path.steps) - 1
        self.root = root
        self.require = require
        self.out: list[Any] = []
        # (step index, node, every step before it definite, scan index or -1)
        self.stack: list[tuple[int, Any, bool, int]] = []

    def run(self, doc: Any) -> list[Any]:
        self.stack.append((0, doc, True, -1))
        while self.stack:
            i, node, upstream, scan = self.stack.pop()
            if scan >= 0:
                self.scan_visit(scan, node)
            elif i > self.last:
                self.out.append(node)
            else:
                self.step(i, node, upstream)
        return self.out

    def push_all(self, i: int, nodes: list[Any], upstream: bool) -> None:
        for node in reversed(nodes):
            self.stack.append((i, node, upstream, -1))

    def step(self, i: int, node: Any, upstream: bool) -> None:
        step = self.steps[i]
        leaf = i == self.last
        nxt = upstream and _is_definite(step, leaf)
        if isinstance(step, (Key, Function)):
            names = step.names if isinstance(step, Key) else (step.text,)
            if type(node) is not dict:
                if upstream:
                    raise PathMissing(_not_an_object(self.steps, i, node))
                return
            if len(names) > 1 and leaf:
                self.out.append({n: node[n] for n in names if n in node})
                return
            found: list[Any] = []
            for name in names:
                if name in node:
                    found.append(node[name])
                elif self.require or (not leaf and upstream and len(names) == 1):
                    where = jayway_path(self.steps, i + 1)
                    raise PathMissing(
                        f"No results for path: {where}" if leaf else f"Missing property in path {where}"
                    )
            self.push_all(i + 1, found, nxt)
        elif isinstance(step, (Index, Slice)):
            if type(node) is not list:
                if upstream:
                    raise PathMissing(_not_an_array(self.steps, i, node))
                return
            self.push_all(i + 1, _select(step, node), nxt)
        elif isinstance(step, Wildcard):
            if type(node) is dict:
                self.push_all(i + 1, list(node.values()), False)
            elif type(node) is list:
                self.push_all(i + 1, node, False)
        elif isinstance(step, Filter):
            accept = self.path._filters[i]
            if type(node) is dict:
                if accept(node, self.root):
                    self.stack.append((i + 1, node, False, -1))
            elif type(node) is list:
                self.push_all(i + 1, [e for e in node if accept(e, self.root)], False)
            elif upstream:
                raise PathMissing(
                    f"Filter: {''.join(s.fragment() for s in self.steps[i:])} can not be applied to "
                    f"primitives. Current context is: {_java_text(node)}"
                )
        else:  # Scan: the next step, at this node and every node below it
            self.stack.append((i, node, False, i))

    def scan_visit(self, i: int, node: Any) -> None:
        target = self.steps[i + 1]
        matches = self.scan_matches(target, i + 1, node)
        children: list[Any] = []
        if type(node) is dict:
            children = [v for v in node.values() if type(v) in (dict, list)]
        elif type(node) is list:
            children = [v for v in node if type(v) in (dict, list)]
        for child in reversed(children):
            self.stack.append((i, child, False, i))
        if not matches:
            return
        if type(node) is list and i + 1 < self.last:
            # Jayway applies the step after the target to every element of a matching array.
            self.push_all(i + 2, node, False)
        else:
            self.stack.append((i + 1, node, False, -1))

    def scan_matches(self, target: Step, j: int, node: Any) -> bool:
        if isinstance(target, Key):
            if type(node) is not dict:
                return False
            if self.require or not _is_definite(target, j == self.last):
                return True
            return all(n in node for n in target.names)
        if isinstance(target, (Index, Slice)):
            return type(node) is list
        if isinstance(target, Wildcard):
            return True
        if isinstance(target, Filter):
            return self.path._filters[j](node, self.root)
        return False


def _select(step: Index | Slice, array: list[Any]) -> list[Any]:
    n = len(array)
    if isinstance(step, Index):
        out = []
        for index in step.indices:
            j = index + n if index < 0 else index
            if 0 <= j < n:
                out.append(array[j])
        return out
    start, stop = step.start, step.stop
    if n == 0:
        return []
    if stop is None:  # [a:]
        assert start is not None
        return array[max(0, start + n if start < 0 else start) :]
    if start is None:  # [:b]
        return array[: min(n, stop + n if stop < 0 else stop)]
    # [a:b]: Jayway walks a, a+1, ... up to min(b, length), reading each negative position
    # from the end: [-2:2] of [a, b, c] is [b, c, a, b]; a negative b selects nothing.
    out = []
    for index in range(start, min(n, stop)):
        j = index + n if index < 0 else index
        if 0 <= j < n:
            out.append(array[j])
    return out


def _read_sub_path(parsed: ParsedPath, element: Any, document: Any, require: bool) -> Any:
    """A path inside a filter: ``@...`` on the element, ``$...`` on the document."""
    path = _compiled(parsed)
    doc = element if parsed.current else document
    try:
        found = path.evaluate(doc, document, require=require)
    except PathMissing:
        return UNDEFINED
    if path.definite:
        return found[0] if found else UNDEFINED
    return found


# --- public constructors ----------------------------------------------------------------------

_cache: dict[str, Path] = {}


def _compiled(parsed: ParsedPath) -> Path:
    path = _cache.get(parsed.text)
    if path is None:
        path = Path(parsed)
        if len(_cache) < 10_000:
            _cache[parsed.text] = path
    return path


def compile_path(text: str) -> Path:
    """Compile any JSONPath (``$``, ``$$`` or ``$var`` root). Raises :class:`PathSyntaxError`."""
    path = _cache.get(text) if isinstance(text, str) else None
    if path is not None:
        return path
    try:
        parsed = parse_path(text)
        if parsed.current:
            raise PathSyntaxError(f"Invalid JSONPath '{text}': '@' is only meaningful inside a filter")
        return _compiled(parsed)
    except PathSyntaxError:
        raise
    except (ValueError, RecursionError) as exc:  # absurd literals or nesting
        raise PathSyntaxError(f"Invalid JSONPath '{str(text)[:100]}': {type(exc).__name__}") from None


def compile_reference_path(text: str) -> Path:
    """A Reference Path: it identifies a single node by names and single indices (ASL
    specification; AWS docs: no ``@ .. , : ? *``, no functions such as ``length()``)."""
    path = compile_path(text)
    for step in path.steps:
        if _single(step) is None:
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
    if isinstance(step, Key):
        if not isinstance(node, dict):
            raise ResultPathMismatch(jayway_path(steps, i))
        name = step.names[0]
        copy = dict(node)
        copy[name] = value if last else _set(steps, i + 1, node.get(name, {}), value)
        return copy
    assert isinstance(step, Index)
    if not isinstance(node, list):
        raise ResultPathMismatch(jayway_path(steps, i))
    n = len(node)
    j = step.indices[0] + n if step.indices[0] < 0 else step.indices[0]
    if not 0 <= j < n:
        raise ResultPathMismatch(jayway_path(steps, i))
    lst = list(node)
    lst[j] = value if last else _set(steps, i + 1, node[j], value)
    return lst
