"""Clock (second chance): FIFO, but a page whose A bit is set gets another round.

Source: Corbató, "A paging experiment with the Multics system", 1968; Tanenbaum, Modern
Operating Systems, 3.4.4-3.4.5; OSTEP 22.8. The hand sweeps the frames in load order,
clearing A bits, and stops at the first page not used since the hand last passed it.
The reference that loads a page sets its A bit, as the restarted instruction does in the
kernel. `young=0` is libCacheSim's Clock (its default init_freq=0): the loading reference
leaves the bit clear, so a page never used again goes at the hand's first pass.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, ClassVar

from pagelab.kernel.mm.policy.base import AccessBits, Params, Policy


class Clock(Policy):
    name = "clock"
    young: int = 1
    PARAMS: ClassVar[Params] = {"young": (0, 1)}

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        cls.wants_references = not cls.young  # to tell the loading reference apart

    def __init__(self, bits: AccessBits, seed: int = 0) -> None:
        super().__init__(bits, seed)
        self.ring: dict[int, None] = {}  # the circle, starting at the hand
        self.fresh = -1

    def mapped(self, frame: int) -> None:
        self.ring[frame] = None  # a new page goes just behind the hand
        self.fresh = frame

    def referenced(self, frame: int) -> None:
        if frame == self.fresh and not self.young:
            self.bits.clear_young(frame)
        self.fresh = -1

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
