"""NFU (not frequently used): a counter per page adds its A bit at every sampling tick.

Source: Tanenbaum, Modern Operating Systems, 3.4.7. The victim has the smallest count
(the oldest loaded among equals). Unlike aging the count never forgets, which is NFU's
known flaw: a page heavily used long ago outlives one in use now.
"""

from __future__ import annotations

from collections.abc import Collection

from pagelab.kernel.mm.policy.base import AccessBits, Policy


class Nfu(Policy):
    name = "nfu"

    def __init__(self, bits: AccessBits, seed: int = 0) -> None:
        super().__init__(bits, seed)
        self.count: dict[int, int] = {}  # in load order

    def mapped(self, frame: int) -> None:
        self.count[frame] = 0

    def freed(self, frame: int) -> None:
        self.count.pop(frame, None)

    def tick(self) -> None:
        for f in self.count:
            if self.bits.clear_young(f):
                self.count[f] += 1

    def victim(self, candidates: Collection[int]) -> int:
        return min((f for f in self.count if f in candidates), key=self.count.__getitem__)
