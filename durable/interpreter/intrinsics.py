"""ASL intrinsic functions (JSONPath mode), parsed once into closures and evaluated many times.

An intrinsic is the value of a ``.$`` field such as ``States.Format('Hi {}', $.name)``. Arguments are
single-quoted strings (``\\'``, ``\\{``, ``\\}``, ``\\\\`` escapes), numbers, ``true``/``false``/``null``,
paths (``$...``, ``$$...``, ``$var...``) and nested calls. Paths are never evaluated here: their text
goes to the ``resolve`` callback given to :meth:`Intrinsic.evaluate`. Randomness comes from the
injected :class:`IntrinsicServices`, except for seeded ``States.MathRandom``, which uses a
deterministic splitmix64 so that one seed always yields one value.

Definition-time problems raise :class:`IntrinsicSyntaxError`. Any failure while a function runs
raises ``StatesFailure("States.IntrinsicFailure", cause)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Protocol

from .failure import INTRINSIC_FAILURE, StatesFailure
from .jsonvalue import NotJson, parse_json

__all__ = [
    "MAX_NESTING",
    "Intrinsic",
    "IntrinsicServices",
    "IntrinsicSyntaxError",
    "compile_intrinsic",
    "is_intrinsic",
]

MAX_NESTING: Final = 10
"""Deepest allowed call nesting; the outermost call is level 1."""

MAX_RANGE_ITEMS: Final = 1000
MAX_INPUT_CHARS: Final = 10_000


class IntrinsicSyntaxError(ValueError):
    """The text is not a valid intrinsic call (bad syntax, unknown function, wrong arity, too deep)."""


class IntrinsicServices(Protocol):
    def uuid4(self) -> str:
        """A random version-4 UUID string."""
        ...

    def random_int(self, start: int, end: int) -> int:
        """An unseeded random integer in ``[start, end]``."""
        ...


Resolve = Callable[[str], Any]
_Eval = Callable[[Resolve, IntrinsicServices], Any]
_Impl = Callable[[list[Any], IntrinsicServices], Any]

_HEAD = re.compile(r"States\.[A-Za-z0-9_.]+\(")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_RESERVED = "'{}\\"


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


# --- failures and JSON helpers ----------------------------------------------------------------


def _fail(fn: str, detail: str) -> StatesFailure:
    return StatesFailure(INTRINSIC_FAILURE, f"Invalid arguments in {fn}: {detail}")


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


def _want_limited(fn: str, text: str) -> str:
    if _java_length(text) > MAX_INPUT_CHARS:
        raise _fail(fn, f"the input is longer than the maximum of {MAX_INPUT_CHARS} characters")
    return text


# --- the functions ----------------------------------------------------------------------------


def _format_pieces(template: str, strict: bool) -> list[str] | None:
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
            if nxt and nxt in _RESERVED:
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


def _render_format(pieces: list[str], values: list[Any]) -> str:
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
    pieces = _format_pieces(template, strict=False)
    assert pieces is not None
    return _render_format(pieces, args[1:])


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
    size = _want_int(fn, args, 1)
    if size <= 0:
        raise _fail(fn, f"the chunk size must be a positive integer, got {size}")
    return [items[i : i + size] for i in range(0, len(items), size)]


def _f_array_contains(args: list[Any], services: IntrinsicServices) -> Any:
    items = _want_list("States.ArrayContains", args, 0)
    wanted = _key(args[1])
    return any(_key(item) == wanted for item in items)


def _f_array_range(args: list[Any], services: IntrinsicServices) -> Any:
    fn = "States.ArrayRange"
    first, last, step = (_want_int(fn, args, i) for i in range(3))
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


_MASK64: Final = (1 << 64) - 1


def _splitmix64(seed: int) -> int:
    z = (seed + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def _f_math_random(args: list[Any], services: IntrinsicServices) -> Any:
    fn = "States.MathRandom"
    start = _want_int(fn, args, 0)
    end = _want_int(fn, args, 1)
    if start > end:
        raise _fail(fn, f"the start {start} is greater than the end {end}")
    if len(args) < 3:
        return services.random_int(start, end)
    seed = _want_int(fn, args, 2)
    span = end - start + 1
    return start + ((_splitmix64(seed & _MASK64) * span) >> 64)


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
    total = 0
    for i, value in enumerate(args):
        if not _is_number(value):
            raise _fail("States.MathAdd", f"argument {i + 1} must be a number, got {_type_name(value)}")
        total += _java_round(value)
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
_FUNCTIONS: Final[dict[str, tuple[int, int | None, _Impl]]] = {
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


# --- parsing ----------------------------------------------------------------------------------
# Nodes: ("lit", value) | ("str", value, raw, bad_escape) | ("path", text) | ("call", name, args)
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
        if name not in _FUNCTIONS:
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
        low, high, _ = _FUNCTIONS[name]
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
        bad: str | None = None
        while i < n:
            c = text[i]
            if c == "'":
                self.pos = i + 1
                return ("str", "".join(out), text[start + 1 : i], bad)
            if c == "\\":
                if i + 1 >= n:
                    break
                nxt = text[i + 1]
                if nxt in _RESERVED:
                    out.append(nxt)
                else:
                    if bad is None:
                        bad = f"open escape '\\{nxt}' in string literal '{text[start + 1 : i + 2]}...'"
                    out.append(c + nxt)
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
        value, bad = node[1], node[3]
        if bad is not None:
            failure_cause = f"Invalid intrinsic function argument: {bad}"

            def open_escape(resolve: Resolve, services: IntrinsicServices) -> Any:
                raise StatesFailure(INTRINSIC_FAILURE, failure_cause)

            return open_escape
        return lambda resolve, services: value
    if kind == "path":
        path_text = node[1]
        return lambda resolve, services: resolve(path_text)
    name: str = node[1]
    arg_nodes: tuple[_Node, ...] = node[2]
    if name == "States.Format" and arg_nodes[0][0] == "str" and arg_nodes[0][3] is None:
        return _compile_literal_format(arg_nodes)
    impl = _FUNCTIONS[name][2]
    evals = tuple(_compile(a) for a in arg_nodes)
    if not evals:
        return lambda resolve, services: impl([], services)
    if len(evals) == 1:
        (only,) = evals
        return lambda resolve, services: impl([only(resolve, services)], services)
    return lambda resolve, services: impl([e(resolve, services) for e in evals], services)


def _compile_literal_format(arg_nodes: tuple[_Node, ...]) -> _Eval:
    """``States.Format`` with a literal template: placeholders and escapes are split once, here."""
    pieces = _format_pieces(arg_nodes[0][2], strict=True)
    assert pieces is not None  # the literal has no open escape
    evals = tuple(_compile(a) for a in arg_nodes[1:])
    if not evals and len(pieces) == 1:
        constant = pieces[0]
        return lambda resolve, services: constant

    def run(resolve: Resolve, services: IntrinsicServices) -> Any:
        return _render_format(pieces, [e(resolve, services) for e in evals])

    return run
