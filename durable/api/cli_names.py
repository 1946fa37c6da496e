"""State machines, executions and activities by name where the CLI expects an ARN.

* a state machine: its ARN, or its name (``arn:aws:states:REGION:ACCOUNT:stateMachine:NAME``);
* an execution: its ARN, ``MACHINE:NAME``, or a bare ``NAME`` when exactly one execution of the
  database has that name (otherwise the error lists the candidates);
* an activity: its ARN or its name.
"""

from __future__ import annotations

from ..runtime.session import Session
from .cli_common import CliError

__all__ = ["activity_arn", "execution_arn", "state_machine_arn"]

_CANDIDATES_SHOWN = 10


def state_machine_arn(engine: Session, text: str) -> str:
    """``text`` when it is an ARN, else the ARN of the state machine named ``text``."""
    if text.startswith("arn:"):
        return text
    return f"arn:aws:states:{engine.region}:{engine.account}:stateMachine:{text}"


def activity_arn(engine: Session, text: str) -> str:
    """``text`` when it is an ARN, else the ARN of the activity named ``text``."""
    if text.startswith("arn:"):
        return text
    return f"arn:aws:states:{engine.region}:{engine.account}:activity:{text}"


async def execution_arn(engine: Session, text: str, where: str = "the database") -> str:
    """The execution ARN ``text`` names: an ARN, ``MACHINE:NAME`` or a unique execution name."""
    if text.startswith("arn:"):
        return text
    if not text.strip():
        raise CliError("the execution is missing: give its ARN, MACHINE:NAME or its name")
    machine, colon, name = text.rpartition(":")
    if colon:
        if not machine or not name:
            raise CliError(f"bad execution {text!r}: expected an ARN, MACHINE:NAME or NAME")
        return f"arn:aws:states:{engine.region}:{engine.account}:execution:{machine}:{name}"
    matches = [e.execution_arn for e in await engine.list_executions() if e.name == text]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise CliError(f"no execution named {text!r} in {where} (`durable executions` lists them)")
    shown = [_short(arn) for arn in matches[:_CANDIDATES_SHOWN]]
    more = f" and {len(matches) - len(shown)} more" if len(matches) > len(shown) else ""
    raise CliError(
        f"{len(matches)} executions are named {text!r}: {', '.join(shown)}{more}; "
        "give one as MACHINE:NAME or by its ARN"
    )


def _short(arn: str) -> str:
    """``MACHINE:NAME`` of an execution ARN (the ARN itself when it is not one)."""
    parts = arn.split(":", 6)
    return parts[6] if len(parts) == 7 and parts[5] == "execution" else arn
