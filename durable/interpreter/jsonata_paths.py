"""A shortcut for the commonest JSONata expressions: a variable and a chain of field names.

``{% $states.input %}``, ``{% $states.result.Payload %}`` or ``{% $order.id %}`` need no
evaluator: the value is the binding, then each field of an object in turn. :class:`SimplePath`
recognises such an expression once, at compile time, and answers it only when the answer is
certain to be what the evaluator returns; in every other case (a missing binding or field, an
array on the way, which JSONata would map over, a number JSONata would change by holding it as a
double) it declines and the expression runs in the evaluator as before.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

__all__ = ["DECLINED", "SimplePath"]

DECLINED: Final = object()

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_SHAPE: Final = re.compile(rf"\s*\$({_NAME})((?:\s*\.\s*{_NAME})*)\s*\Z")
# names that are operators or literals in JSONata, not field names
_RESERVED: Final = frozenset({"and", "or", "in", "true", "false", "null", "function"})
_EXACT: Final = 2**53  # beyond this an integer does not survive as a double


class SimplePath:
    """``$name.field.field...``, evaluated directly over the bindings."""

    __slots__ = ("fields", "root")

    def __init__(self, root: str, fields: tuple[str, ...]) -> None:
        self.root = root
        self.fields = fields

    @classmethod
    def parse(cls, text: str) -> SimplePath | None:
        m = _SHAPE.match(text)
        if m is None:
            return None
        fields = tuple(part.strip() for part in m.group(2).split(".")[1:])
        if any(name in _RESERVED for name in fields):
            return None
        return cls(m.group(1), fields)

    def evaluate(self, bindings: dict[str, Any]) -> Any:
        """The value, or :data:`DECLINED` when the evaluator must answer."""
        value = bindings.get(self.root, DECLINED)
        if value is DECLINED:
            return DECLINED
        for name in self.fields:
            if type(value) is not dict or name not in value:
                return DECLINED
            value = value[name]
        return value if _as_evaluated(value) else DECLINED


def _as_evaluated(value: Any) -> bool:
    """Whether the evaluator would return ``value`` unchanged: no number in it that JSONata,
    which holds numbers as doubles, would turn into another (an integral float becomes an int,
    a large integer loses digits)."""
    stack = [value]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is dict:
            stack.extend(node.values())
        elif kind is list:
            stack.extend(node)
        elif kind is float:
            if not math.isfinite(node) or node.is_integer():
                return False
        elif kind is int and not -_EXACT <= node <= _EXACT:
            return False
    return True
