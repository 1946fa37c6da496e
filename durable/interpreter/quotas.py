"""AWS Step Functions' quotas, as one value: enforced as AWS enforces them, or relaxed for local use.

``Quotas()`` is AWS's: 256 KiB payloads, 25,000 history events per execution, 1 MB definitions,
5 minutes per Express execution. ``Quotas.relaxed()`` lifts them all (``None`` means no limit),
for local experiments with data or runs larger than AWS allows; a definition that depends on it
will not run on AWS. Name rules (80 characters, no whitespace or wildcards) are not quotas and are
never relaxed.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Quotas"]


@dataclass(frozen=True, slots=True)
class Quotas:
    payload_bytes: int | None = 262_144
    """Execution input, state input/output, task results, task-token outputs, variables
    (``States.DataLimitExceeded`` inside an execution, ``InvalidExecutionInput`` /
    ``InvalidOutput`` at the API)."""

    history_events: int | None = 25_000
    """Events in one Standard execution's history; the execution fails as AWS fails it: event
    25,000 is ``ExecutionFailed`` (``States.Runtime``) unless it is ``ExecutionSucceeded``."""

    definition_bytes: int | None = 1_048_576
    """A state machine definition, in UTF-8 bytes (``ValidationException``)."""

    express_seconds: float | None = 300.0
    """The longest an Express execution runs (``States.Timeout``)."""

    @classmethod
    def aws(cls) -> Quotas:
        return cls()

    @classmethod
    def relaxed(cls) -> Quotas:
        return cls(payload_bytes=None, history_events=None, definition_bytes=None, express_seconds=None)
