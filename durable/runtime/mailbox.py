"""Mailboxes: the answers and activity starts that arrived for a task token, until its lane takes them.

A message (an inbox request's content) may arrive while the lane awaiting the token is waiting,
while it still replays its journal, before it has even asked (an early callback during the task's
submission), or while its execution is parked. It waits here, keyed by execution and token, and
the lane takes it when it reaches its wait (see :mod:`durable.runtime.replay`).
"""

from __future__ import annotations

from ..store.base import RequestRecord
from .requests import ActivityStart, Answer, message_of

__all__ = ["Mailboxes"]

Message = Answer | ActivityStart


class Mailboxes:
    """Messages by execution ARN and task token."""

    def __init__(self) -> None:
        self._boxes: dict[str, dict[str, list[Message]]] = {}

    def __bool__(self) -> bool:
        return bool(self._boxes)

    def __contains__(self, arn: object) -> bool:
        return arn in self._boxes

    def post(self, request: RequestRecord) -> None:
        """Keep an ANSWER or ACTIVITY_STARTED request's message (once, however often posted)."""
        message = message_of(request)
        assert isinstance(message, (Answer, ActivityStart))
        box = self._boxes.setdefault(request.execution_arn, {}).setdefault(request.token or "", [])
        if all(m.ref != message.ref for m in box):
            box.append(message)

    def has(self, arn: str, token: str) -> bool:
        return bool(self._boxes.get(arn, {}).get(token))

    def take(self, arn: str, token: str) -> Message | None:
        """The next message for the token: an activity start comes before its answer, whatever
        order they arrived in."""
        boxes = self._boxes.get(arn)
        if boxes is None or not boxes.get(token):
            return None
        box = boxes[token]
        index = next((i for i, m in enumerate(box) if isinstance(m, ActivityStart)), 0)
        message = box.pop(index)
        if not box:
            del boxes[token]
            if not boxes:
                del self._boxes[arn]
        return message

    def clear(self, arn: str) -> list[str]:
        """Drop every message of the execution (it ended); return their request refs."""
        return [m.ref for messages in self._boxes.pop(arn, {}).values() for m in messages]
