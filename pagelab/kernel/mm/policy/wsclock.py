"""WSClock: the working-set policy run by a clock hand, with dirty pages cleaned first.

Source: Carr and Hennessy, "WSCLOCK - a simple and effective algorithm for virtual memory
management", SOSP 1981; Tanenbaum, Modern Operating Systems, 3.4.9. As in `ws`, each
sampling tick gives used pages the current virtual time and clears A. The hand passes pages
in load order: a used page (A bit set) gets the current virtual time and its bit cleared;
an unused page older than tau is evicted if clean. An old dirty page is "scheduled for
writing" and passed over. After a whole turn: if a write was scheduled, its page (the
first one) is evicted, the write having completed (pagelab writes it out as it evicts);
else the first clean page, else the page under the hand. Virtual time and tau are as in
`ws`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import ClassVar

from pagelab.kernel.mm.policy.base import AccessBits, Params, Policy


class WsClock(Policy):
    name = "wsclock"
    tau: int = 1000
    PARAMS: ClassVar[Params] = {"tau": (1, 1 << 62)}

    def __init__(self, bits: AccessBits, seed: int = 0) -> None:
        super().__init__(bits, seed)
        self.ring: dict[int, int] = {}  # frame -> time of last use; starts at the hand

    def mapped(self, frame: int) -> None:
        self.ring[frame] = self.bits.now()  # just behind the hand

    def freed(self, frame: int) -> None:
        self.ring.pop(frame, None)

    def tick(self) -> None:
        now = self.bits.now()  # as in `ws`: the clock interrupt records use and clears A
        for f in self.ring:
            if self.bits.clear_young(f):
                self.ring[f] = now

    def _advance(self) -> int:
        f = next(iter(self.ring))
        t = self.ring.pop(f)
        self.ring[f] = t
        return f

    def victim(self, candidates: Collection[int]) -> int:
        now = self.bits.now()
        scheduled = clean = -1
        for _ in range(len(self.ring)):
            f = next(iter(self.ring))
            if f in candidates:
                if self.bits.clear_young(f):
                    self.ring[f] = now
                elif now - self.ring[f] > self.tau:
                    if not self.bits.dirty(f):
                        self._advance()
                        return f
                    if scheduled < 0:
                        scheduled = f
                elif clean < 0 and not self.bits.dirty(f):
                    clean = f
            self._advance()
        if scheduled >= 0:
            return scheduled
        if clean >= 0:
            return clean
        return next(f for f in self.ring if f in candidates)
