"""The pure ASL interpreter: no I/O, clock, randomness or event loop (all injected)."""
