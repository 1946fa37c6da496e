"""The 18 intrinsic functions of JSONPath states: what each computes, and which arguments it takes.

Each function receives its evaluated arguments and returns a JSON value, or raises
:class:`IntrinsicArgumentError`: AWS fails the state with ``States.Runtime`` ("Invalid arguments in
States.<Name>", reported by users of real accounts), not ``States.IntrinsicFailure``, so the
caller (``data``) words the cause. Numbers follow the developer guide: where a function takes
integers, a non-integer is rounded to the nearest integer (Java's ``Math.round``, as recorded for
``States.MathAdd``); ``States.MathAdd`` takes 32-bit integers; ``States.MathRandom``'s end is
exclusive; ``States.ArrayRange`` makes at most 1,000 items.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final, Protocol

from .jsonvalue import NotJson, parse_json
from .seeded import seeded_bits

__all__ = [
    "FUNCTIONS",
    "IntrinsicArgumentError",
    "IntrinsicServices",
    "format_pieces",
    "render_format",
]

MAX_RANGE_ITEMS: Final = 1000
MAX_INPUT_CHARS: Final = 10_000
_INT_MIN: Final = -(1 << 31)
_INT_MAX: Final = (1 << 31) - 1
RESERVED: Final = "'{}\\"


class IntrinsicServices(Protocol):
    def uuid4(self) -> str:
        """A random version-4 UUID string."""
        ...

    def random_int(self, start: int, end: int) -> int:
        """An unseeded random integer in ``[start, end]``."""
        ...


class IntrinsicArgumentError(Exception):
    """An intrinsic function cannot take its arguments. ``function`` names it (``States.MathAdd``);
    ``reason`` says what is wrong, for logs and tests (AWS's cause names only the function)."""

    def __init__(self, function: str, reason: str) -> None:
        super().__init__(f"Invalid arguments in {function}: {reason}")
        self.function = function
        self.reason = reason


Impl = Callable[[list[Any], IntrinsicServices], Any]


# --- failures and JSON helpers ----------------------------------------------------------------


def _fail(fn: str, detail: str) -> IntrinsicArgumentError:
    return IntrinsicArgumentError(fn, detail)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _java_double(x: float) -> str:
    """``Double.toString``: plain in [1e-3, 1e7), else ``d.dddE<exp>``; always has a fraction."""
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    if math.isnan(x) or math.isinf(x):
        return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")
    a = abs(x)
    if 1e-3 <= a < 1e7:
        return repr(x)
    _, digits, exponent = Decimal(repr(a)).as_tuple()
    assert isinstance(exponent, int)
    ds = "".join(map(str, digits)).rstrip("0") or "0"
    sci = len(digits) + exponent - 1
    return ("-" if x < 0 else "") + ds[0] + "." + (ds[1:] or "0") + "E" + str(sci)


def _number_text(value: int | float) -> str:
    return str(value) if isinstance(value, int) else _java_double(value)


# Jackson's string escaping: short forms for \b \t \n \f \r, \u00XX (upper-case) for other controls.
_JSON_ESCAPES: Final = {i: f"\\u{i:04X}" for i in range(0x20)} | {
    0x08: "\\b",
    0x09: "\\t",
    0x0A: "\\n",
    0x0C: "\\f",
    0x0D: "\\r",
    0x22: '\\"',
    0x5C: "\\\\",
}


def _json_text(value: Any) -> str:
    """Compact JSON as Jackson writes it: no spaces, non-ASCII kept, doubles via Double.toString."""
    if isinstance(value, str):
        return '"' + value.translate(_JSON_ESCAPES) + '"'
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return _number_text(value)
    if isinstance(value, list):
        return "[" + ",".join(_json_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(_json_text(str(k)) + ":" + _json_text(v) for k, v in value.items()) + "}"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def _java_text(value: Any) -> str:
    """``String.valueOf`` of the Java view of a JSON value: maps ``{k=v, ...}``, lists ``[a, b]``."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number_text(value)
    if isinstance(value, list):
        return "[" + ", ".join(_java_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_java_text(v)}" for k, v in value.items()) + "}"
    return str(value)


def _key(value: Any) -> Any:
    """Hashable form with JSON equality: booleans are not numbers, 1 == 1.0, object order ignored."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", value)
    if isinstance(value, str):
        return ("s", value)
    if value is None:
        return ("z",)
    if isinstance(value, list):
        return ("a", tuple(_key(v) for v in value))
    if isinstance(value, dict):
        return ("o", frozenset((k, _key(v)) for k, v in value.items()))
    return ("?", id(value))


def _java_length(text: str) -> int:
    """Length in UTF-16 code units, as Java's ``String.length()`` counts."""
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


# --- argument checks --------------------------------------------------------------------------


def _want_str(fn: str, args: list[Any], i: int) -> str:
    value = args[i]
    if not isinstance(value, str):
        raise _fail(fn, f"argument {i + 1} must be a string, got {_type_name(value)}")
    return value


def _want_list(fn: str, args: list[Any], i: int) -> list[Any]:
    value = args[i]
    if not isinstance(value, list):
        raise _fail(fn, f"argument {i + 1} must be an array, got {_type_name(value)}")
    return value


def _want_dict(fn: str, args: list[Any], i: int) -> dict[str, Any]:
    value = args[i]
    if not isinstance(value, dict):
        raise _fail(fn, f"argument {i + 1} must be a JSON object, got {_type_name(value)}")
    return value


def _want_int(fn: str, args: list[Any], i: int) -> int:
    value = args[i]
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    shown = _json_text(value) if _is_number(value) else _type_name(value)
    raise _fail(fn, f"argument {i + 1} must be an integer, got {shown}")


def _want_rounded(fn: str, args: list[Any], i: int) -> int:
    """An integer argument the developer guide lets be any number: rounded to the nearest integer."""
    value = args[i]
    if not _is_number(value):
        raise _fail(fn, f"argument {i + 1} must be a number, got {_type_name(value)}")
    return _java_round(value)


def _want_limited(fn: str, text: str) -> str:
    if _java_length(text) > MAX_INPUT_CHARS:
        raise _fail(fn, f"the input is longer than the maximum of {MAX_INPUT_CHARS} characters")
    return text


# --- the functions ----------------------------------------------------------------------------


def format_pieces(template: str, strict: bool) -> list[str] | None:
    """Split a Format template at its ``{}`` placeholders, resolving ``\\`` escapes.

    ``strict`` (a literal's raw text): an escape of anything but ``' { } \\`` gives None. Otherwise
    (a template read at run time) such a backslash is kept as is.
    """
    pieces: list[str] = []
    current: list[str] = []
    i, n = 0, len(template)
    while i < n:
        c = template[i]
        if c == "\\":
            nxt = template[i + 1] if i + 1 < n else ""
            if nxt and nxt in RESERVED:
                current.append(nxt)
                i += 2
                continue
            if strict:
                return None
            current.append(c)
        elif c == "{" and i + 1 < n and template[i + 1] == "}":
            pieces.append("".join(current))
            current = []
            i += 2
            continue
        else:
            current.append(c)
        i += 1
    pieces.append("".join(current))
    return pieces


def render_format(pieces: list[str], values: list[Any]) -> str:
    fn = "States.Format"
    if len(pieces) - 1 != len(values):
        raise _fail(
            fn,
            f"the format string has {len(pieces) - 1} placeholder(s) but {len(values)} value(s) were given",
        )
    out = [pieces[0]]
    for value, piece in zip(values, pieces[1:], strict=True):
        out.append(_java_text(value))
        out.append(piece)
    return "".join(out)


def _f_format(args: list[Any], services: IntrinsicServices) -> Any:
    template = _want_str("States.Format", args, 0)
    pieces = format_pieces(template, strict=False)
    assert pieces is not None
    return render_format(pieces, args[1:])


def _f_string_to_json(args: list[Any], services: IntrinsicServices) -> Any:
    fn = "States.StringToJson"
    text = _want_str(fn, args, 0)
    if not text.strip():
        return None
    try:
        return parse_json(text)
    except NotJson as exc:
        raise _fail(fn, f"the string is not valid JSON ({exc.reason})") from None
    except ValueError as exc:
        raise _fail(fn, f"the string is not valid JSON ({exc})") from None


def _f_json_to_string(args: list[Any], services: IntrinsicServices) -> Any:
    return _json_text(args[0])


def _f_array(args: list[Any], services: IntrinsicServices) -> Any:
    return list(args)


def _f_array_partition(args: list[Any], services: IntrinsicServices) -> Any:
    fn = "States.ArrayPartition"
    items = _want_list(fn, args, 0)
    size = _want_rounded(fn, args, 1)
    if size <= 0:
        raise _fail(fn, f"the chunk size must be a positive integer, got {size}")
    return [items[i : i + size] for i in range(0, len(items), size)]


def _f_array_contains(args: list[Any], services: IntrinsicServices) -> Any:
    items = _want_list("States.ArrayContains", args, 0)
    wanted = _key(args[1])
    return any(_key(item) == wanted for item in items)


def _f_array_range(args: list[Any], services: IntrinsicServices) -> Any:
    fn = "States.ArrayRange"
    first, last, step = (_want_rounded(fn, args, i) for i in range(3))
    if step == 0:
        raise _fail(fn, "the step must not be 0")
    if (step > 0 and first > last) or (step < 0 and first < last):
        return []
    count = abs(last - first) // abs(step) + 1
    if count > MAX_RANGE_ITEMS:
        raise _fail(fn, f"the range would have {count} items, more than the maximum of {MAX_RANGE_ITEMS}")
    return list(range(first, first + count * step, step))


def _f_array_get_item(args: list[Any], services: IntrinsicServices) -> Any:
    fn = "States.ArrayGetItem"
    items = _want_list(fn, args, 0)
    index = _want_int(fn, args, 1)
    if not 0 <= index < len(items):
        raise _fail(fn, f"index {index} is out of bounds for an array of length {len(items)}")
    return items[index]


def _f_array_length(args: list[Any], services: IntrinsicServices) -> Any:
    return len(_want_list("States.ArrayLength", args, 0))


def _f_array_unique(args: list[Any], services: IntrinsicServices) -> Any:
    items = _want_list("States.ArrayUnique", args, 0)
    seen: set[Any] = set()
    out: list[Any] = []
    for item in items:
        k = _key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out


def _f_base64_encode(args: list[Any], services: IntrinsicServices) -> Any:
    fn = "States.Base64Encode"
    text = _want_limited(fn, _want_str(fn, args, 0))
    return base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii")


_B64_SPACE = re.compile(r"\s+")
_B64_BODY = re.compile(r"[A-Za-z0-9+/]*")


def _f_base64_decode(args: list[Any], services: IntrinsicServices) -> Any:
    fn = "States.Base64Decode"
    text = _want_limited(fn, _want_str(fn, args, 0))
    # Whitespace (MIME line breaks) is skipped and the '=' padding is optional.
    body = _B64_SPACE.sub("", text).rstrip("=")
    if _B64_BODY.fullmatch(body) is None or len(body) % 4 == 1:
        raise _fail(fn, "the input is not valid Base64")
    try:
        raw = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):  # pragma: no cover - excluded by the checks above
        raise _fail(fn, "the input is not valid Base64") from None
    return raw.decode("utf-8", "replace")


_HASHES: Final = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def _f_hash(args: list[Any], services: IntrinsicServices) -> Any:
    fn = "States.Hash"
    data = args[0]
    text = data if isinstance(data, str) else _json_text(data)
    _want_limited(fn, text)
    algorithm = _want_str(fn, args, 1)
    name = _HASHES.get(algorithm)
    if name is None:
        raise _fail(fn, f"unsupported algorithm '{algorithm}'; use one of {', '.join(_HASHES)}")
    return hashlib.new(name, text.encode("utf-8", "surrogatepass")).hexdigest()


def _f_json_merge(args: list[Any], services: IntrinsicServices) -> Any:
    fn = "States.JsonMerge"
    first = _want_dict(fn, args, 0)
    second = _want_dict(fn, args, 1)
    deep = args[2]
    if not isinstance(deep, bool):
        raise _fail(fn, f"argument 3 must be a boolean, got {_type_name(deep)}")
    if deep:
        raise _fail(fn, "deep merging is not supported; the third argument must be false")
    return {**first, **second}


def _f_math_random(args: list[Any], services: IntrinsicServices) -> Any:
    """A number from ``start`` (inclusive) to ``end`` (exclusive), as the developer guide says."""
    fn = "States.MathRandom"
    start = _want_rounded(fn, args, 0)
    end = _want_rounded(fn, args, 1)
    if start >= end:
        raise _fail(fn, f"the start {start} must be less than the end {end}")
    if len(args) < 3:
        return services.random_int(start, end - 1)
    seed = _want_rounded(fn, args, 2)
    return start + ((seeded_bits(seed) * (end - start)) >> 64)


_LONG_MIN: Final = -(1 << 63)
_LONG_MAX: Final = (1 << 63) - 1


def _java_round(x: int | float) -> int:
    """``Math.round``: nearest integer, halves toward positive infinity, clamped to a Java long."""
    if isinstance(x, int):
        return x
    if math.isnan(x):
        return 0
    if math.isinf(x):
        return _LONG_MAX if x > 0 else _LONG_MIN
    floor = math.floor(x)
    rounded = floor + 1 if x - floor >= 0.5 else floor
    return max(_LONG_MIN, min(_LONG_MAX, rounded))


def _f_math_add(args: list[Any], services: IntrinsicServices) -> Any:
    """The sum of two integers (non-integers rounded), each and the sum within 32 bits."""
    fn = "States.MathAdd"
    total = 0
    for i in range(len(args)):
        value = _want_rounded(fn, args, i)
        if not _INT_MIN <= value <= _INT_MAX:
            raise _fail(fn, f"argument {i + 1} is outside the 32-bit integer range: {value}")
        total += value
    if not _INT_MIN <= total <= _INT_MAX:
        raise _fail(fn, f"the sum {total} is outside the 32-bit integer range")
    return total


def _f_string_split(args: list[Any], services: IntrinsicServices) -> Any:
    fn = "States.StringSplit"
    text = _want_str(fn, args, 0)
    delimiters = set(_want_str(fn, args, 1))
    tokens: list[str] = []
    current: list[str] = []
    for c in text:
        if c in delimiters:
            if current:
                tokens.append("".join(current))
                current = []
        else:
            current.append(c)
    if current:
        tokens.append("".join(current))
    return tokens


def _f_uuid(args: list[Any], services: IntrinsicServices) -> Any:
    return services.uuid4()


# name -> (min args, max args or None for unbounded, implementation)
FUNCTIONS: Final[dict[str, tuple[int, int | None, Impl]]] = {
    "States.Format": (1, None, _f_format),
    "States.StringToJson": (1, 1, _f_string_to_json),
    "States.JsonToString": (1, 1, _f_json_to_string),
    "States.Array": (0, None, _f_array),
    "States.ArrayPartition": (2, 2, _f_array_partition),
    "States.ArrayContains": (2, 2, _f_array_contains),
    "States.ArrayRange": (3, 3, _f_array_range),
    "States.ArrayGetItem": (2, 2, _f_array_get_item),
    "States.ArrayLength": (1, 1, _f_array_length),
    "States.ArrayUnique": (1, 1, _f_array_unique),
    "States.Base64Encode": (1, 1, _f_base64_encode),
    "States.Base64Decode": (1, 1, _f_base64_decode),
    "States.Hash": (2, 2, _f_hash),
    "States.JsonMerge": (3, 3, _f_json_merge),
    "States.MathRandom": (2, 3, _f_math_random),
    "States.MathAdd": (2, 2, _f_math_add),
    "States.StringSplit": (2, 2, _f_string_split),
    "States.UUID": (0, 0, _f_uuid),
}
