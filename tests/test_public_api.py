"""The public API is pinned: ``durable.__all__`` and the signature of every public name (and of
every public method of the public classes) must match ``tests/public_api.txt``.

Changing the public API is a deliberate act: regenerate the snapshot with
``python tests/test_public_api.py --update``, review the diff, and add a CHANGELOG line.
"""

from __future__ import annotations

import difflib
import enum
import inspect
import sys
from pathlib import Path

import durable

SNAPSHOT = Path(__file__).with_name("public_api.txt")


def _signature(obj: object) -> str:
    try:
        return str(inspect.signature(obj))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "(...)"


def describe() -> str:
    lines = [f"__all__ = {sorted(durable.__all__)}"]
    for name in sorted(durable.__all__):
        obj = getattr(durable, name)
        if inspect.isclass(obj):
            bases = ", ".join(b.__name__ for b in obj.__bases__)
            lines.append(f"class {name}({bases})")
            if issubclass(obj, enum.Enum):
                lines.extend(f"    {member.name} = {member.value!r}" for member in obj)
                continue
            if issubclass(obj, BaseException):
                lines.append(f"    __init__{_signature(obj)}")
                continue
            lines.append(f"    __init__{_signature(obj)}")
            for attr, value in sorted(vars(obj).items()):
                if attr.startswith("_"):
                    continue
                if isinstance(value, property):
                    lines.append(f"    {attr}: property")
                elif inspect.isfunction(value) or inspect.iscoroutinefunction(value):
                    kind = "async def" if inspect.iscoroutinefunction(value) else "def"
                    lines.append(f"    {kind} {attr}{_signature(value)}")
            for base in obj.__mro__[1:]:  # inherited public methods of non-public bases
                if base.__module__.startswith("durable.") and base.__name__ not in durable.__all__:
                    for attr, value in sorted(vars(base).items()):
                        if attr.startswith("_") or attr in vars(obj):
                            continue
                        if inspect.isfunction(value):
                            kind = "async def" if inspect.iscoroutinefunction(value) else "def"
                            lines.append(f"    {kind} {attr}{_signature(value)}  # from {base.__name__}")
        elif callable(obj):
            kind = "async def" if inspect.iscoroutinefunction(obj) else "def"
            lines.append(f"{kind} {name}{_signature(obj)}")
        else:
            lines.append(f"{name}: {type(obj).__name__}")
    return "\n".join(lines) + "\n"


def test_the_public_api_matches_the_snapshot() -> None:
    expected = SNAPSHOT.read_text()
    actual = describe()
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), "snapshot", "now")
        )
        raise AssertionError(
            "the public API changed; if that is intended, run `python tests/test_public_api.py --update`"
            f" and add a CHANGELOG line:\n{diff}"
        )


if __name__ == "__main__":
    if "--update" in sys.argv:
        SNAPSHOT.write_text(describe())
        print(f"wrote {SNAPSHOT}")
    else:
        print(describe(), end="")
