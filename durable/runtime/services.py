"""The non-deterministic services the interpreter receives: time, ids, randomness, tokens."""

from __future__ import annotations

import random

from .clock import Clock
from .journal import new_task_token

__all__ = ["RuntimeServices"]

_UUID_KEEP = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)
_UUID_SET = (0x4 << 76) | (0x2 << 62)  # version 4, RFC 4122 variant
_PAIR_KEEP = (_UUID_KEEP << 128) | _UUID_KEEP
_PAIR_SET = (_UUID_SET << 128) | _UUID_SET


def _uuid_text(bits: int) -> str:
    h = ((bits & _UUID_KEEP) | _UUID_SET).to_bytes(16, "big").hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _uuid_pair(bits: int) -> tuple[str, str]:
    h = ((bits & _PAIR_KEEP) | _PAIR_SET).to_bytes(32, "big").hex()
    return (
        f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}",
        f"{h[32:40]}-{h[40:44]}-{h[44:48]}-{h[48:52]}-{h[52:]}",
    )


class RuntimeServices:
    """Implements the interpreter's ``Services`` protocol on top of a :class:`Clock`."""

    __slots__ = ("_rng", "clock", "now")

    def __init__(self, clock: Clock, seed: int | None = None) -> None:
        self.clock = clock
        self.now = clock.now
        self._rng = random.Random(seed)

    def uuid4(self) -> str:
        return _uuid_text(self._rng.getrandbits(128))

    def execution_name(self) -> str:
        """A generated name for a Standard execution: a version-4 UUID whose first 48 bits are
        the clock's milliseconds, the other 74 random ("COMB"). Names generated one after
        another sort together, so the store's index of execution ARNs grows at one end instead
        of taking every new execution on a random page of a large index."""
        millis = int(self.clock.now() * 1000) & ((1 << 48) - 1)
        return _uuid_text((millis << 80) | self._rng.getrandbits(80))

    def uuid4_pair(self) -> tuple[str, str]:
        """Two version-4 UUIDs from one draw (an Express execution's name and ARN suffix)."""
        return _uuid_pair(self._rng.getrandbits(256))

    def random(self) -> float:
        return self._rng.random()

    def random_int(self, start: int, end: int) -> int:
        return self._rng.randint(min(start, end), max(start, end))

    def task_token(self) -> str:
        # from the OS CSPRNG: unguessable whatever seed the rest uses
        return new_task_token()
