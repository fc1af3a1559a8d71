"""MRU: evict the page used most recently.

Source: the MRU policy of OSTEP's paging-policy simulator (OSTEP ch. 22, homework);
Chou and DeWitt, "An evaluation of buffer management strategies for relational database
systems", VLDB 1985. It is the right choice on a loop slightly larger than memory, where
LRU misses every time, and a poor one almost everywhere else.
"""

from __future__ import annotations

from collections.abc import Collection

from pagelab.kernel.mm.policy.base import AccessBits, Policy


class Mru(Policy):
    name = "mru"
    wants_references = True

    def __init__(self, bits: AccessBits, seed: int = 0) -> None:
        super().__init__(bits, seed)
        self.order: dict[int, None] = {}  # most recently used last

    def mapped(self, frame: int) -> None:
        self.referenced(frame)

    def referenced(self, frame: int) -> None:
        self.order.pop(frame, None)
        self.order[frame] = None

    def freed(self, frame: int) -> None:
        self.order.pop(frame, None)

    def victim(self, candidates: Collection[int]) -> int:
        return next(f for f in reversed(self.order) if f in candidates)
