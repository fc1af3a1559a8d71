"""CLOCK-Pro: LIRS's reuse distances, run by clock hands.

Source: Jiang, Chen and Zhang, "CLOCK-Pro: an effective improvement of the CLOCK
replacement", USENIX ATC 2005. One circular list holds hot pages, resident cold pages
and non-resident cold pages still in their test period (at most `m`, the memory size).
Pages enter at the list head, just behind HAND_hot. A cold page is in its test period
from its last use until HAND_hot passes it; used again in that period it becomes hot.
- HAND_cold finds the victim: a used cold page has its bit cleared and goes back to the
  head (turning hot if it was in its test period, else starting one); the first unused
  cold page is evicted, and stays in the list, non-resident, while its test period lasts.
  As in the paper, the hand then stops at the next resident cold page.
- HAND_hot runs when hot pages exceed m - m_c: it clears the bits of used hot pages and
  demotes the first unused one to cold; test pages it passes end their test period
  (non-resident ones leave the list, and m_c shrinks by one). As in the paper, it then
  goes on to the next hot page and stops there.
- HAND_test ends test periods in the same way when non-resident pages exceed m, up to
  the first non-resident page it removes, and stops at the next test page.
A miss on a non-resident page still in its test period grows m_c by one, and the page
enters hot. The target m_c starts at `cold` (a fraction of memory; libCacheSim's default
0.5, the paper leaves it open) and adapts between 1 and m - 1. The reference bit is set
by uses after the loading one.

No hand walks past a page it has nothing to do with. Seen from HAND_hot the circle is a
queue: HAND_hot is its front, the list head its back (moving HAND_hot past a page
leaves it at the head, in the paper's words). Each hand's pages (resident cold ones for HAND_cold, hot
and test ones for HAND_hot, test ones for HAND_test) are a sub-ring in the same order,
whose `head` is its first page at or after HAND_hot: a new page goes in just before it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import ClassVar

from pagelab.kernel.mm.policy.base import AccessBits, Params, Policy


class Ring:
    """Pages in clock order as a circular doubly linked list. `head` is the first one at or
    after HAND_hot; `hand` is the page the ring's own hand stops at."""

    def __init__(self) -> None:
        self.nxt: dict[int, int] = {}
        self.prv: dict[int, int] = {}
        self.head = self.hand = -1

    def __contains__(self, f: int) -> bool:
        return f in self.nxt

    def __len__(self) -> int:
        return len(self.nxt)

    def add(self, f: int) -> None:
        """At the back: just before `head` (the list head, behind HAND_hot)."""
        h = self.head
        if h < 0:
            self.nxt[f] = self.prv[f] = self.head = self.hand = f
            return
        p = self.prv[h]
        self.nxt[p], self.prv[f], self.nxt[f], self.prv[h] = f, p, h, f

    def remove(self, f: int) -> None:
        """A hand (or head) on `f` moves on to the next page."""
        n, p = self.nxt.pop(f), self.prv.pop(f)
        if n == f:
            self.head = self.hand = -1
            return
        self.nxt[p], self.prv[n] = n, p
        self.head = n if self.head == f else self.head
        self.hand = n if self.hand == f else self.hand


class ClockPro(Policy):
    name = "clockpro"
    wants_references = True
    cold: float = 0.5
    PARAMS: ClassVar[Params] = {"cold": (0.0, 1.0)}

    def __init__(self, bits: AccessBits, seed: int = 0) -> None:
        super().__init__(bits, seed)
        self.clock = Ring()  # every page in the list; its head is HAND_hot
        self.cold_ring = Ring()  # resident cold pages: HAND_cold's stops
        self.hot_ring = Ring()  # hot pages and test pages: HAND_hot's stops
        self.test_ring = Ring()  # cold pages in their test period: HAND_test's stops
        self.hot: set[int] = set()
        self.resident: set[int] = set()
        self.test: set[int] = set()
        self.ref: set[int] = set()  # reference bits
        self.nonresident = 0
        self.m_c = -1.0  # set at the first use, once the memory size is known
        self.fresh = -1

    # --- the circle ----------------------------------------------------------------
    def _rings(self, f: int) -> tuple[Ring, ...]:
        """The sub-rings page `f` belongs to, by its state."""
        cold = (self.cold_ring,) if f in self.resident and f not in self.hot else ()
        mine = (self.hot_ring,) if f in self.hot or f in self.test else ()
        return cold + mine + ((self.test_ring,) if f in self.test else ())

    def _insert(self, f: int) -> None:
        """At the list head, in the circle and in the sub-rings of its state."""
        for ring in (self.clock, *self._rings(f)):
            ring.add(f)

    def _remove(self, f: int) -> None:
        for ring in (self.clock, self.cold_ring, self.hot_ring, self.test_ring):
            if f in ring:
                ring.remove(f)

    def _hand_hot_to(self, y: int) -> None:
        """HAND_hot moves forward to `y`. The sub-rings' pages it passed end just before
        `y`, so each head moves to `y` or past its page there."""
        if y == self.clock.head:
            return
        self.clock.head = y
        p = self.clock.prv[y]
        for ring in (self.cold_ring, self.hot_ring, self.test_ring):
            if y in ring:
                ring.head = y
            elif p in ring:
                ring.head = ring.nxt[p]

    # --- sizes ---------------------------------------------------------------------
    def _m(self) -> int:
        return self.frames or max(len(self.resident), 1)

    def _mc(self) -> float:
        if self.m_c < 0:
            self.m_c = max(1.0, self.cold * self._m())
        return self.m_c

    def _end_test(self, f: int) -> None:
        """A test period ends: a non-resident page leaves the list, and m_c shrinks."""
        self.test.discard(f)
        self.test_ring.remove(f)
        self.hot_ring.remove(f)
        if f not in self.resident:
            self.clock.remove(f)
            self.nonresident -= 1
            self.m_c = max(self._mc() - 1, 1.0)

    def _run_hand_hot(self) -> None:
        demoted = False
        while self.hot and (demoted or len(self.hot) > self._m() - self._mc()):
            f = self.hot_ring.head
            self._hand_hot_to(f)
            if f in self.hot:
                if demoted:
                    return  # it stops at a hot page
                if f in self.ref:
                    self.ref.discard(f)
                else:  # demoted to a cold page, not in test, where the hand is
                    self.hot.discard(f)
                    self.hot_ring.remove(f)
                    self.cold_ring.add(f)
                    self.cold_ring.head = f
                    demoted = True
            else:
                self._end_test(f)
            if f in self.clock:
                self._hand_hot_to(self.clock.nxt[f])

    def _run_hand_test(self) -> None:
        while self.nonresident > self._m() and self.test_ring.hand >= 0:
            f = self.test_ring.hand
            self._end_test(f)
            if f not in self.resident:
                return

    # --- events --------------------------------------------------------------------
    def mapped(self, frame: int) -> None:
        self._mc()
        self.fresh = frame
        if frame in self.clock:  # non-resident, in its test period: it comes back hot
            self.nonresident -= 1
            self.m_c = min(self._mc() + 1, self._m() - 1.0)
            self._remove(frame)
            self.test.discard(frame)
            self.resident.add(frame)
            self.hot.add(frame)
            self._insert(frame)
            self._run_hand_hot()
        else:
            self.resident.add(frame)
            self.test.add(frame)
            self._insert(frame)

    def referenced(self, frame: int) -> None:
        if frame == self.fresh:
            self.fresh = -1
        elif frame in self.resident:
            self.ref.add(frame)

    def freed(self, frame: int) -> None:
        if frame in self.clock and frame not in self.resident:
            self.nonresident -= 1
        self._remove(frame)
        self.resident.discard(frame)
        self.hot.discard(frame)
        self.test.discard(frame)
        self.ref.discard(frame)

    def unmapped(self, frame: int) -> None:
        if frame in self.test:  # stays in the list until its test period ends
            self.cold_ring.remove(frame)
            self.resident.discard(frame)
            self.ref.discard(frame)
            self.nonresident += 1
            self._run_hand_test()
        else:
            self.freed(frame)

    def victim(self, candidates: Collection[int]) -> int:
        ring = self.cold_ring
        for _ in range(2 * len(ring) + 2):
            f = ring.hand
            if f < 0:
                break
            ring.hand = ring.nxt[f]  # it stops at the next resident cold page
            if f not in candidates:
                continue
            if f not in self.ref:
                return f
            self.ref.discard(f)
            self._remove(f)
            if f in self.test:
                self.test.discard(f)
                self.hot.add(f)
                self._insert(f)
                self._run_hand_hot()
            else:
                self.test.add(f)
                self._insert(f)
        return next(iter(candidates))
