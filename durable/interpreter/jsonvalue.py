"""What counts as a JSON value here, checked where values enter: strict encoding and parsing.

AWS Step Functions moves JSON text between states; a value it cannot write as JSON text never
exists there. Python values are looser, so every value that enters an execution from outside —
an execution's input, a task's result, a task token's output, a definition, a string parsed by
``States.StringToJson`` or ``$parse`` — is held to the same rules:

* it encodes as JSON text: strings are valid Unicode (no lone surrogate), keys are strings,
  numbers are finite (no NaN, no Infinity);
* it nests at most :data:`MAX_DEPTH` arrays/objects deep;
* a number in JSON text has at most :data:`MAX_NUMBER_LENGTH` characters.

The last two are the defaults of the JSON parser AWS's services are built on (Jackson's
``StreamReadConstraints``: nesting depth 1,000, number length 1,000); the depth here is lower
because every level costs this interpreter a Python stack frame, and a value nested 1,000
levels deep would exhaust Python's stack before it could be refused.
"""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec

__all__ = ["MAX_DEPTH", "MAX_NUMBER_LENGTH", "NotJson", "json_text", "parse_json", "parse_json_text"]

MAX_DEPTH = 500
MAX_NUMBER_LENGTH = 1000

_encode = msgspec.json.encode


class NotJson(ValueError):
    """The value (or text) is not JSON as Step Functions accepts it; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def json_text(value: Any, max_depth: int = MAX_DEPTH) -> bytes:
    """``value`` as compact JSON text (UTF-8); :class:`NotJson` when it is not a JSON value."""
    try:
        text = _encode(value)
    except RecursionError:
        raise NotJson(f"it is nested more than {max_depth} levels deep") from None
    except UnicodeEncodeError:
        raise NotJson("a string holds a lone surrogate (it is not valid Unicode)") from None
    except (TypeError, ValueError, OverflowError, msgspec.EncodeError) as exc:
        raise NotJson(str(exc)) from None
    if b"null" in text and not _finite(value):  # msgspec writes NaN and Infinity as null
        raise NotJson("NaN and Infinity are not JSON numbers")
    if text.count(b"[") + text.count(b"{") > max_depth and text_depth(text, max_depth) > max_depth:
        raise NotJson(f"it is nested more than {max_depth} levels deep")
    return text


def parse_json(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON text strictly (see the module docstring); :class:`NotJson` when it is not."""
    return parse_json_text(text, max_depth)[0]


def parse_json_text(text: str | bytes, max_depth: int = MAX_DEPTH) -> tuple[Any, bytes]:
    """:func:`parse_json`, and the value's compact JSON text (the check makes it anyway)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NotJson(f"the text is not valid UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_int=_int, parse_float=_float)
    except RecursionError:
        raise NotJson(f"it is nested more than {max_depth} levels deep") from None
    return value, json_text(value, max_depth)  # surrogates from \\u escapes, depth


_ALL_CURLY = bytes.maketrans(b"[]", b"{}")
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')


def text_depth(text: bytes, limit: int) -> int:
    """How deep JSON ``text`` nests, or ``limit + 1`` once it is known to be deeper.

    The escapes go first (a backslash only ever appears inside a string); then all but quotes
    and brackets (as ``{`` and ``}``), which leaves a string holding no bracket as ``""``, gone
    next; the few strings left (holding brackets) go too; each pass then removes the innermost
    pairs, so the number of passes is the depth. All at C speed, where walking the value would
    visit every object."""
    if b"\\" in text:
        text = text.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = text.translate(_ALL_CURLY, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in brackets:
        brackets = b"".join(brackets.split(b'"')[::2])
    level = 0
    while brackets:
        if level > limit:
            return level
        brackets = brackets.replace(b"{}", b"")
        level += 1
    return level


def _finite(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return False
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return True


def _no_constant(name: str) -> Any:
    raise NotJson(f"'{name}' is not a JSON number")


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_LENGTH:
        raise NotJson(f"a number is longer than {MAX_NUMBER_LENGTH} characters ({len(text)})")
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_LENGTH:
        raise NotJson(f"a number is longer than {MAX_NUMBER_LENGTH} characters ({len(text)})")
    value = float(text)
    if not math.isfinite(value):  # 1e999
        raise NotJson(f"the number {text[:40]} is out of range")
    return value
