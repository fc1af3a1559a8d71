"""The clock: time is executed instructions, so runs are deterministic."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Clock:
    """Counts instructions; one tick is `tick_insns` of them (xv6's timer interrupt)."""

    tick_insns: int = 100_000
    now: int = 0  # simulated time, in instructions
    instructions: int = 0  # instructions really executed

    @property
    def ticks(self) -> int:
        return self.now // self.tick_insns

    def advance(self, executed: int) -> None:
        self.now += executed
        self.instructions += executed

    def jump_to_tick(self, tick: int) -> None:
        """Every process sleeps: skip ahead to the next wake-up."""
        self.now = max(self.now, tick * self.tick_insns)
