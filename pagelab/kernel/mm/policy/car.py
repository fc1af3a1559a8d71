"""CAR: Clock with Adaptive Replacement, ARC's adaptation run by two clocks.

Source: Bansal and Modha, "CAR: Clock with adaptive replacement", FAST 2004 (figure 2).
T1 and T2 are clocks of pages with a reference bit; B1 and B2 remember pages evicted from
each. A hit only sets the bit. To make room, the hand of T1 (if T1 holds at least
max(1, p) pages) or of T2 turns: a page with its bit set has it cleared and goes to T2's
tail; the first page without it is evicted into B1 or B2. A miss on a page in B1 raises the
target p, in B2 lowers it, and that page enters T2; any other enters T1. A page enters
with its bit clear: the loading reference does not count.
"""

from __future__ import annotations

from collections.abc import Collection

from pagelab.kernel.mm.policy.base import AccessBits, Policy


class Car(Policy):
    name = "car"
    wants_references = True

    def __init__(self, bits: AccessBits, seed: int = 0) -> None:
        super().__init__(bits, seed)
        self.t1: dict[int, bool] = {}  # frame -> reference bit; the hand at the front
        self.t2: dict[int, bool] = {}
        self.b1: dict[int, None] = {}  # oldest first
        self.b2: dict[int, None] = {}
        self.p = 0.0
        self.replaced = False  # a victim was chosen for the page about to be mapped
        self.fresh = -1

    def _size(self) -> int:
        return self.frames or len(self.t1) + len(self.t2)

    def mapped(self, frame: int) -> None:
        c = self._size()
        ghost = frame in self.b1 or frame in self.b2
        if self.replaced and not ghost:
            if len(self.t1) + len(self.b1) >= c and self.b1:
                del self.b1[next(iter(self.b1))]
            elif len(self.t1) + len(self.t2) + len(self.b1) + len(self.b2) >= 2 * c and self.b2:
                del self.b2[next(iter(self.b2))]
        self.replaced = False
        b1, b2 = len(self.b1), len(self.b2)
        if frame in self.b1:
            self.p = min(self.p + max(1, b2 / b1), c)
            del self.b1[frame]
            self.t2[frame] = False
        elif frame in self.b2:
            self.p = max(self.p - max(1, b1 / b2), 0)
            del self.b2[frame]
            self.t2[frame] = False
        else:
            self.t1[frame] = False
        self.fresh = frame

    def referenced(self, frame: int) -> None:
        if frame == self.fresh:
            self.fresh = -1
        elif frame in self.t1:
            self.t1[frame] = True
        elif frame in self.t2:
            self.t2[frame] = True

    def freed(self, frame: int) -> None:
        self.t1.pop(frame, None)
        self.t2.pop(frame, None)

    def unmapped(self, frame: int) -> None:
        if frame in self.t1:
            self.b1[frame] = None
        elif frame in self.t2:
            self.b2[frame] = None
        self.freed(frame)

    def victim(self, candidates: Collection[int]) -> int:
        self.replaced = True
        for _ in range(2 * (len(self.t1) + len(self.t2)) + 2):
            if self.t1 and len(self.t1) >= max(1, self.p):
                f, used = next(iter(self.t1.items()))
                if not used and f in candidates:
                    return f  # `unmapped` moves it to B1
                del self.t1[f]
                self.t2[f] = False
            elif self.t2:
                f, used = next(iter(self.t2.items()))
                if not used and f in candidates:
                    return f
                del self.t2[f]
                self.t2[f] = False
        return next(iter(candidates))
