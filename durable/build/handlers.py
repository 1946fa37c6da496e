"""Retry and Catch: how a Task, Parallel or Map state recovers from an error.

``Retry(["Busy"], interval_seconds=2, max_attempts=3, backoff_rate=2)`` and
``Catch(["States.ALL"], handler, result_path="$.error")``. ``error_equals`` is a list of error
names, or one name. A catcher's ``next`` is a state, a chain (its first state; the chain's links
stand), or a state's name; one ``Catch`` value may serve several states.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, Unpack

from .fields import CatchFields, RetryFields, allowed, converted
from .state import Target, target_name

__all__ = ["Catch", "Retry"]


def _errors(error_equals: str | Sequence[str]) -> list[str]:
    return [error_equals] if isinstance(error_equals, str) else list(error_equals)


def _check(kind: str, keywords: dict[str, Any], fields_type: type) -> None:
    accepted = allowed(fields_type)
    for key in keywords:
        if key not in accepted:
            raise TypeError(f"{kind}() got an unexpected keyword argument {key!r}")


class Retry:
    """One retrier: which errors, how often, how long between attempts."""

    def __init__(self, error_equals: str | Sequence[str], **keywords: Unpack[RetryFields]) -> None:
        _check("Retry", dict(keywords), RetryFields)
        self.error_equals = _errors(error_equals)
        self._fields = converted(keywords)

    def to_dict(self) -> dict[str, Any]:
        return {"ErrorEquals": list(self.error_equals), **copy.deepcopy(self._fields)}

    def __repr__(self) -> str:
        return f"Retry({self.to_dict()!r})"


class Catch:
    """One catcher: which errors, where to go, what to keep of the error."""

    def __init__(
        self, error_equals: str | Sequence[str], next: Target, **keywords: Unpack[CatchFields]
    ) -> None:
        _check("Catch", dict(keywords), CatchFields)
        self.error_equals = _errors(error_equals)
        self.next = next
        self._fields = converted(keywords)

    def emit(self) -> dict[str, Any]:
        return {
            "ErrorEquals": list(self.error_equals),
            **copy.deepcopy(self._fields),
            "Next": target_name(self.next),
        }

    def __repr__(self) -> str:
        return f"Catch({self.error_equals!r}, {target_name(self.next)!r})"
