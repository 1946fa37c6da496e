"""Value-level checks used by :mod:`durable.interpreter.validate`.

Everything here reports into a :class:`Sink` and never raises. Locations are AWS-style pointers:
``/States/S/Field`` for object members and ``[i]`` for array elements (``/States/C/Choices[0]/Next``),
the form real ValidateStateMachineDefinition answers use. ``""`` is the root and is shown as ``/``.

Message texts are AWS's where they are known from recorded AWS answers; the rest follow the same style.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, Final

from ..errors import Diagnostic
from .intrinsics import IntrinsicSyntaxError, compile_intrinsic, is_intrinsic
from .jsonata import JsonataSyntaxError, compile_expression
from .jsonpath import (
    ROOT_CONTEXT,
    ROOT_VARIABLE,
    PathSyntaxError,
    compile_path,
    compile_reference_path,
)

__all__ = [
    "INVALID_VARIABLE_NAME",
    "JA",
    "JP",
    "RESERVED_VARIABLE_NAME",
    "SCHEMA",
    "UNSUPPORTED_JSONATA",
    "Sink",
    "at",
    "index",
    "is_int",
    "is_jsonata",
    "is_number",
]

JP: Final = "JSONPath"
JA: Final = "JSONata"

SCHEMA: Final = "SCHEMA_VALIDATION_FAILED"
UNSUPPORTED_JSONATA: Final = "UNSUPPORTED_JSONATA_EXPRESSION"
INVALID_JSONATA: Final = "INVALID_JSONATA_EXPRESSION"
INVALID_VARIABLE_NAME: Final = "INVALID_VARIABLE_NAME"
RESERVED_VARIABLE_NAME: Final = "RESERVED_VARIABLE_NAME"

MAX_VARIABLE_NAME: Final = 80

# Names of JSON types as they appear in type-mismatch messages.
_TYPE_NAMES: Final = {
    str: "String",
    bool: "Boolean",
    int: "Integer",
    float: "Number",
    dict: "Object",
    list: "Array",
}

_RFC3339: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?(Z|[+-]([0-9]{2}):([0-9]{2}))"
)
_STATES_MEMBER: Final = re.compile(r"\$states\.([A-Za-z_][A-Za-z0-9_]*)")
_ALWAYS_AVAILABLE: Final = frozenset({"input", "context"})


def at(loc: str, key: str) -> str:
    """The location of member ``key`` of the object at ``loc``."""
    return f"{loc}/{key}"


def index(loc: str, i: int) -> str:
    """The location of element ``i`` of the array at ``loc``."""
    return f"{loc}[{i}]"


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_jsonata(value: object) -> bool:
    """True for a JSONata expression string ``{% ... %}``."""
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}") and len(value) >= 4


def _fmt(number: float) -> str:
    return str(number)


class Sink:
    """Collects diagnostics. ``loc`` arguments are internal locations (``""`` = root)."""

    __slots__ = ("found",)

    def __init__(self) -> None:
        self.found: list[Diagnostic] = []

    def add(self, message: str, loc: str | None, code: str = SCHEMA) -> None:
        self.found.append(Diagnostic(code, message, None if loc is None else (loc or "/")))

    # --- generic object shape ---------------------------------------------------------------

    def unsupported(self, name: str, loc: str) -> None:
        self.add(f"Field '{name}' is not supported", loc)

    def required(self, names: Iterable[str], loc: str) -> None:
        self.add(f"These fields are required: [{', '.join(names)}]", loc)

    def only_one(self, names: Iterable[str], loc: str) -> None:
        """More than one of mutually exclusive fields is present."""
        self.add(f"There should only be one of the following fields: [{', '.join(names)}]", loc)

    def one_of(self, names: Iterable[str], loc: str) -> None:
        """None of fields of which exactly one is needed is present."""
        self.add(f"This object should have only one of the following fields: [{', '.join(names)}]", loc)

    def wrong_type(self, expected: type | str, loc: str) -> None:
        name = expected if isinstance(expected, str) else _TYPE_NAMES.get(expected, expected.__name__)
        self.add(f"Expected value of type: {name}", loc)

    def query_language(self, name: str, language: str, loc: str) -> None:
        other = JP if language == JA else JA
        self.add(
            f"The QueryLanguage is set to '{language}', but field '{name}' is only supported for the "
            f"'{other}' QueryLanguage",
            loc,
        )

    def check_fields(self, obj: dict[str, Any], allowed: Iterable[str], loc: str) -> None:
        """Report every member of ``obj`` that is not in ``allowed``."""
        known = set(allowed)
        for key in obj:
            if key not in known:
                self.unsupported(key, loc)

    def check_required(self, obj: dict[str, Any], names: Iterable[str], loc: str) -> None:
        missing = [n for n in names if n not in obj]
        if missing:
            self.required(missing, loc)

    def check_exclusive(self, obj: dict[str, Any], names: tuple[str, ...], loc: str) -> None:
        if sum(1 for n in names if n in obj) > 1:
            self.only_one(names, loc)

    # --- scalars ----------------------------------------------------------------------------

    def string(self, value: object, loc: str) -> bool:
        if isinstance(value, str):
            return True
        self.wrong_type(str, loc)
        return False

    def boolean(self, value: object, loc: str) -> bool:
        if isinstance(value, bool):
            return True
        self.wrong_type(bool, loc)
        return False

    def enum(self, value: object, allowed: tuple[str, ...], loc: str) -> bool:
        if isinstance(value, str) and value in allowed:
            return True
        self.add(f"Value should be one of the following: [{', '.join(allowed)}]", loc)
        return False

    def integer(self, value: object, loc: str, low: int | None = None, high: int | None = None) -> bool:
        if not is_int(value):
            self.wrong_type(int, loc)
            return False
        assert isinstance(value, int)
        return self._bounds(value, loc, low, high, str)

    def number(self, value: object, loc: str, low: float | None = None, high: float | None = None) -> bool:
        if not is_number(value):
            self.wrong_type(float, loc)
            return False
        assert isinstance(value, int | float)
        return self._bounds(value, loc, low, high, _fmt)

    def _bounds(
        self,
        value: float,
        loc: str,
        low: float | None,
        high: float | None,
        show: Callable[[Any], str],
    ) -> bool:
        if low is not None and value < low:
            self.add(f"Minimum value is {show(low)}", loc)
            return False
        if high is not None and value > high:
            self.add(f"Maximum value is {show(high)}", loc)
            return False
        return True

    def timestamp(self, value: object, loc: str) -> bool:
        if not self.string(value, loc):
            return False
        assert isinstance(value, str)
        if is_rfc3339(value):
            return True
        self.add("String does not match RFC3339 timestamp", loc)
        return False

    # --- paths and templates ----------------------------------------------------------------

    def path(self, value: object, loc: str, *, nullable: bool = False) -> bool:
        """Any JSONPath (``$``, ``$$`` or ``$var`` root)."""
        if value is None and nullable:
            return True
        if not self.string(value, loc):
            return False
        assert isinstance(value, str)
        try:
            compile_path(value)
        except PathSyntaxError:
            self.add("Value must be a valid JSONPath.", loc)
            return False
        return True

    def reference_path(
        self,
        value: object,
        loc: str,
        *,
        nullable: bool = False,
        context: bool = True,
        variables: bool = True,
        intrinsic: bool = False,
    ) -> bool:
        """A Reference Path; optionally forbid ``$$``/``$var`` roots, or accept an intrinsic call."""
        if value is None and nullable:
            return True
        if not self.string(value, loc):
            return False
        assert isinstance(value, str)
        if intrinsic and is_intrinsic(value):
            if valid_intrinsic(value):
                return True
            self.add("Value is not a Reference Path or a valid intrinsic function call", loc)
            return False
        if not value.startswith("$"):
            self.add("Value is not a Reference Path: Reference path didn't start with '$'", loc)
            return False
        try:
            path = compile_reference_path(value)
        except PathSyntaxError:
            self.add("Value is not a Reference Path", loc)
            return False
        if (path.root == ROOT_CONTEXT and not context) or (path.root == ROOT_VARIABLE and not variables):
            self.add("Value is not a Reference Path", loc)
            return False
        return True

    def template(self, value: object, loc: str, *, require_object: bool = True) -> None:
        """A JSONPath payload template: every ``.$`` key holds a path or an intrinsic call."""
        if require_object and not isinstance(value, dict):
            self.wrong_type(dict, loc)
            return
        self._template(value, loc)

    def _template(self, value: object, loc: str) -> None:
        if isinstance(value, list):
            for item in value:
                self._template(item, loc)
            return
        if not isinstance(value, dict):
            return
        seen: set[str] = set()
        for key, item in value.items():
            name = key[:-2] if key.endswith(".$") else key
            if name in seen:
                self.add(f"Field '{name}' is duplicated", loc)
            seen.add(name)
            if key.endswith(".$"):
                if not (isinstance(item, str) and valid_dynamic(item)):
                    self.add(
                        f"The value for the field '{key}' must be a valid JSONPath or a valid intrinsic "
                        "function call",
                        loc,
                    )
            else:
                self._template(item, loc)

    # --- JSONata ----------------------------------------------------------------------------

    def jsonata_value(self, value: object, loc: str, available: frozenset[str] = frozenset()) -> None:
        """Any JSON value whose strings may be ``{% %}`` expressions.

        ``available`` names the optional ``$states`` members (``result``, ``errorOutput``) that exist
        where this value is evaluated; ``input`` and ``context`` always exist.
        """
        if isinstance(value, str):
            self._expression(value, loc, available)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self.jsonata_value(item, index(loc, i), available)
        elif isinstance(value, dict):
            for key, item in value.items():
                self.jsonata_value(item, at(loc, key), available)

    def _expression(self, text: str, loc: str, available: frozenset[str]) -> None:
        if not text.startswith("{%"):
            return  # a literal string
        if not text.endswith("%}") or len(text) < 4:
            self.add("JSONata string must start with {% and end with %}", loc)
            return
        try:
            compile_expression(text)
        except JsonataSyntaxError as exc:
            self.add(exc.detail, loc, INVALID_JSONATA)
            return
        code = _strip_literals(text[2:-2])
        if "$$" in code:
            self.add("Reference to '$$' is not supported.", loc, UNSUPPORTED_JSONATA)
        for member in _STATES_MEMBER.findall(code):
            if member not in _ALWAYS_AVAILABLE and member not in available:
                self.add(f"Field '$states.{member}' does not exist.", loc, UNSUPPORTED_JSONATA)

    def jsonata_or(self, value: object, loc: str, check: Callable[[object, str], object]) -> None:
        """A literal checked by ``check``, or a JSONata expression."""
        if isinstance(value, str) and value.startswith("{%"):
            self._expression(value, loc, frozenset())
        else:
            check(value, loc)

    # --- variables --------------------------------------------------------------------------

    def assign(self, value: object, loc: str, language: str, available: frozenset[str]) -> None:
        """An ``Assign`` block: variable names, then values as a template (JSONPath) or JSONata."""
        if not isinstance(value, dict):
            self.wrong_type(dict, loc)
            return
        for key in value:
            name = key[:-2] if language == JP and key.endswith(".$") else key
            self.variable_name(name, at(loc, key))
        if language == JP:
            self._template(value, loc)
        else:
            for key, item in value.items():
                self.jsonata_value(item, at(loc, key), available)

    def variable_name(self, name: str, loc: str) -> None:
        if name == "states":
            self.add("Cannot assign to reserved variable '$states'.", loc, RESERVED_VARIABLE_NAME)
        elif not name.isidentifier():
            self.add(
                f"Invalid variable name '{name}': the variable name contains invalid characters.",
                loc,
                INVALID_VARIABLE_NAME,
            )
        elif len(name) > MAX_VARIABLE_NAME:
            self.add(
                f"Invalid variable name '{name}': the variable name exceeds the maximum length of "
                f"{MAX_VARIABLE_NAME} characters.",
                loc,
                INVALID_VARIABLE_NAME,
            )


# --- pure predicates --------------------------------------------------------------------------


def valid_intrinsic(text: str) -> bool:
    try:
        call = compile_intrinsic(text)
        for path in call.paths:
            compile_path(path)
    except (IntrinsicSyntaxError, PathSyntaxError):
        return False
    return True


def valid_dynamic(text: str) -> bool:
    """A ``.$`` value: a path (``$``, ``$$``, ``$var`` roots) or an intrinsic call."""
    if is_intrinsic(text):
        return valid_intrinsic(text)
    try:
        compile_path(text)
    except PathSyntaxError:
        return False
    return True


_DAYS: Final = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_rfc3339(text: str) -> bool:
    """An RFC 3339 date-time with uppercase ``T`` and ``Z`` (or a numeric offset)."""
    m = _RFC3339.fullmatch(text)
    if m is None:
        return False
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    if not (1 <= month <= 12 and 1 <= day <= _DAYS[month - 1] and hour < 24 and minute < 60 and second < 60):
        return False
    if month == 2 and day == 29 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        return False
    if m.group(9) is not None and (int(m.group(9)) > 23 or int(m.group(10)) > 59):
        return False
    return True


def _strip_literals(expr: str) -> str:
    """The expression with its string literals blanked, so ``"$states.result"`` text is not a use."""
    out: list[str] = []
    quote = ""
    escaped = False
    for c in expr:
        if quote:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == quote:
                quote = ""
            out.append(" ")
        elif c in "\"'":
            quote = c
            out.append(" ")
        else:
            out.append(c)
    return "".join(out)
