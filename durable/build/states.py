"""The states that hold no other states: Pass, Task, Wait, Succeed and Fail.

Each takes its name, what it cannot do without (a Task's ``Resource``), and its other ASL fields
as keywords (:mod:`.fields`): JSONPath ones (``input_path``, ``parameters``, ``result_selector``,
``result_path``, ``output_path``) or JSONata ones (``arguments``, ``output``, ``assign``), with
``query_language=`` per state. ``Next``/``End`` come from the chain.
"""

from __future__ import annotations

from typing import ClassVar, Unpack

from .fields import FailFields, PassFields, SucceedFields, TaskFields, WaitFields
from .state import State

__all__ = ["Fail", "Pass", "Succeed", "Task", "Wait"]


class Pass(State):
    """Passes its input on, or a fixed ``result=``, or a reshaped one (``parameters``/``output``)."""

    TYPE: ClassVar[str] = "Pass"
    _fields_type = PassFields

    def __init__(self, name: str, **keywords: Unpack[PassFields]) -> None:
        super().__init__(name, keywords)


class Task(State):
    """Runs ``resource`` (a Lambda function ARN, an activity, or an integration such as
    ``arn:aws:states:::lambda:invoke``), with ``parameters``/``arguments``, ``timeout_seconds``,
    ``heartbeat_seconds``, ``credentials``, ``retry`` and ``catch``."""

    TYPE: ClassVar[str] = "Task"
    _fields_type = TaskFields
    _positional = frozenset({"resource"})

    def __init__(self, name: str, resource: str, **keywords: Unpack[TaskFields]) -> None:
        super().__init__(name, {"resource": resource, **keywords})


class Wait(State):
    """Waits ``seconds``, until ``timestamp``, or as long as ``seconds_path``/``timestamp_path`` say."""

    TYPE: ClassVar[str] = "Wait"
    _fields_type = WaitFields

    def __init__(self, name: str, **keywords: Unpack[WaitFields]) -> None:
        super().__init__(name, keywords)


class Succeed(State):
    """Ends its ``States`` object successfully."""

    TYPE: ClassVar[str] = "Succeed"
    _fields_type = SucceedFields
    _terminal = True

    def __init__(self, name: str, **keywords: Unpack[SucceedFields]) -> None:
        super().__init__(name, keywords)


class Fail(State):
    """Fails the execution with ``error`` and ``cause`` (or ``error_path``/``cause_path``)."""

    TYPE: ClassVar[str] = "Fail"
    _fields_type = FailFields
    _terminal = True

    def __init__(self, name: str, **keywords: Unpack[FailFields]) -> None:
        super().__init__(name, keywords)
