"""OPT (MIN): evict the page whose next use lies farthest in the future.

Source: Belady, "A study of replacement algorithms for a virtual-storage computer", IBM
Systems Journal 5(2), 1966; OSTEP 22.2. It needs the future: replay reads it from the
trace; the kernel replays the reference string recorded by a first run of the same
deterministic program. It is the lower bound every other policy is measured against.
"""

from __future__ import annotations

from collections.abc import Collection

from pagelab.kernel.mm.policy.base import Policy


class Opt(Policy):
    name = "opt"
    needs_future = True

    def victim(self, candidates: Collection[int]) -> int:
        return max(candidates, key=self.bits.next_use)
