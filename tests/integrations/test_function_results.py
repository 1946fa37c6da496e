"""A local function's result comes back as Lambda's JSON marshalling makes it, whichever way it
is computed (the quick msgspec way for plain JSON values, the standard library's otherwise)."""

from __future__ import annotations

import datetime
import enum
import math
from typing import Any

import pytest

from durable.integrations.functions import _decode, _encode, _marshalled
from durable.interpreter.failure import StatesFailure


class Colour(enum.IntEnum):
    RED = 1


class Name(enum.StrEnum):
    ADA = "ada"


@pytest.mark.parametrize(
    "value",
    [
        None,
        0,
        -0.0,
        1.5,
        10**18,
        10**30,  # beyond 64 bits
        "text",
        "é ☃ \U0001f600",
        True,
        [],
        {},
        {"a": [1, 2.5, {"b": None}], "c": True},
        (1, 2),  # a tuple comes back a list
        {1: "one"},  # a key that is not a string comes back a string
        {"a": (1, [2, (3,)])},
        [Colour.RED, Name.ADA],
        "lone \ud800 surrogate",
        b"raw body",
        bytearray(b'{"a": 1}'),
    ],
)
def test_the_same_as_through_json(value: Any) -> None:
    expected = _decode(_encode(value))
    got = _marshalled(value)
    assert got == expected and type(got) is type(expected)
    assert repr(got) == repr(expected)


def test_nan_comes_back_as_json_nan() -> None:
    got = _marshalled({"x": math.nan})
    assert math.isnan(got["x"])


@pytest.mark.parametrize("value", [datetime.datetime(2024, 1, 1), {1, 2}, object()])
def test_what_lambda_cannot_marshal_still_fails(value: Any) -> None:
    with pytest.raises(StatesFailure) as info:
        _marshalled(value)
    assert info.value.error == "Runtime.MarshalError"
