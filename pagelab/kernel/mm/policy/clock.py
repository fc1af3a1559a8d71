"""Clock (second chance): FIFO, but a page whose A bit is set gets another round.

Source: Corbató, "A paging experiment with the Multics system", 1968; Tanenbaum, Modern
Operating Systems, 3.4.4-3.4.5; OSTEP 22.8. The hand sweeps the frames in load order,
clearing A bits, and stops at the first page not used since the hand last passed it.
"""

from __future__ import annotations

from collections.abc import Collection

from pagelab.kernel.mm.policy.base import AccessBits, Policy


class Clock(Policy):
    name = "clock"

    def __init__(self, bits: AccessBits, seed: int = 0) -> None:
        super().__init__(bits, seed)
        self.ring: dict[int, None] = {}  # the circle, starting at the hand

    def mapped(self, frame: int) -> None:
        self.ring[frame] = None  # a new page goes just behind the hand

    def freed(self, frame: int) -> None:
        self.ring.pop(frame, None)

    def victim(self, candidates: Collection[int]) -> int:
        # Two sweeps at most: the first clears every A bit it passes.
        for _ in range(2 * len(self.ring)):
            f = next(iter(self.ring))
            del self.ring[f]
            self.ring[f] = None  # the hand moves past f
            if f in candidates and not self.bits.clear_young(f):
                return f
        return next(f for f in self.ring if f in candidates)
