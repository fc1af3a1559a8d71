"""Working set: evict a page that has left the working set W(t, tau).

Source: Denning, "The working set model for program behavior", CACM 11(5), 1968; the
page-replacement form of Tanenbaum, Modern Operating Systems, 3.4.8. At each sampling tick
a page with its A bit set gets the current virtual time as its time of last use (and the
bit is cleared). At a fault the pages are scanned: a page whose A bit is set is in the
working set (its time is updated); one unused for more than tau is out of it and is
evicted; if every page is in the working set, the one unused longest goes. Virtual time is
the number of references in replay and of instructions in the kernel (`bits.now()`), so
tau is in those units. This fixes the memory size, as every replay does; the
variable-allocation form (a process holds just its working set) is not done.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import ClassVar

from pagelab.kernel.mm.policy.base import AccessBits, Params, Policy


class WorkingSet(Policy):
    name = "ws"
    tau: int = 1000
    PARAMS: ClassVar[Params] = {"tau": (1, 1 << 62)}

    def __init__(self, bits: AccessBits, seed: int = 0) -> None:
        super().__init__(bits, seed)
        self.last_use: dict[int, int] = {}  # in load order

    def mapped(self, frame: int) -> None:
        self.last_use[frame] = self.bits.now()

    def freed(self, frame: int) -> None:
        self.last_use.pop(frame, None)

    def tick(self) -> None:
        now = self.bits.now()
        for f in self.last_use:
            if self.bits.clear_young(f):
                self.last_use[f] = now

    def victim(self, candidates: Collection[int]) -> int:
        now = self.bits.now()
        oldest, oldest_time = -1, now + 1
        for f, t in self.last_use.items():
            if f not in candidates:
                continue
            if self.bits.young(f):
                self.last_use[f] = now  # in the working set
            elif now - t > self.tau:
                return f
            elif t < oldest_time:
                oldest, oldest_time = f, t
        if oldest < 0:  # every candidate was used since the last tick
            return min((f for f in self.last_use if f in candidates), key=self.last_use.__getitem__)
        return oldest
