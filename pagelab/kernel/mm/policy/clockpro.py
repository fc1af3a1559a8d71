"""CLOCK-Pro: LIRS's reuse distances, run by clock hands.

Source: Jiang, Chen and Zhang, "CLOCK-Pro: an effective improvement of the CLOCK
replacement", USENIX ATC 2005. One circular list holds hot pages, resident cold pages
and non-resident cold pages still in their test period (at most `m`, the memory size).
Pages enter at the list head, just behind HAND_hot. A cold page is in its test period
from its last use until HAND_hot passes it; used again in that period it becomes hot.
- HAND_cold finds the victim: a used cold page has its bit cleared and goes back to the
  head (turning hot if it was in its test period, else starting one); the first unused
  cold page is evicted, and stays in the list, non-resident, while its test period lasts.
- HAND_hot runs when hot pages exceed m - m_c: it clears the bits of used hot pages and
  demotes the first unused one to cold; cold pages it passes end their test period
  (non-resident ones leave the list, and m_c shrinks by one).
- HAND_test ends test periods in the same way when non-resident pages exceed m.
A miss on a non-resident page still in its test period grows m_c by one, and the page
enters hot. The target m_c starts at `cold` (a fraction of memory; libCacheSim's default
0.5, the paper leaves it open) and adapts between 1 and m - 1. The reference bit is set
by uses after the loading one.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import ClassVar

from pagelab.kernel.mm.policy.base import AccessBits, Params, Policy


class ClockPro(Policy):
    name = "clockpro"
    wants_references = True
    cold: float = 0.5
    PARAMS: ClassVar[Params] = {"cold": (0.0, 1.0)}

    def __init__(self, bits: AccessBits, seed: int = 0) -> None:
        super().__init__(bits, seed)
        self.nxt: dict[int, int] = {}  # the circle, as a doubly linked list
        self.prv: dict[int, int] = {}
        self.hot: set[int] = set()
        self.resident: set[int] = set()
        self.test: set[int] = set()  # cold pages in their test period
        self.ref: set[int] = set()  # reference bits
        self.hand_hot = self.hand_cold = self.hand_test = -1
        self.nonresident = 0
        self.m_c = -1.0  # set at the first use, once the memory size is known
        self.fresh = -1

    # --- the circle ----------------------------------------------------------------
    def _insert(self, f: int) -> None:
        """At the list head: just behind HAND_hot."""
        if self.hand_hot < 0:
            self.nxt[f] = self.prv[f] = f
            self.hand_hot = self.hand_cold = self.hand_test = f
            return
        after = self.prv[self.hand_hot]
        self.nxt[after], self.prv[f], self.nxt[f], self.prv[self.hand_hot] = f, after, self.hand_hot, f

    def _remove(self, f: int) -> None:
        n, p = self.nxt.pop(f), self.prv.pop(f)
        if n == f:
            self.hand_hot = self.hand_cold = self.hand_test = -1
        else:
            self.nxt[p], self.prv[n] = n, p
            self.hand_hot = n if self.hand_hot == f else self.hand_hot
            self.hand_cold = n if self.hand_cold == f else self.hand_cold
            self.hand_test = n if self.hand_test == f else self.hand_test
        self.hot.discard(f)
        self.test.discard(f)
        self.ref.discard(f)

    def _to_head(self, f: int) -> None:
        hot, test = f in self.hot, f in self.test
        self._remove(f)
        self._insert(f)
        if hot:
            self.hot.add(f)
        if test:
            self.test.add(f)

    # --- sizes ---------------------------------------------------------------------
    def _m(self) -> int:
        return self.frames or max(len(self.resident), 1)

    def _mc(self) -> float:
        if self.m_c < 0:
            self.m_c = max(1.0, self.cold * self._m())
        return self.m_c

    def _end_test(self, f: int) -> bool:
        """A test period ends: a non-resident page leaves the list. True if it did."""
        self.test.discard(f)
        if f in self.resident:
            return False
        self._remove(f)
        self.nonresident -= 1
        self.m_c = max(self._mc() - 1, 1.0)
        return True

    def _run_hand_hot(self) -> None:
        while len(self.hot) > self._m() - self._mc() and self.hot:
            f = self.hand_hot
            self.hand_hot = self.nxt[f]
            if f in self.hot:
                if f in self.ref:
                    self.ref.discard(f)
                else:
                    self.hot.discard(f)  # demoted to a cold page, not in test
                    return
            elif f in self.test:
                self._end_test(f)

    def _run_hand_test(self) -> None:
        while self.nonresident > self._m() and self.hand_test >= 0:
            f = self.hand_test
            self.hand_test = self.nxt[f]
            if f in self.test and self._end_test(f):
                return

    # --- events --------------------------------------------------------------------
    def mapped(self, frame: int) -> None:
        self._mc()
        self.resident.add(frame)
        self.fresh = frame
        if frame in self.nxt:  # non-resident, in its test period: it comes back hot
            self.nonresident -= 1
            self.m_c = min(self._mc() + 1, self._m() - 1.0)
            self._remove(frame)
            self._insert(frame)
            self.hot.add(frame)
            self._run_hand_hot()
        else:
            self._insert(frame)
            self.test.add(frame)

    def referenced(self, frame: int) -> None:
        if frame == self.fresh:
            self.fresh = -1
        elif frame in self.resident:
            self.ref.add(frame)

    def freed(self, frame: int) -> None:
        self.resident.discard(frame)
        if frame in self.nxt:
            self._remove(frame)

    def unmapped(self, frame: int) -> None:
        self.resident.discard(frame)
        if frame in self.test:
            self.nonresident += 1  # stays in the list until its test period ends
            self._run_hand_test()
        else:
            self._remove(frame)

    def victim(self, candidates: Collection[int]) -> int:
        for _ in range(4 * len(self.nxt) + 4):
            f = self.hand_cold
            if f < 0:
                break
            if f in self.hot or f not in self.resident or f not in candidates:
                self.hand_cold = self.nxt[f]
                continue
            if f not in self.ref:
                self.hand_cold = self.nxt[f]
                return f
            self.ref.discard(f)
            self.hand_cold = self.nxt[f]
            if f in self.test:
                self.test.discard(f)
                self._to_head(f)
                self.hot.add(f)
                self._run_hand_hot()
            else:
                self._to_head(f)
                self.test.add(f)
        return next(iter(candidates))
