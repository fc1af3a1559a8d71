"""FIFO: evict the page that has been in memory longest.

Source: Belady, "A study of replacement algorithms for a virtual-storage computer", IBM
Systems Journal 5(2), 1966; Tanenbaum, Modern Operating Systems, 3.4.3; OSTEP ch. 22.
Not a stack algorithm: more frames can give more faults (Belady's anomaly).
"""

from __future__ import annotations

from collections.abc import Collection

from pagelab.kernel.mm.policy.base import AccessBits, Policy


class Fifo(Policy):
    name = "fifo"

    def __init__(self, bits: AccessBits, seed: int = 0) -> None:
        super().__init__(bits, seed)
        self.queue: dict[int, None] = {}  # insertion-ordered: oldest first

    def mapped(self, frame: int) -> None:
        self.queue[frame] = None

    def freed(self, frame: int) -> None:
        self.queue.pop(frame, None)

    def victim(self, candidates: Collection[int]) -> int:
        return next(f for f in self.queue if f in candidates)
