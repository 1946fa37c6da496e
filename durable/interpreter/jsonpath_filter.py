"""What a JSONPath filter ``[?( ... )]`` means: Jayway's operators and comparisons.

Operands are typed as Jayway types them (string, number, boolean, null, JSON container,
pattern, undefined when a path finds nothing), and each operator follows Jayway's evaluator:
``==`` between a string and a number compares texts, ``<`` between strings is Java's UTF-16
order, ``=~`` must match the whole text, ``in``/``nin``/``subsetof``/``anyof``/``noneof``/
``size``/``empty``/``contains`` work on arrays. An operand of the wrong kind for an operator
that Jayway cannot apply rejects the element (Jayway throws inside the filter and the element
is dropped). As AWS documents, ``@`` matches objects only: scalar elements never pass a filter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from .jsonpath_ast import Exists, FilterNode, Literal, Logical, Operand, ParsedPath, Relation, SubPath

__all__ = ["UNDEFINED", "FilterPredicate", "SubPathReader", "compile_filter"]


class _Undefined:
    def __repr__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Final = _Undefined()

# Reads a sub-path of a filter: (path, element, document, require_properties) -> value;
# UNDEFINED when a definite path finds nothing, a list for an indefinite path.
SubPathReader = Callable[[ParsedPath, Any, Any, bool], Any]
FilterPredicate = Callable[[Any, Any], bool]  # (element, document) -> keep?


class _Reject(Exception):
    """Jayway threw while evaluating the predicate: the element is dropped."""


Node = tuple[str, Any]  # (kind, value); kind: str num bool null json pattern undef


def compile_filter(expr: FilterNode, read: SubPathReader) -> FilterPredicate:
    test = _compile(expr, read)

    def accept(element: Any, document: Any) -> bool:
        if type(element) is not dict:
            return False
        try:
            return test(element, document)
        except _Reject:
            return False

    return accept


def _compile(expr: FilterNode, read: SubPathReader) -> Callable[[Any, Any], bool]:
    if isinstance(expr, Logical):
        left = _compile(expr.left, read)
        right = _compile(expr.right, read)
        if expr.op == "&&":
            return lambda e, d: left(e, d) and right(e, d)
        return lambda e, d: left(e, d) or right(e, d)
    if isinstance(expr, Exists):
        path, present = expr.path.path, expr.present

        def exists(e: Any, d: Any) -> bool:
            found = read(path, e, d, True) is not UNDEFINED
            return found is present

        return exists
    assert isinstance(expr, Relation)
    left_of = _operand(expr.left, read)
    right_of = _operand(expr.right, read)
    evaluate = _EVALUATORS[expr.op]
    return lambda e, d: evaluate(left_of(e, d), right_of(e, d))


def _operand(operand: Operand, read: SubPathReader) -> Callable[[Any, Any], Node]:
    if isinstance(operand, Literal):
        node: Node = (operand.kind, operand.value)
        return lambda e, d: node
    assert isinstance(operand, SubPath)
    path = operand.path

    def value(e: Any, d: Any) -> Node:
        found = read(path, e, d, False)
        return ("undef", None) if found is UNDEFINED else node_of(found)

    return value


def node_of(value: Any) -> Node:
    if value is None:
        return ("null", None)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("num", value)
    if isinstance(value, str):
        return ("str", value)
    return ("json", value)


# --- numbers and texts as Java prints them -------------------------------------------------

_NUMBER_TEXT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _decimal(n: Any) -> Decimal:
    return Decimal(n) if isinstance(n, int) else Decimal(repr(n))


def number_text(n: Any) -> str:
    """BigDecimal's text of a JSON number (``5``, ``5.0``, ``1.0E+20``)."""
    if isinstance(n, int):
        return str(n)
    if n == 0 or 1e-3 <= abs(n) < 1e7:
        return repr(float(n))
    mantissa, _, exponent = f"{n:.17g}".partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    exp = int(exponent or "0")
    return f"{mantissa}E{'+' if exp >= 0 else ''}{exp}"


def _as_decimal(node: Node) -> Decimal | None:
    kind, value = node
    if kind == "num":
        return _decimal(value)
    if kind == "str" and _NUMBER_TEXT.fullmatch(value):
        try:
            return Decimal(value)
        except InvalidOperation:
            return None
    return None


def _java_order(a: str, b: str) -> int:
    ea, eb = a.encode("utf-16-be", "surrogatepass"), b.encode("utf-16-be", "surrogatepass")
    return (ea > eb) - (ea < eb)


# --- equality (Jayway's ValueNode.equals, the left operand the receiver) ---------------------


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def equals(left: Node, right: Node) -> bool:
    lk, lv = left
    rk, rv = right
    if lk == "json" and rk == "json":
        return _json_equal(lv, rv)
    if lk == "str":
        if rk == "str":
            return bool(lv == rv)
        return rk == "num" and lv == number_text(rv)
    if lk == "num":
        other = _as_decimal(right) if rk in ("num", "str") else None
        return other is not None and _decimal(lv) == other
    if lk in ("bool", "null", "pattern"):
        return rk == lk and (lk == "null" or lv == rv)
    return False  # undefined equals nothing; a JSON container only another container


def _eq(left: Node, right: Node) -> bool:
    return equals(left, right)


def _ne(left: Node, right: Node) -> bool:
    return not equals(left, right)


def _tseq(left: Node, right: Node) -> bool:
    return left[0] == right[0] and equals(left, right)


def _tsne(left: Node, right: Node) -> bool:
    return not _tseq(left, right)


def _order(left: Node, right: Node) -> int | None:
    lk, lv = left
    rk, rv = right
    if lk == "num" and rk == "num":
        a, b = _decimal(lv), _decimal(rv)
        return (a > b) - (a < b)
    if lk == "str" and rk == "str":
        return _java_order(lv, rv)
    if lk == "str" and rk == "num":
        return _java_order(lv, number_text(rv))
    if lk == "num" and rk == "str":
        return _java_order(number_text(lv), rv)
    return None


def _ordering(test: Callable[[int], bool]) -> Callable[[Node, Node], bool]:
    def evaluate(left: Node, right: Node) -> bool:
        order = _order(left, right)
        return order is not None and test(order)

    return evaluate


# --- regular expressions ---------------------------------------------------------------------


def _regex_input(node: Node) -> str:
    kind, value = node
    if kind == "str":
        return str(value)
    if kind == "num":
        return number_text(value)
    if kind == "bool":
        return "true" if value else "false"
    return ""


def _regex(left: Node, right: Node) -> bool:
    if (left[0] == "pattern") == (right[0] == "pattern"):
        return False
    pattern, subject = (left, right) if left[0] == "pattern" else (right, left)
    compiled: re.Pattern[str] = pattern[1]
    if subject[0] == "json" and isinstance(subject[1], list):
        return any(compiled.fullmatch(_regex_input(node_of(v))) for v in subject[1])
    return compiled.fullmatch(_regex_input(subject)) is not None


# --- operators on arrays ----------------------------------------------------------------------


def _list_of(node: Node) -> list[Node] | None:
    """A JSON array as nodes; None for another JSON value; reject anything else."""
    if node[0] != "json":
        raise _Reject
    if not isinstance(node[1], list):
        return None
    return [node_of(v) for v in node[1]]


def _contains(items: list[Node], node: Node) -> bool:
    return any(equals(node, item) for item in items)


def _in(left: Node, right: Node) -> bool:
    items = _list_of(right)
    return items is not None and _contains(items, left)


def _nin(left: Node, right: Node) -> bool:
    return not _in(left, right)


def _subsetof(left: Node, right: Node) -> bool:
    superset = _list_of(right)
    subset = _list_of(left)
    if superset is None or subset is None:
        return False
    return all(_contains(superset, item) for item in subset)


def _anyof(left: Node, right: Node) -> bool:
    theirs = _list_of(right)
    ours = _list_of(left)
    if theirs is None or ours is None:
        return False
    return any(equals(a, b) for a in ours for b in theirs)


def _noneof(left: Node, right: Node) -> bool:
    theirs = _list_of(right)
    ours = _list_of(left)
    if theirs is None or ours is None:
        return False
    return not any(equals(a, b) for a in ours for b in theirs)


def _size(left: Node, right: Node) -> bool:
    if right[0] != "num":
        return False
    expected = int(right[1])
    if left[0] == "str":
        return len(left[1].encode("utf-16-le", "surrogatepass")) // 2 == expected
    if left[0] == "json":
        return (len(left[1]) if isinstance(left[1], list) else -1) == expected
    return False


def _empty(left: Node, right: Node) -> bool:
    if left[0] not in ("str", "json"):
        return False
    if right[0] != "bool":
        raise _Reject
    return (len(left[1]) == 0) is right[1]


def _contains_op(left: Node, right: Node) -> bool:
    if left[0] == "str" and right[0] == "str":
        return right[1] in left[1]
    if left[0] == "json":
        if not isinstance(left[1], list):
            return False
        return _contains([node_of(v) for v in left[1]], right)
    return False


def _all(left: Node, right: Node) -> bool:
    required = _list_of(right)
    if required is None:
        raise _Reject
    if left[0] != "json":
        return False
    if not isinstance(left[1], list):
        return True
    have = [node_of(v) for v in left[1]]
    return all(_contains(have, r) for r in required)


def _exists(left: Node, right: Node) -> bool:
    if left[0] == "bool" and right[0] == "bool":
        return bool(left[1] == right[1])
    raise _Reject


def _unsupported(left: Node, right: Node) -> bool:
    raise _Reject  # TYPE and MATCHES need Java values a filter text cannot express


_EVALUATORS: Final[dict[str, Callable[[Node, Node], bool]]] = {
    "==": _eq,
    "!=": _ne,
    "===": _tseq,
    "!==": _tsne,
    "<": _ordering(lambda o: o < 0),
    "<=": _ordering(lambda o: o <= 0),
    ">": _ordering(lambda o: o > 0),
    ">=": _ordering(lambda o: o >= 0),
    "=~": _regex,
    "IN": _in,
    "NIN": _nin,
    "SUBSETOF": _subsetof,
    "ANYOF": _anyof,
    "NONEOF": _noneof,
    "SIZE": _size,
    "EMPTY": _empty,
    "CONTAINS": _contains_op,
    "ALL": _all,
    "EXISTS": _exists,
    "TYPE": _unsupported,
    "MATCHES": _unsupported,
}
