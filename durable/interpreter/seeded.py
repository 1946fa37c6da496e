"""Seeded randomness, shared by both query languages: ``States.MathRandom(start, end, seed)``
and JSONata's ``$random(seed)`` are pure functions of their seed (SplitMix64 of it)."""

from __future__ import annotations

from typing import Final

__all__ = ["seeded_bits"]

_MASK64: Final = (1 << 64) - 1


def seeded_bits(seed: int) -> int:
    """64 well-mixed bits determined by ``seed`` (any integer; taken modulo 2**64)."""
    z = ((seed & _MASK64) + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)
