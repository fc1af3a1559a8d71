"""SIEVE: a FIFO queue with a hand that keeps visited pages in place.

Source: Zhang, Yang, Yue, Vigfusson and Rashmi, "SIEVE is simpler than LRU: an efficient
turn-key eviction algorithm for web caches", NSDI 2024. New pages enter at the head,
unvisited. The hand moves from the tail toward the head, clearing the visited bit of the
pages it passes, and evicts the first unvisited one; it stays where it stopped and wraps to
the tail. Unlike the clock, a survivor is not moved, so new pages stay behind old ones.
The visited bit is the A bit; the reference that loads a page does not set it (`fresh`).
"""

from __future__ import annotations

from collections.abc import Collection

from pagelab.kernel.mm.policy.base import AccessBits, Policy


class Sieve(Policy):
    name = "sieve"
    wants_references = True  # to tell the loading reference from the next ones

    def __init__(self, bits: AccessBits, seed: int = 0) -> None:
        super().__init__(bits, seed)
        self.queue: list[int] = []  # tail (oldest) first
        self.where: dict[int, int] = {}  # frame -> index in queue
        self.hand = 0
        self.fresh = -1

    def mapped(self, frame: int) -> None:
        self.where[frame] = len(self.queue)
        self.queue.append(frame)
        self.fresh = frame

    def referenced(self, frame: int) -> None:
        if frame == self.fresh:
            self.bits.clear_young(frame)  # inserted unvisited
            self.fresh = -1

    def freed(self, frame: int) -> None:
        i = self.where.pop(frame, None)
        if i is None:
            return
        del self.queue[i]
        for j in range(i, len(self.queue)):
            self.where[self.queue[j]] = j
        if self.hand > i:
            self.hand -= 1
        if self.hand >= len(self.queue):
            self.hand = 0  # it passed the head: back to the tail, not onto the next new page

    def victim(self, candidates: Collection[int]) -> int:
        n = len(self.queue)
        for _ in range(2 * n + 1):
            if self.hand >= len(self.queue):
                self.hand = 0
            f = self.queue[self.hand]
            if f in candidates and not self.bits.clear_young(f):
                return f  # `freed` removes it; the hand then points at the next page
            self.hand += 1
        return next(f for f in self.queue if f in candidates)
