"""The nesting depth of JSON text, counted on the text, equals the depth of the value."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from durable.interpreter.jsonvalue import MAX_DEPTH, NotJson, json_text, text_depth


# the reference: the depth counted on the value itself
def depth(value: Any) -> int:
    """How many arrays/objects deep ``value`` nests (without recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in item if isinstance(v, (dict, list)))
    return deepest


# strings full of what could confuse a count on the text: brackets, quotes, backslashes
tricky = st.text(alphabet='[]{}"\\ab', max_size=6)
values = st.recursive(
    st.none() | st.booleans() | st.integers() | tricky,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(tricky, inner, max_size=4),
    max_leaves=40,
)


@settings(max_examples=400)
@given(values)
def test_text_depth_is_the_depth_of_the_value(value: Any) -> None:
    assert text_depth(msgspec.json.encode(value), MAX_DEPTH) == depth(value)


@pytest.mark.parametrize("levels", [MAX_DEPTH, MAX_DEPTH + 1])
def test_json_text_refuses_only_what_nests_too_deep(levels: int) -> None:
    value: Any = "x"
    for i in range(levels):
        value = [value] if i % 2 else {"k": value}
    if levels > MAX_DEPTH:
        with pytest.raises(NotJson, match="nested more than"):
            json_text(value)
    else:
        assert json_text(value)


def test_a_wide_value_is_not_deep() -> None:
    wide = {"items": [{"sku": f"[{i}]", "tags": ["{", "}"]} for i in range(2000)]}
    assert text_depth(msgspec.json.encode(wide), MAX_DEPTH) == 4
    assert json_text(wide)
