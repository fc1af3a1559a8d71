"""NRU: evict from the lowest non-empty class of (referenced, modified).

Source: Tanenbaum, Modern Operating Systems, 3.4.2. Class 0 = not referenced, clean;
1 = not referenced, dirty; 2 = referenced, clean; 3 = referenced, dirty. The A bits are
cleared at every sampling tick, so "referenced" means "since the last tick". Within a class
the victim is chosen at random (seeded), as the book says.
"""

from __future__ import annotations

from collections.abc import Collection

from pagelab.kernel.mm.policy.base import AccessBits, Policy


class Nru(Policy):
    name = "nru"

    def __init__(self, bits: AccessBits, seed: int = 0) -> None:
        super().__init__(bits, seed)
        self.resident: dict[int, None] = {}

    def mapped(self, frame: int) -> None:
        self.resident[frame] = None

    def freed(self, frame: int) -> None:
        self.resident.pop(frame, None)

    def tick(self) -> None:
        for f in self.resident:
            self.bits.clear_young(f)

    def victim(self, candidates: Collection[int]) -> int:
        classes: list[list[int]] = [[], [], [], []]
        for f in self.resident:
            if f in candidates:
                classes[2 * self.bits.young(f) + self.bits.dirty(f)].append(f)
        lowest = next(c for c in classes if c)
        return lowest[self.rng.randrange(len(lowest))]
