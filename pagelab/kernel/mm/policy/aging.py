"""Aging: an 8-bit counter per page approximates LRU with only the A bit.

Source: Tanenbaum, Modern Operating Systems, 3.4.7. At each sampling tick every counter is
shifted right and the page's A bit (then cleared) enters at the top; the victim has the
smallest counter, the oldest loaded first among equals.
"""

from __future__ import annotations

from collections.abc import Collection

from pagelab.kernel.mm.policy.base import AccessBits, Policy


class Aging(Policy):
    name = "aging"

    def __init__(self, bits: AccessBits, seed: int = 0) -> None:
        super().__init__(bits, seed)
        self.age: dict[int, int] = {}

    def mapped(self, frame: int) -> None:
        self.age[frame] = 0

    def freed(self, frame: int) -> None:
        self.age.pop(frame, None)

    def tick(self) -> None:
        for f, a in self.age.items():
            self.age[f] = (a >> 1) | (0x80 if self.bits.clear_young(f) else 0)

    def victim(self, candidates: Collection[int]) -> int:
        return min((f for f in self.age if f in candidates), key=self.age.__getitem__)
