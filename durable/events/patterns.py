"""EventBridge event patterns: compile once, match many events.

A pattern has the shape of the events it matches: an object whose fields are either nested
objects or arrays of match values. Fields are ANDed, the values of one array are ORed, ``$or``
ORs whole sub-patterns. Leaves match exact values (strings, numbers compared as numbers, null,
booleans) or a one-key match expression: ``prefix``, ``suffix`` (each also with
``{"equals-ignore-case": ...}``), ``equals-ignore-case``, ``wildcard``, ``anything-but`` (a value,
a list, or ``prefix``/``suffix``/``equals-ignore-case``/``wildcard``), ``numeric``, ``exists``
and ``cidr``.

Hand-written, not a library: EventBridge's matcher is AWS's Java "Event Ruler", and no Python
package on PyPI reproduces its semantics (how arrays are "crushed", that ``exists`` only sees
leaves, that ``300`` matches ``3.0e2``, its validation messages). The semantics below follow
AWS's user guide ("Amazon EventBridge event patterns", "Content filtering in event patterns",
"Matching null values and empty strings", "Arrays in event patterns") and Ruler's README; the
messages of :class:`~durable.errors.InvalidEventPattern` are Ruler's, which EventBridge returns
after "Event pattern is not valid. Reason: ".
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from durable.errors import InvalidEventPattern, ValidationError

__all__ = ["EventPattern", "compile_pattern", "test_event_pattern"]

_PREFIX = "Event pattern is not valid. Reason: "
# Ruler compares numbers as fixed-point values in this range (six digits after the point)
_NUMERIC_LIMIT = 5.0e9
# operators that may not be field names inside "$or" (Ruler's reserved names)
_OPERATORS = frozenset(
    {"prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists", "cidr"}
)
# TestEventPattern: "the following fields are mandatory" in the event
_MANDATORY_EVENT_FIELDS = ("id", "account", "source", "time", "region", "resources", "detail-type")
_MISSING = object()

Predicate = Callable[[Any], bool]


def _fail(reason: str) -> InvalidEventPattern:
    return InvalidEventPattern(_PREFIX + reason)


@dataclass(frozen=True, slots=True)
class _Leaf:
    """The match values of one field: ORed predicates over the field's leaf values."""

    path: tuple[str, ...]
    predicates: tuple[Predicate, ...]
    exists: bool | None  # an {"exists": ...} among the values


@dataclass(frozen=True, slots=True)
class _Node:
    fields: tuple[tuple[str, _Leaf | _Node], ...]
    ors: tuple[tuple[_Node, ...], ...]


class EventPattern:
    """A compiled event pattern. ``matches(event)`` takes the event as a dict (or JSON text)."""

    __slots__ = ("_root", "source")

    def __init__(self, root: _Node | None, source: Mapping[str, Any]) -> None:
        self._root = root
        self.source = source

    def matches(self, event: Mapping[str, Any] | str | bytes) -> bool:
        if isinstance(event, (str, bytes)):
            event = json.loads(event)
        if self._root is None:
            return True  # the empty pattern matches every event
        return _match_node(self._root, event, event)

    def __repr__(self) -> str:
        return f"EventPattern({json.dumps(self.source, separators=(',', ':'))})"


def compile_pattern(pattern: Mapping[str, Any] | str | bytes) -> EventPattern:
    """Validate ``pattern`` as EventBridge does and compile it; raises
    :class:`~durable.errors.InvalidEventPattern` with AWS's reason."""
    if isinstance(pattern, (str, bytes)):
        try:
            pattern = json.loads(pattern)
        except ValueError:
            raise _fail("Filter is not valid JSON") from None
    if not isinstance(pattern, Mapping):
        raise _fail("Filter is not an object")
    if not pattern:
        return EventPattern(None, pattern)
    return EventPattern(_compile_node(pattern, (), in_or=False), pattern)


def test_event_pattern(pattern: Mapping[str, Any] | str | bytes, event: Mapping[str, Any] | str) -> bool:
    """EventBridge's ``TestEventPattern``: does ``pattern`` match ``event``? As in AWS, the event
    must be a JSON object carrying the envelope's mandatory fields."""
    compiled = compile_pattern(pattern)
    if isinstance(event, str):
        try:
            event = json.loads(event)
        except ValueError:
            raise ValidationError("Parameter Event is not valid.") from None
    if not isinstance(event, Mapping) or any(f not in event for f in _MANDATORY_EVENT_FIELDS):
        raise ValidationError("Parameter Event is not valid.")
    return compiled.matches(event)


# not a test, whatever its name: pytest must not collect it where a test module imports it
test_event_pattern.__test__ = False  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------- compiling


def _compile_node(obj: Mapping[str, Any], path: tuple[str, ...], *, in_or: bool) -> _Node:
    if not obj:
        raise _fail("Empty objects are not allowed")
    fields: list[tuple[str, _Leaf | _Node]] = []
    ors: list[tuple[_Node, ...]] = []
    for key, value in obj.items():
        if key == "$or":
            ors.append(_compile_or(value, path))
            continue
        if in_or and key in _OPERATORS:
            raise _fail(f"{key} is Ruler reserved fieldName which cannot be used inside $or.")
        if isinstance(value, Mapping):
            fields.append((key, _compile_node(value, (*path, key), in_or=in_or)))
        elif isinstance(value, list):
            fields.append((key, _compile_leaf(value, (*path, key))))
        else:
            raise _fail(f'"{key}" must be an object or an array')
    return _Node(tuple(fields), tuple(ors))


def _compile_or(value: Any, path: tuple[str, ...]) -> tuple[_Node, ...]:
    if not isinstance(value, list):
        raise _fail("It must be an Array followed with $or.")
    if not all(isinstance(v, Mapping) for v in value):
        raise _fail("Only JSON object is allowed in array of $or relationship.")
    if len(value) < 2:
        raise _fail("There must have at least 2 Objects in $or relationship.")
    return tuple(_compile_node(v, path, in_or=True) for v in value)


def _compile_leaf(values: list[Any], path: tuple[str, ...]) -> _Leaf:
    if not values:
        raise _fail("Empty arrays are not allowed")
    predicates: list[Predicate] = []
    exists: bool | None = None
    for value in values:
        if isinstance(value, Mapping):
            if len(value) == 0:
                raise _fail("Match expression name not found")
            if len(value) > 1:
                raise _fail("Only one key allowed in match expression")
            ((op, arg),) = value.items()
            if op == "exists":
                if not isinstance(arg, bool):
                    raise _fail("exists match pattern must be either true or false.")
                exists = arg if exists is None else (exists or arg)
                continue
            predicates.append(_compile_expression(op, arg))
        elif isinstance(value, (str, bool)) or value is None:
            predicates.append(_exact(value))
        elif isinstance(value, (int, float)):
            predicates.append(_number_equals(float(value)))
        else:
            raise _fail("Match value must be String, number, true, false, or null")
    return _Leaf(path, tuple(predicates), exists)


def _compile_expression(op: str, arg: Any) -> Predicate:
    if op in ("prefix", "suffix"):
        if isinstance(arg, Mapping) and set(arg) == {"equals-ignore-case"}:
            text = arg["equals-ignore-case"]
            if not isinstance(text, str):
                raise _fail(f"{op} match pattern must be a string")
            return _affix(op, text, ignore_case=True)
        if not isinstance(arg, str):
            raise _fail(f"{op} match pattern must be a string")
        return _affix(op, arg, ignore_case=False)
    if op == "equals-ignore-case":
        if not isinstance(arg, str):
            raise _fail("equals-ignore-case match pattern must be a string")
        folded = arg.lower()
        return lambda v: isinstance(v, str) and v.lower() == folded
    if op == "wildcard":
        if not isinstance(arg, str):
            raise _fail("wildcard match pattern must be a string")
        regex = _wildcard_regex(arg)
        return lambda v: isinstance(v, str) and regex.fullmatch(v) is not None
    if op == "anything-but":
        return _compile_anything_but(arg)
    if op == "numeric":
        return _compile_numeric(arg)
    if op == "cidr":
        return _compile_cidr(arg)
    raise _fail(f"Unrecognized match type {op}")


def _exact(expected: str | bool | None) -> Predicate:
    # booleans and null match only themselves: `true` never matches 1 (Python's True == 1)
    return lambda v: v is expected if not isinstance(expected, str) else v == expected


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _number_equals(expected: float) -> Predicate:
    # numbers compare as numbers: 300, 300.0 and 3.0e2 are the same value
    return lambda v: _is_number(v) and math.isclose(float(v), expected, rel_tol=0.0, abs_tol=5e-7)


def _affix(op: str, text: str, *, ignore_case: bool) -> Predicate:
    if ignore_case:
        folded = text.lower()
        if op == "prefix":
            return lambda v: isinstance(v, str) and v.lower().startswith(folded)
        return lambda v: isinstance(v, str) and v.lower().endswith(folded)
    if op == "prefix":
        return lambda v: isinstance(v, str) and v.startswith(text)
    return lambda v: isinstance(v, str) and v.endswith(text)


def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    """``*`` matches any run of characters (none included); ``\\*`` is a literal star and
    ``\\\\`` a literal backslash; any other escape, and two stars in a row, are refused."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            nxt = pattern[i + 1] if i + 1 < len(pattern) else ""
            if nxt not in ("*", "\\"):
                raise _fail(f"Invalid escape character at pos {i + 1}")
            out.append(re.escape(nxt))
            i += 2
            continue
        if ch == "*":
            if i + 1 < len(pattern) and pattern[i + 1] == "*":
                raise _fail(f"Consecutive wildcard characters at pos {i + 1}")
            out.append(".*")
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _compile_anything_but(arg: Any) -> Predicate:
    if isinstance(arg, Mapping):
        if len(arg) != 1:
            raise _fail("Only one key allowed in match expression")
        ((op, inner),) = arg.items()
        if op in ("prefix", "suffix"):
            if not isinstance(inner, str):
                raise _fail("prefix/suffix match pattern must be a string")
            if not inner:
                raise _fail("Null prefix/suffix not allowed")
            hit = _affix(op, inner, ignore_case=False)
        elif op in ("equals-ignore-case", "wildcard"):
            texts = [inner] if isinstance(inner, str) else inner
            if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
                if op == "wildcard":
                    raise _fail("wildcard match pattern must be a string")
                raise _fail(
                    "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."
                )
            hits = [_compile_expression(op, t) for t in texts]
            return lambda v: not any(h(v) for h in hits)
        else:
            raise _fail(f"Unsupported anything-but pattern: {op}")
        return lambda v: not hit(v)
    if isinstance(arg, str):
        return lambda v: v != arg or not isinstance(v, str)
    if _is_number(arg):
        equal = _number_equals(float(arg))
        return lambda v: not equal(v)
    if isinstance(arg, list):
        if any(isinstance(v, (bool, Mapping, list)) or v is None for v in arg):
            raise _fail("Inside anything but list, start|null|boolean is not supported.")
        strings = [v for v in arg if isinstance(v, str)]
        numbers = [float(v) for v in arg if _is_number(v)]
        if (strings and numbers) or not (strings or numbers):
            raise _fail(
                "Inside anything but list, either all values are number or string, "
                "mixed type is not supported"
            )
        if strings:
            excluded = frozenset(strings)
            return lambda v: not (isinstance(v, str) and v in excluded)
        equals = [_number_equals(n) for n in numbers]
        return lambda v: not any(eq(v) for eq in equals)
    raise _fail("Value of anything-but must be an array or single string/number value.")


_LOWER = {">": False, ">=": True}  # operator -> bound included
_UPPER = {"<": False, "<=": True}


def _numeric_operand(op: str, value: Any) -> float:
    if not _is_number(value):
        raise _fail(f"Value of {'equals' if op == '=' else op} must be numeric")
    if not -_NUMERIC_LIMIT <= value <= _NUMERIC_LIMIT:
        raise _fail("Value must be between -5.0E9 and 5.0E9, inclusive")
    return float(value)


def _compile_numeric(arg: Any) -> Predicate:
    """``[op, n]`` or ``[">"|">=", low, "<"|"<=", high]``; ``=`` stands alone."""
    if not isinstance(arg, list):
        raise _fail("Value of numeric must be an array.")
    if not arg or not isinstance(arg[0], str):
        raise _fail(f"Invalid member in numeric match: {json.dumps(arg[0]) if arg else ']'}")
    op = arg[0]
    if op not in ("=", "<", "<=", ">", ">="):
        raise _fail(f"Unrecognized numeric range operator: {op}")
    first = _numeric_operand(op, arg[1] if len(arg) > 1 else None)
    if len(arg) == 2:
        return _range(op, first, None, None)
    if op not in _LOWER:
        raise _fail("Too many elements in numeric expression")
    second_op = arg[2]
    if not isinstance(second_op, str):
        raise _fail(f"Bad value in numeric range: {json.dumps(second_op)}")
    if second_op not in _UPPER:
        raise _fail(f"Bad numeric range operator: {second_op}")
    second = _numeric_operand(second_op, arg[3] if len(arg) > 3 else None)
    if len(arg) > 4:
        raise _fail("Too many terms in numeric range expression")
    if second <= first:
        raise _fail("Bottom must be less than top")
    return _range(op, first, second_op, second)


def _range(op: str, first: float, second_op: str | None, second: float | None) -> Predicate:
    def check(v: Any) -> bool:
        if not _is_number(v):
            return False
        x = float(v)
        ok = {
            "=": x == first,
            "<": x < first,
            "<=": x <= first,
            ">": x > first,
            ">=": x >= first,
        }[op]
        if ok and second_op is not None and second is not None:
            ok = x < second if second_op == "<" else x <= second
        return ok

    return check


def _compile_cidr(arg: Any) -> Predicate:
    if not isinstance(arg, str):
        raise _fail("prefix match pattern must be a string")  # (sic: AWS's message for cidr too)
    parts = arg.split("/")
    if len(parts) != 2:
        raise _fail("Malformed CIDR, one '/' required")
    if not parts[1].isdigit():
        raise _fail("Malformed CIDR, mask bits must be an integer")
    try:
        network = ipaddress.ip_network(arg, strict=False)
    except ValueError:
        raise _fail(f"Nonstandard IP address: {parts[0]}") from None

    def check(v: Any) -> bool:
        if not isinstance(v, str):
            return False
        try:
            return ipaddress.ip_address(v) in network
        except ValueError:
            return False

    return check


# ----------------------------------------------------------------------------------- matching


def _elements(value: Any) -> Iterator[Any]:
    """Arrays are "crushed": nested arrays count as their elements."""
    if isinstance(value, list):
        for item in value:
            yield from _elements(item)
    else:
        yield value


def _leaf_values(value: Any) -> list[Any]:
    """The leaf values a field holds: a scalar, or the scalars of an array. Objects are not
    leaves (``exists`` works on leaf nodes only) and an empty array holds none."""
    if value is _MISSING or isinstance(value, Mapping):
        return []
    return [v for v in _elements(value) if not isinstance(v, Mapping)]


def _values_at(node: Any, path: tuple[str, ...]) -> list[Any]:
    if not path:
        return _leaf_values(node)
    out: list[Any] = []
    for element in _elements(node):
        if isinstance(element, Mapping) and path[0] in element:
            out.extend(_values_at(element[path[0]], path[1:]))
    return out


def _match_leaf(leaf: _Leaf, value: Any, root: Any) -> bool:
    values = _leaf_values(value)
    if leaf.exists is True and values:
        return True
    # "exists": false asks about the whole event: no element of any array holds the field
    if leaf.exists is False and not _values_at(root, leaf.path):
        return True
    return any(p(v) for p in leaf.predicates for v in values)


def _match_node(node: _Node, value: Any, root: Any) -> bool:
    # an object inside an array: the sub-pattern must match one element as a whole, so two
    # fields never match across different elements of one array (Ruler's array consistency)
    if isinstance(value, list):
        elements = [e for e in _elements(value) if isinstance(e, Mapping)]
        return any(_match_object(node, e, root) for e in elements) or (
            not elements and _match_object(node, _MISSING, root)
        )
    return _match_object(node, value if isinstance(value, Mapping) else _MISSING, root)


def _match_object(node: _Node, obj: Any, root: Any) -> bool:
    for key, sub in node.fields:
        child = obj.get(key, _MISSING) if isinstance(obj, Mapping) else _MISSING
        if isinstance(sub, _Leaf):
            if not _match_leaf(sub, child, root):
                return False
        elif not _match_node(sub, child, root):
            return False
    return all(any(_match_object(alt, obj, root) for alt in group) for group in node.ors)
