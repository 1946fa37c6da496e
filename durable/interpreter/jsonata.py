"""JSONata expressions (``"{% ... %}"`` strings) for JSONata-mode states, evaluated with jsonatapy.

An expression is compiled once (:func:`compile_expression`) and evaluated many times
(:meth:`Expression.evaluate`) against *bindings* only: ``$states`` (``input``, ``context`` and, where
the field allows it, ``result`` / ``errorOutput``) and one binding per workflow variable. There is no
``$`` document: AWS forbids top-level ``$`` and bare field names.

Step Functions' own functions are available in every expression: ``$partition``, ``$range``, ``$hash``,
``$random`` (optionally seeded), ``$uuid`` and ``$parse``. ``$now``/``$millis`` read the clock of the
injected :class:`~durable.interpreter.context.Services` (one reading per evaluation, as JSONata does),
``$random()``/``$uuid()``/``$shuffle`` draw from it too, so a replayed execution sees the same values.
``$eval`` is not available (AWS does not support it; use ``$parse``).

Every evaluation runs under a time limit (:data:`EVALUATION_TIMEOUT_MS`, error ``D1012``), a
recursion limit (:data:`MAX_DEPTH`, ``D1011``) and a sequence-length limit
(:data:`MAX_SEQUENCE_LENGTH`, ``D2015``), so a hostile expression fails fast instead of hanging.

Results are plain JSON values. Numbers follow JavaScript: an integral number prints without a
fraction, so ``6 / 2`` gives ``3`` (an ``int``). A function result is rejected ("returned an unsupported
result type"); an expression that yields nothing returns :data:`UNDEFINED`.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final, NoReturn

import jsonatapy

from .context import Services
from .jsonata_paths import DECLINED, SimplePath
from .jsonvalue import NotJson, json_text
from .seeded import seeded_bits

__all__ = [
    "EVALUATION_TIMEOUT_MS",
    "MAX_DEPTH",
    "MAX_RANGE_ITEMS",
    "MAX_SEQUENCE_LENGTH",
    "MAX_STRING_LENGTH",
    "UNDEFINED",
    "Expression",
    "JsonataError",
    "JsonataSyntaxError",
    "compile_expression",
    "expression_text",
    "is_expression",
]

EVALUATION_TIMEOUT_MS: Final = 1000
"""Wall-clock limit of one evaluation, in milliseconds (``D1012`` when exceeded)."""

MAX_DEPTH: Final = 500
"""Deepest evaluation stack of one evaluation (``D1011`` when exceeded)."""

MAX_SEQUENCE_LENGTH: Final = 1_000_000
"""Longest sequence a query step may build (``D2015``). State data is at most 256 KiB, so only a
runaway expression (``[1..9999999]``, a cross product) comes near it."""

MAX_RANGE_ITEMS: Final = 1000
"""Most items ``$range`` may return."""

MAX_STRING_LENGTH: Final = 1_048_576
"""Longest string ``$pad`` may build (four times AWS's 256 KiB payload: room for intermediate
values, none for a runaway allocation)."""


class _Undefined:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __copy__(self) -> _Undefined:
        return self

    def __deepcopy__(self, memo: object) -> _Undefined:
        return self

    def __reduce__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Final[object] = _Undefined()
"""What :meth:`Expression.evaluate` returns when the expression yields nothing (JSONata's undefined)."""


class JsonataSyntaxError(ValueError):
    """The text is not a ``{% %}`` expression, or the expression inside does not parse.
    ``detail`` is the parser's message without its error code, as AWS reports it."""

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.detail = detail if detail is not None else message


class JsonataError(Exception):
    """An evaluation failed. ``detail`` is the text AWS appends to its cause, e.g.
    ``"T1006: Attempted to invoke a non-function"``; ``code`` is the JSONata error code, if any."""

    def __init__(self, detail: str, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code

    def __reduce__(self) -> tuple[type[JsonataError], tuple[str, str | None]]:
        return type(self), (self.detail, self.code)


def is_expression(value: object) -> bool:
    """Whether ``value`` is a JSONata expression string: it starts with ``{%`` and ends with ``%}``
    exactly (a space before ``{%`` or after ``%}`` makes it a plain string)."""
    return isinstance(value, str) and len(value) >= 4 and value.startswith("{%") and value.endswith("%}")


def expression_text(value: str) -> str:
    """The expression inside the delimiters, without surrounding whitespace."""
    return value[2:-2].strip()


# --------------------------------------------------------------------------------------------------
# the evaluation in progress


# jsonatapy registers host functions per compiled expression and calls them with the JSONata
# arguments only. Expressions are compiled once and shared by every execution, while the services
# (clock, randomness, ids) belong to the execution evaluating them, so the host functions find the
# current evaluation here; it is set around each evaluate call. A context variable rather than a
# plain global keeps evaluations on different threads or tasks apart.
class _Evaluation:
    __slots__ = ("error", "millis", "services")

    def __init__(self, services: Services) -> None:
        self.services = services
        self.millis: int | None = None
        #: the error a host function raised; jsonatapy only passes on its text
        self.error: JsonataError | None = None

    def now_millis(self) -> int:
        """The clock, read once per evaluation (``$now()``/``$millis()`` are stable within one)."""
        if self.millis is None:
            self.millis = round(self.services.now() * 1_000_000) // 1000
        return self.millis


_CURRENT: Final[contextvars.ContextVar[_Evaluation | None]] = contextvars.ContextVar(
    "durable_jsonata_evaluation", default=None
)


def _current() -> _Evaluation:
    evaluation = _CURRENT.get()
    if evaluation is None:  # pragma: no cover - host functions only run inside Expression.evaluate
        raise JsonataError("A Step Functions JSONata function was called outside an evaluation")
    return evaluation


# --------------------------------------------------------------------------------------------------
# argument checks (JSONata's undefined reaches host functions as None, like null)

_INT64: Final = 1 << 63


def _signature_error(fn: str, index: int, expected: str) -> JsonataError:
    return JsonataError(
        f"T0410: Argument {index} of function ${fn} does not match function signature (expected {expected})",
        "T0410",
    )


def _count_error(fn: str, expected: str, got: int) -> JsonataError:
    return JsonataError(
        f"T0410: Function ${fn} takes {expected}, but {got} were given",
        "T0410",
    )


def _arity(fn: str, args: tuple[Any, ...], low: int, high: int) -> None:
    if not low <= len(args) <= high:
        expected = f"{low} argument{'s' if low != 1 else ''}" if low == high else f"{low} to {high} arguments"
        raise _count_error(fn, expected, len(args))


def _want_int(fn: str, args: tuple[Any, ...], index: int) -> int:
    """An integer argument; a non-integral number is floored, as Step Functions does."""
    value = args[index] if index < len(args) else None
    if isinstance(value, bool):
        raise _signature_error(fn, index + 1, "a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return math.floor(value)
    raise _signature_error(fn, index + 1, "a number")


def _want_str(fn: str, args: tuple[Any, ...], index: int) -> str:
    value = args[index] if index < len(args) else None
    if not isinstance(value, str):
        raise _signature_error(fn, index + 1, "a string")
    return value


def _js_int(value: int) -> int | float:
    """An integer jsonatapy can carry (64-bit); larger ones become doubles, as in JavaScript."""
    return value if -_INT64 <= value < _INT64 else float(value)


# --------------------------------------------------------------------------------------------------
# the functions Step Functions adds to JSONata


def _partition(*args: Any) -> Any:
    _arity("partition", args, 2, 2)
    items = args[0]
    if not isinstance(items, list):
        raise _signature_error("partition", 1, "an array")
    size = _want_int("partition", args, 1)
    if size < 1:
        raise JsonataError(f"The chunk size given to $partition must be a positive integer, but was {size}")
    return [items[i : i + size] for i in range(0, len(items), size)]


def _range(*args: Any) -> Any:
    """The items of ``$range``; the prelude turns the list into a JSONata sequence (see ``_WRAPPER``)."""
    _arity("range", args, 3, 3)
    first, last, step = (_want_int("range", args, i) for i in range(3))
    if step == 0:
        raise JsonataError("The step given to $range must not be 0")
    if (step > 0 and first > last) or (step < 0 and first < last):
        return []
    count = (last - first) // step + 1
    if count > MAX_RANGE_ITEMS:
        raise JsonataError(f"$range would return {count} items, more than the maximum of {MAX_RANGE_ITEMS}")
    return [_js_int(first + i * step) for i in range(count)]


_HASHES: Final = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def _hash(*args: Any) -> Any:
    _arity("hash", args, 2, 2)
    data = _want_str("hash", args, 0)
    algorithm = _want_str("hash", args, 1)
    name = _HASHES.get(algorithm)
    if name is None:
        raise JsonataError(
            f"The hash algorithm '{algorithm}' is not supported; use one of {', '.join(_HASHES)}"
        )
    return hashlib.new(name, data.encode("utf-8")).hexdigest()


def _random(*args: Any) -> Any:
    """``$random()`` from the services; ``$random(seed)`` is a pure function of the seed."""
    _arity("random", args, 0, 1)
    if not args or args[0] is None:
        return _current().services.random()
    seed = _want_int("random", args, 0)
    return (seeded_bits(seed) >> 11) * (1.0 / (1 << 53))


def _uuid(*args: Any) -> Any:
    _arity("uuid", args, 0, 0)
    return _current().services.uuid4()


def _parse_int(text: str) -> int | float:
    return _js_int(int(text))


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} is out of range")
    return value


def _parse_constant(text: str) -> NoReturn:
    raise ValueError(f"{text} is not JSON")


def _parse(*args: Any) -> Any:
    _arity("parse", args, 1, 1)
    text = _want_str("parse", args, 0)
    try:
        value = json.loads(
            text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant
        )
        json_text(value)  # surrogates from escapes, depth
        return value
    except RecursionError:
        raise JsonataError("The string given to $parse is nested too deeply") from None
    except NotJson as exc:
        raise JsonataError(f"The string given to $parse is not valid JSON: {exc.reason}") from None
    except ValueError as exc:
        raise JsonataError(f"The string given to $parse is not valid JSON: {exc}") from None


# the impure built-ins, replaced so that they read the injected services

# missing bindings are undefined, which $fromMillis treats as an omitted argument
_FROM_MILLIS: Final = jsonatapy.compile("$fromMillis($ms, $picture, $zone)")


def _iso_millis(ms: int) -> str:
    """``$fromMillis(ms)``: ISO 8601 UTC with exactly three fraction digits and ``Z``."""
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _now(*args: Any) -> Any:
    _arity("now", args, 0, 2)
    ms = _current().now_millis()
    picture = args[0] if args else None
    zone = args[1] if len(args) > 1 else None
    if picture is None and zone is None:
        return _iso_millis(ms)
    bindings: dict[str, Any] = {"ms": ms}
    if picture is not None:
        bindings["picture"] = _want_str("now", args, 0)
    if zone is not None:
        bindings["zone"] = _want_str("now", args, 1)
    try:
        return _FROM_MILLIS.evaluate(None, bindings)
    except ValueError as exc:
        raise _error_from(exc) from None


def _millis(*args: Any) -> Any:
    _arity("millis", args, 0, 0)
    return _current().now_millis()


def _shuffle(*args: Any) -> Any:
    """Fisher-Yates with the services' randomness (JSONata's own would not replay)."""
    _arity("shuffle", args, 1, 1)
    items = args[0]
    if items is None:
        return None
    items = list(items) if isinstance(items, list) else [items]
    services = _current().services
    for i in range(len(items) - 1, 0, -1):
        j = min(int(services.random() * (i + 1)), i)
        items[i], items[j] = items[j], items[i]
    return items


def _pad(*args: Any) -> Any:
    """``$pad`` as JSONata defines it, refusing a width past :data:`MAX_STRING_LENGTH` (the
    built-in would allocate whatever it is asked for in one step, beyond the time limit's reach)."""
    _arity("pad", args, 2, 3)
    if args[0] is None:
        return None
    text = _want_str("pad", args, 0)
    width = args[1]
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not math.isfinite(width):
        raise _signature_error("pad", 2, "a number")
    char = args[2] if len(args) > 2 and args[2] is not None else " "
    if not isinstance(char, str):
        raise _signature_error("pad", 3, "a string")
    size = int(abs(width))
    if size > MAX_STRING_LENGTH:
        raise JsonataError(
            f"D3137: $pad would build a string of {size} characters (at most {MAX_STRING_LENGTH})"
        )
    missing = size - len(text)
    if missing <= 0:
        return text
    char = char or " "
    padding = (char * (missing // len(char) + 1))[:missing]
    return text + padding if width > 0 else padding + text


def _eval(*args: Any) -> Any:
    # AWS does not provide $eval: calling it fails as calling any undefined function does
    raise JsonataError("T1006: Attempted to invoke a non-function", "T1006")


HostFunction = Callable[..., Any]


def _host(fn: HostFunction) -> HostFunction:
    """Remember the :class:`JsonataError` a host function raises: jsonatapy passes on only its text."""

    def call(*args: Any) -> Any:
        try:
            return fn(*args)
        except JsonataError as exc:
            evaluation = _CURRENT.get()
            if evaluation is not None and evaluation.error is None:
                evaluation.error = exc
            raise

    return call


_REGISTERED: Final[dict[str, HostFunction]] = {
    "partition": _host(_partition),
    "hash": _host(_hash),
    "uuid": _host(_uuid),
    "parse": _host(_parse),
    "__durable_range": _host(_range),
}
_OVERRIDDEN: Final[dict[str, HostFunction]] = {
    "random": _host(_random),
    "now": _host(_now),
    "millis": _host(_millis),
    "shuffle": _host(_shuffle),
    "eval": _host(_eval),
    "pad": _host(_pad),
}

# What actually runs. The user's expression is evaluated inside a block, and its value comes back
# with its JSONata type, which tells an undefined result (no keys) and a function (type "function",
# which jsonatapy would hand over as None) from JSON values.
# ``$range`` is defined here rather than as a host function because a host function cannot return a
# JSONata sequence: filtering its list with ``[true]`` makes one, so that a single item collapses to
# a scalar and no items to undefined, as on AWS (``$range(1, 9, 9)`` is ``1``). A workflow variable
# named ``range`` shadows the function, as bindings shadow functions in JSONata.
_WRAPPER: Final = """(
  $range := $exists($range) ? $range : function($first, $last, $step) {
    $__durable_range($first, $last, $step)[true]
  };
  $__durable_value := (
%s
  );
  {"type": $type($__durable_value), "value": $__durable_value}
)"""


# --------------------------------------------------------------------------------------------------
# errors and results

_CODE: Final = re.compile(r"^([A-Z]{1,2}\d{4}): ?(.*)$", re.DOTALL)
_NAMED_NON_FUNCTION: Final = re.compile(r"^(Attempted to invoke a non-function): \$\S+$")


def _error_from(exc: ValueError) -> JsonataError:
    """A jsonatapy error as ``JsonataError(code, "<code>: <message>")``."""
    message = str(exc)
    match = _CODE.match(message)
    if match is None:
        return JsonataError(message)
    code, text = match.groups()
    if code == "T1006":
        # jsonatapy names the function; JSONata (and so AWS) does not
        named = _NAMED_NON_FUNCTION.match(text)
        if named is not None:
            text = named.group(1)
    return JsonataError(f"{code}: {text}", code)


_OUT_OF_RANGE: Final = 1e21  # from here on JavaScript prints numbers in exponent form


def _number(value: float) -> int | float:
    if not math.isfinite(value):
        raise JsonataError("D1001: Number out of range", "D1001")
    if value.is_integer() and -_OUT_OF_RANGE < value < _OUT_OF_RANGE:
        return int(value)
    return value


def _normalize(value: Any) -> Any:
    """Integral doubles to ``int``, in place (jsonatapy hands over fresh containers). Iterative:
    an expression can build data nested deeper than Python's recursion limit."""
    kind = type(value)
    if kind is float:
        return _number(value)
    if kind is not dict and kind is not list:
        return value
    stack: list[Any] = [value]
    while stack:
        node = stack.pop()
        entries = node.items() if type(node) is dict else enumerate(node)
        for key, item in entries:
            kind = type(item)
            if kind is float:
                node[key] = _number(item)
            elif kind is dict or kind is list:
                stack.append(item)
    return value


def _doubles(value: Any) -> Any:
    """A copy of binding data with integers beyond 64 bits as doubles (what JSONata numbers are)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return _js_int(value)
    if isinstance(value, dict):
        return {k: _doubles(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_doubles(v) for v in value]
    return value


# --------------------------------------------------------------------------------------------------
# compiled expressions


class Expression:
    """A compiled ``{% %}`` expression: immutable, reusable, shareable between executions and
    threads. It holds its text; the jsonatapy program that runs it is the current thread's (see
    :func:`use_compile_cache`: jsonatapy binds a program to the thread that compiled it)."""

    __slots__ = ("_simple", "text")

    text: str
    _simple: SimplePath | None

    def __init__(self, text: str) -> None:
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "_simple", SimplePath.parse(text))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Expression is immutable")

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def evaluate(self, bindings: Mapping[str, Any], services: Services) -> Any:
        """The value of the expression: a JSON value, or :data:`UNDEFINED`.

        Raises :class:`JsonataError` when the evaluation fails, exceeds a guardrail, or yields a
        value that is not JSON (a function)."""
        values = bindings if isinstance(bindings, dict) else dict(bindings)
        if self._simple is not None:
            direct = self._simple.evaluate(values)
            if direct is not DECLINED:
                return direct
        try:
            outcome = self._run(values, services)
        except OverflowError:
            # an integer beyond 64 bits in the data; nothing ran yet (the bindings are converted first)
            outcome = self._run({k: _doubles(v) for k, v in values.items()}, services)
        if not isinstance(outcome, dict) or "type" not in outcome:
            return UNDEFINED
        if outcome["type"] == "function":
            raise JsonataError("The expression returned an unsupported result type (a function).")
        return _normalize(outcome.get("value"))

    def _run(self, bindings: dict[str, Any], services: Services) -> Any:
        evaluation = _Evaluation(services)
        token = _CURRENT.set(evaluation)
        try:
            return _program(self.text).evaluate(
                None,
                bindings,
                timeout=EVALUATION_TIMEOUT_MS,
                max_stack_depth=MAX_DEPTH,
                max_sequence_length=MAX_SEQUENCE_LENGTH,
            )
        except ValueError as exc:
            if evaluation.error is not None:
                raise evaluation.error from None
            raise _error_from(exc) from None
        finally:
            _CURRENT.reset(token)


def compile_expression(value: str) -> Expression:
    """Compile a whole ``"{% ... %}"`` string. Raises :class:`JsonataSyntaxError`."""
    if not is_expression(value):
        raise JsonataSyntaxError(
            f"{value!r} is not a JSONata expression: it must start with '{{%' and end with '%}}'"
        )
    return _compile(expression_text(value))


_ERROR_CODE: Final = re.compile(r"^[STDU]\d{4}: ")
# jsonatapy names tokens (`RightBracket`); JSONata, and so AWS, quotes them (`"]"`)
_TOKENS: Final = {
    "LeftParen": "(",
    "RightParen": ")",
    "LeftBracket": "[",
    "RightBracket": "]",
    "LeftBrace": "{",
    "RightBrace": "}",
    "Comma": ",",
    "Dot": ".",
    "Colon": ":",
    "Semicolon": ";",
    "Pipe": "|",
    "Question": "?",
    "Plus": "+",
    "Minus": "-",
    "Star": "*",
    "Slash": "/",
    "Percent": "%",
    "Equal": "=",
    "NotEqual": "!=",
    "LessThan": "<",
    "GreaterThan": ">",
    "LessEqual": "<=",
    "GreaterEqual": ">=",
    "Ampersand": "&",
    "Caret": "^",
    "Tilde": "~",
    "At": "@",
    "Hash": "#",
    "Assign": ":=",
    "Chain": "~>",
}
_TOKEN_NAME: Final = re.compile(r"\b(" + "|".join(_TOKENS) + r")\b|\bNumber\(([^)]*)\)")


def _js_tokens(message: str) -> str:
    def quote(m: re.Match[str]) -> str:
        if m.group(1):
            return '"' + _TOKENS[m.group(1)] + '"'
        number = m.group(2)
        return '"' + (number[:-2] if number.endswith(".0") else number) + '"'

    return _TOKEN_NAME.sub(quote, message)


_CACHE_SIZE = 2048
_SHARED_CACHE: dict[str, Any] = {}


def _shared_cache() -> dict[str, Any]:
    return _SHARED_CACHE


#: where compiled expressions are kept: jsonatapy binds a compiled program to the thread that made
#: it (and it must be dropped there too), so the runtime, which knows threads (this module does
#: not), installs a per-thread cache with :func:`use_compile_cache`
_cache_of: Callable[[], dict[str, Any]] = _shared_cache


def use_compile_cache(cache_of: Callable[[], dict[str, Any]]) -> None:
    """Keep compiled expressions in the dict ``cache_of()`` returns (the runtime: the thread's)."""
    global _cache_of
    _cache_of = cache_of


_EXPRESSIONS: dict[str, Expression] = {}  # thread-agnostic: shared by every thread


def _compile(text: str) -> Expression:
    found = _EXPRESSIONS.get(text)
    if found is None:
        _program(text)  # compiled (and checked) in this thread now; other threads compile their own
        found = Expression(text)
        if len(_EXPRESSIONS) >= _CACHE_SIZE:
            _EXPRESSIONS.pop(next(iter(_EXPRESSIONS)), None)  # the oldest
        _EXPRESSIONS[text] = found
    return found


def _program(text: str) -> jsonatapy.JsonataExpression:
    cache = _cache_of()
    found = cache.get(text)
    if found is None:
        found = _compile_new(text)
        if len(cache) >= _CACHE_SIZE:
            del cache[next(iter(cache))]  # the oldest
        cache[text] = found
    return found


def _compile_new(text: str) -> jsonatapy.JsonataExpression:
    if not text:
        raise JsonataSyntaxError("The JSONata expression is empty", "Unexpected end of expression")
    try:
        # the text alone first: the wrapper's block would accept top-level ';' that JSONata rejects
        jsonatapy.compile(text)
        program = jsonatapy.compile(_WRAPPER % text)
    except ValueError as exc:
        message = str(exc).removeprefix("Parse error: ")
        detail = _js_tokens(_ERROR_CODE.sub("", message.removeprefix("Invalid syntax: "), count=1))
        raise JsonataSyntaxError(f"Invalid JSONata expression '{text}': {message}", detail) from None
    for name, fn in _REGISTERED.items():
        program.register(name, fn)
    for name, fn in _OVERRIDDEN.items():
        program.register_override(name, fn)
    return program
