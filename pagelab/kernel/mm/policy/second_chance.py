"""Second chance: FIFO, but a page used since it reached the front goes to the back.

Source: Tanenbaum, Modern Operating Systems, 3.4.4 (figure 3-15). The list form of the
clock: it makes the same choices as `clock` (Tanenbaum 3.4.5 says so; the tests check it)
but moves the page to the tail instead of moving a hand, as the book draws it.
"""

from __future__ import annotations

from collections.abc import Collection

from pagelab.kernel.mm.policy.base import AccessBits, Policy


class SecondChance(Policy):
    name = "sc"

    def __init__(self, bits: AccessBits, seed: int = 0) -> None:
        super().__init__(bits, seed)
        self.queue: dict[int, None] = {}  # oldest load first

    def mapped(self, frame: int) -> None:
        self.queue[frame] = None

    def freed(self, frame: int) -> None:
        self.queue.pop(frame, None)

    def victim(self, candidates: Collection[int]) -> int:
        for _ in range(2 * len(self.queue)):
            f = next(iter(self.queue))
            if f in candidates and not self.bits.clear_young(f):
                return f
            del self.queue[f]
            self.queue[f] = None  # to the tail, as if just loaded
        return next(f for f in self.queue if f in candidates)
