"""Choice rules (JSONPath mode) compiled into predicates ``(data, frame) -> bool``."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .context import Frame
from .data import resolve
from .failure import RuntimeFault
from .jsonpath import Path, PathMissing, compile_path

__all__ = ["COMPARATORS", "Predicate", "compile_rule", "parse_timestamp"]

Predicate = Callable[[Any, Frame], bool]

_TS = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def parse_timestamp(value: Any) -> float | None:
    """RFC 3339 (uppercase ``T``, ``Z`` or numeric offset) to epoch seconds, else ``None``."""
    if not isinstance(value, str):
        return None
    m = _TS.match(value)
    if not m:
        return None
    frac = m.group(7) or ""
    text = value[: m.start(7)] if frac else value[: m.start(8)]
    zone = m.group(8)
    try:
        dt = datetime.fromisoformat(text + ("+00:00" if zone == "Z" else zone))
    except ValueError:
        return None
    return dt.timestamp() + (float("0" + frac) if frac else 0.0)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _str_cmp(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    return lambda a, b: isinstance(a, str) and isinstance(b, str) and op(a, b)


def _num_cmp(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    return lambda a, b: _is_num(a) and _is_num(b) and op(a, b)


def _ts_cmp(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def cmp(a: Any, b: Any) -> bool:
        ta, tb = parse_timestamp(a), parse_timestamp(b)
        return ta is not None and tb is not None and op(ta, tb)

    return cmp


def _eq(a: Any, b: Any) -> bool:
    return bool(a == b)


def _lt(a: Any, b: Any) -> bool:
    return bool(a < b)


def _le(a: Any, b: Any) -> bool:
    return bool(a <= b)


def _gt(a: Any, b: Any) -> bool:
    return bool(a > b)


def _ge(a: Any, b: Any) -> bool:
    return bool(a >= b)


COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "StringEquals": _str_cmp(_eq),
    "StringLessThan": _str_cmp(_lt),
    "StringGreaterThan": _str_cmp(_gt),
    "StringLessThanEquals": _str_cmp(_le),
    "StringGreaterThanEquals": _str_cmp(_ge),
    "NumericEquals": _num_cmp(_eq),
    "NumericLessThan": _num_cmp(_lt),
    "NumericGreaterThan": _num_cmp(_gt),
    "NumericLessThanEquals": _num_cmp(_le),
    "NumericGreaterThanEquals": _num_cmp(_ge),
    "BooleanEquals": lambda a, b: isinstance(a, bool) and isinstance(b, bool) and a == b,
    "TimestampEquals": _ts_cmp(_eq),
    "TimestampLessThan": _ts_cmp(_lt),
    "TimestampGreaterThan": _ts_cmp(_gt),
    "TimestampLessThanEquals": _ts_cmp(_le),
    "TimestampGreaterThanEquals": _ts_cmp(_ge),
}

TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "IsNull": lambda v: v is None,
    "IsNumeric": _is_num,
    "IsString": lambda v: isinstance(v, str),
    "IsBoolean": lambda v: isinstance(v, bool),
    "IsTimestamp": lambda v: parse_timestamp(v) is not None,
}


class Glob:
    """A ``StringMatches`` pattern: ``*`` matches any run of characters (none included), ``\\*`` is
    a literal ``*`` and ``\\\\`` a literal backslash; nothing else is special.

    Matching takes linear time whatever the pattern (no backtracking): the literal pieces between
    the stars must appear in order, the first at the start and the last at the end, and taking
    each middle piece at its leftmost place is always right for ``*``-only patterns.
    """

    __slots__ = ("pieces",)

    def __init__(self, pattern: str) -> None:
        pieces: list[str] = []
        piece: list[str] = []
        i = 0
        while i < len(pattern):
            c = pattern[i]
            if c == "\\" and i + 1 < len(pattern):
                piece.append(pattern[i + 1])
                i += 2
                continue
            if c == "*":
                pieces.append("".join(piece))
                piece = []
            else:
                piece.append(c)
            i += 1
        pieces.append("".join(piece))
        self.pieces = tuple(pieces)  # literal pieces; between two of them, a star

    def matches(self, value: str) -> bool:
        pieces = self.pieces
        first = pieces[0]
        if len(pieces) == 1:
            return value == first
        last = pieces[-1]
        if len(first) + len(last) > len(value) or not value.startswith(first) or not value.endswith(last):
            return False
        position, end = len(first), len(value) - len(last)
        for piece in pieces[1:-1]:
            found = value.find(piece, position, end)
            if found < 0:
                return False
            position = found + len(piece)
        return True


def _invalid(path: Path) -> RuntimeFault:
    return RuntimeFault(
        f"Invalid path '{path.text}': The choice state's condition path references an invalid value."
    )


def _getter(path: Path) -> Callable[[Any, Frame], Any]:
    def get(data: Any, frame: Frame) -> Any:
        try:
            return resolve(path, data, frame)
        except PathMissing:
            raise _invalid(path) from None

    return get


def _is_present(path: Path, want: bool) -> Predicate:
    def is_present(d: Any, f: Frame) -> bool:
        try:
            resolve(path, d, f)
        except PathMissing:
            return not want
        return want

    return is_present


def compile_rule(rule: dict[str, Any]) -> Predicate:
    """Compile one (possibly nested) JSONPath Choice rule."""
    if "And" in rule:
        subs = [compile_rule(r) for r in rule["And"]]
        return lambda d, f: all(s(d, f) for s in subs)
    if "Or" in rule:
        subs = [compile_rule(r) for r in rule["Or"]]
        return lambda d, f: any(s(d, f) for s in subs)
    if "Not" in rule:
        sub = compile_rule(rule["Not"])
        return lambda d, f: not sub(d, f)
    path = compile_path(rule["Variable"])
    get = _getter(path)
    for op, operand in rule.items():
        if op in ("Variable", "Next", "Comment", "Assign", "Output"):
            continue
        if op == "IsPresent":
            return _is_present(path, bool(operand))
        if op in TYPE_TESTS:
            test = TYPE_TESTS[op]
            want_t = bool(operand)
            return lambda d, f: test(get(d, f)) == want_t
        if op == "StringMatches":
            glob = Glob(operand)
            return lambda d, f: isinstance(v := get(d, f), str) and glob.matches(v)
        if op.endswith("Path") and op[:-4] in COMPARATORS:
            cmp = COMPARATORS[op[:-4]]
            other = _getter(compile_path(operand))
            return lambda d, f: cmp(get(d, f), other(d, f))
        if op in COMPARATORS:
            cmp2 = COMPARATORS[op]
            return lambda d, f: cmp2(get(d, f), operand)
    raise ValueError(f"Choice rule without a comparison operator: {rule!r}")
