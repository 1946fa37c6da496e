"""WriteBatch.is_empty names every field (it is spelled out for speed)."""

from __future__ import annotations

import pytest

from durable.store.base import WriteBatch


def test_a_new_batch_is_empty() -> None:
    assert WriteBatch().is_empty()


@pytest.mark.parametrize("field", WriteBatch.__struct_fields__)
def test_any_field_makes_a_batch_not_empty(field: str) -> None:
    batch = WriteBatch()
    getattr(batch, field).append(object())
    assert not batch.is_empty()
