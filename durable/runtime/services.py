"""The non-deterministic services the interpreter receives: time, ids, randomness, tokens."""

from __future__ import annotations

import random

from .clock import Clock
from .journal import new_task_token

__all__ = ["RuntimeServices"]


class RuntimeServices:
    """Implements the interpreter's ``Services`` protocol on top of a :class:`Clock`."""

    __slots__ = ("_rng", "clock", "now")

    def __init__(self, clock: Clock, seed: int | None = None) -> None:
        self.clock = clock
        self.now = clock.now
        self._rng = random.Random(seed)

    def uuid4(self) -> str:
        h = f"{self._rng.getrandbits(128):032x}"
        variant = "89ab"[int(h[16], 16) & 3]
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:32]}"

    def random(self) -> float:
        return self._rng.random()

    def random_int(self, start: int, end: int) -> int:
        return self._rng.randint(min(start, end), max(start, end))

    def task_token(self) -> str:
        # from the OS CSPRNG: unguessable whatever seed the rest uses
        return new_task_token()
