"""LRU: evict the page whose last use is oldest.

Source: Mattson, Gecsei, Slutz and Traiger, "Evaluation techniques for storage
hierarchies", IBM Systems Journal 9(2), 1970; Tanenbaum, Modern Operating Systems, 3.4.6;
OSTEP 22.6. In replay it sees every reference, so it is exact. In the kernel it sees every
TLB fill, and the kernel flushes the TLB at each sampling tick: the order is exact up to
references that hit the TLB within one tick (docs/policies.md).
"""

from __future__ import annotations

from collections.abc import Collection

from pagelab.kernel.mm.policy.base import AccessBits, Policy


class Lru(Policy):
    name = "lru"
    wants_references = True

    def __init__(self, bits: AccessBits, seed: int = 0) -> None:
        super().__init__(bits, seed)
        self.order: dict[int, None] = {}  # least recently used first

    def mapped(self, frame: int) -> None:
        self.referenced(frame)  # loading a page is using it

    def referenced(self, frame: int) -> None:
        self.order.pop(frame, None)
        self.order[frame] = None

    def freed(self, frame: int) -> None:
        self.order.pop(frame, None)

    def victim(self, candidates: Collection[int]) -> int:
        return next(f for f in self.order if f in candidates)
