"""LFU: evict the page used least often since it was loaded.

Source: the LFU policy of OSTEP's paging-policy simulator (OSTEP ch. 22, homework): a
count per resident page, incremented at each reference, forgotten at eviction; among
equal counts the page loaded first goes. In the kernel the counts are of TLB fills.
"""

from __future__ import annotations

from collections.abc import Collection

from pagelab.kernel.mm.policy.base import AccessBits, Policy


class Lfu(Policy):
    name = "lfu"
    wants_references = True

    def __init__(self, bits: AccessBits, seed: int = 0) -> None:
        super().__init__(bits, seed)
        self.count: dict[int, int] = {}  # in load order

    def mapped(self, frame: int) -> None:
        self.count[frame] = 0  # the loading reference counts once, in `referenced`

    def referenced(self, frame: int) -> None:
        if frame in self.count:
            self.count[frame] += 1

    def freed(self, frame: int) -> None:
        self.count.pop(frame, None)

    def victim(self, candidates: Collection[int]) -> int:
        return min((f for f in self.count if f in candidates), key=self.count.__getitem__)
