"""Random: evict any resident page, chosen by a generator seeded from --seed.

Source: Belady 1966 (RAND, the baseline every policy must beat); OSTEP 22.5. It has no
pathological case: on a loop over one page more than fits, FIFO and LRU miss every time
while random keeps hitting.
"""

from __future__ import annotations

from collections.abc import Collection

from pagelab.kernel.mm.policy.base import Policy


class Random(Policy):
    name = "random"

    def victim(self, candidates: Collection[int]) -> int:
        pool = list(candidates)
        return pool[self.rng.randrange(len(pool))]
