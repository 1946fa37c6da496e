"""Contract: what the event bus keeps in a store (both stores).

Rules and targets are ``metadata`` entries listed by their parent (a rule's bus, a target's
rule); an accepted event is an ``event`` request in the inbox until its delivery consumes it.
"""

from __future__ import annotations

from durable.store import Store
from durable.store.base import MetadataRecord, RequestRecord, WriteBatch


def _rule(arn: str, bus: str, created: float) -> MetadataRecord:
    return MetadataRecord(kind="event-rule", arn=arn, parent=bus, body='{"Name":"r"}', created=created)


async def test_rules_and_targets_are_listed_by_parent(store: Store) -> None:
    await store.commit(
        WriteBatch(
            metadata=[
                _rule("rule/a", "default", 1.0),
                _rule("rule/orders/a", "orders", 2.0),
                MetadataRecord(kind="event-target", arn="rule/a|t2", parent="rule/a", body="{}", created=4.0),
                MetadataRecord(kind="event-target", arn="rule/a|t1", parent="rule/a", body="{}", created=3.0),
            ]
        )
    )
    assert [r.arn for r in await store.list_metadata("event-rule", "default")] == ["rule/a"]
    assert [r.arn for r in await store.list_metadata("event-rule", "orders")] == ["rule/orders/a"]
    assert [t.arn for t in await store.list_metadata("event-target", "rule/a")] == ["rule/a|t1", "rule/a|t2"]
    await store.commit(WriteBatch(deleted_metadata=[("event-rule", "rule/a"), ("event-target", "rule/a|t1")]))
    assert await store.list_metadata("event-rule", "default") == []
    assert [t.arn for t in await store.list_metadata("event-target", "rule/a")] == ["rule/a|t2"]


async def test_accepted_events_stay_in_the_inbox_until_consumed(store: Store) -> None:
    events = [
        RequestRecord(
            ref=f"e{i}", execution_arn="event-bus/default", kind="event", created=1.0, payload=f'{{"i":{i}}}'
        )
        for i in range(3)
    ]
    await store.commit(WriteBatch(requests=events))
    found = await store.requests()
    assert [(r.ref, r.kind, r.payload) for r in found] == [(e.ref, "event", e.payload) for e in events]
    await store.commit(WriteBatch(consumed_requests=["e1"]))
    assert [r.ref for r in await store.requests()] == ["e0", "e2"]
    assert [r.ref for r in await store.requests(after=found[0].id)] == ["e2"]
