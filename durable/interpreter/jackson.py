"""JSON syntax errors worded as AWS words them.

AWS parses JSON text with Jackson, and its messages reach users verbatim: StartExecution's
``InvalidExecutionInput`` and ValidateStateMachineDefinition's ``INVALID_JSON_DESCRIPTION``
diagnostic (whose ``location`` is Jackson's ``[Source: (String)"..."; line: L, column: C]``,
recorded). Python's JSON parser reports the same faults in its own words and at the start of a
bad token, where Jackson reports after it; this module translates.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

__all__ = ["JacksonError", "jackson_error"]

_WORD = re.compile(r"[^\s\[\]{},:\"]+")
_SOURCE_LIMIT = 500  # Jackson shows at most this many characters of the source


@dataclass(frozen=True, slots=True)
class JacksonError:
    reason: str  # e.g. "Unrecognized token 'not': was expecting (...)"
    line: int
    column: int
    source: str

    @property
    def location(self) -> str:
        text = self.source
        if len(text) > _SOURCE_LIMIT:
            text = f'{text[:_SOURCE_LIMIT]}"[truncated {len(text) - _SOURCE_LIMIT} chars]'
            return f'[Source: (String)"{text}; line: {self.line}, column: {self.column}]'
        return f'[Source: (String)"{text}"; line: {self.line}, column: {self.column}]'

    @property
    def message(self) -> str:
        """The reason followed by its location, as Jackson's exception message reads."""
        return f"{self.reason}\n at {self.location}"


def jackson_error(exc: json.JSONDecodeError) -> JacksonError:
    """Jackson's reading of the fault Python's parser found in ``exc.doc``."""
    doc, pos = exc.doc, exc.pos
    line, column = exc.lineno, exc.colno
    ch = doc[pos] if pos < len(doc) else ""
    if not ch:
        reason = "Unexpected end-of-input: expected close marker for Object"
        return JacksonError(reason, line, column, doc)
    if exc.msg.startswith("Expecting property name"):
        reason = (
            f"Unexpected character ('{ch}' (code {ord(ch)})): was expecting double-quote to start field name"
        )
        return JacksonError(reason, line, column + 1, doc)
    if exc.msg == "Expecting value":
        word = _WORD.match(doc, pos)
        token = word.group(0) if word else ch
        reason = (
            f"Unrecognized token '{token}': was expecting (JSON String, Number, Array, Object or token "
            "'null', 'true' or 'false')"
        )
        return JacksonError(reason, line, column + len(token), doc)
    return JacksonError(f"{exc.msg} at line {line}, column {column}", line, column, doc)
