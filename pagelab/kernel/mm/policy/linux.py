"""Linux's two-list LRU: an inactive and an active list, with refault distances.

Source: Linux mm/vmscan.c (shrink_active_list, shrink_folio_list, folio_check_references)
and mm/workingset.c (the refault distance), as of 6.x without MGLRU. A new page enters the
inactive list. Reclaim first keeps the inactive list at least as long as the active one
by moving the active list's oldest pages to the inactive list's head (their A bits
cleared). Then it scans the inactive list from its tail: a page referenced (A bit) for the
second time (PG_referenced already set) is activated; referenced once, it gets
PG_referenced and goes back to the head; unreferenced, it is evicted and leaves a shadow
entry holding the "nonresident age", a counter of evictions and activations. When an
evicted page faults back in, its refault distance (the age now minus its shadow's) is
compared with the active list's size: if it would have stayed resident with that much
more inactive space, it is activated at once. Differences: one LRU (Linux has anon and
file lists and balances them by cost), an inactive:active ratio of 1 (Linux's for less
than 1 GiB), shadows kept for at most twice the memory size of pages.
"""

from __future__ import annotations

from collections.abc import Collection

from pagelab.kernel.mm.policy.base import AccessBits, Policy


class Linux(Policy):
    name = "linux"

    def __init__(self, bits: AccessBits, seed: int = 0) -> None:
        super().__init__(bits, seed)
        self.inactive: dict[int, None] = {}  # tail (oldest) first
        self.active: dict[int, None] = {}
        self.referenced_flag: set[int] = set()  # PG_referenced
        self.shadow: dict[int, int] = {}  # evicted page -> nonresident age at eviction
        self.age = 0  # workingset_age_nonresident: evictions + activations

    def mapped(self, frame: int) -> None:
        evicted_at = self.shadow.pop(frame, None)
        if evicted_at is not None and self.age - evicted_at <= len(self.active):
            self.active[frame] = None  # workingset_refault: activate at once
            self.age += 1
        else:
            self.inactive[frame] = None

    def freed(self, frame: int) -> None:
        self.inactive.pop(frame, None)
        self.active.pop(frame, None)
        self.referenced_flag.discard(frame)

    def unmapped(self, frame: int) -> None:
        self.freed(frame)
        self.shadow[frame] = self.age  # workingset_eviction
        self.age += 1
        limit = 2 * max(self.frames, len(self.inactive) + len(self.active), 1)
        while len(self.shadow) > limit:
            del self.shadow[next(iter(self.shadow))]

    def _deactivate(self) -> None:
        """shrink_active_list: while the inactive list is shorter, its oldest active
        pages move to the inactive head, A bits cleared."""
        while self.active and len(self.inactive) < len(self.active):
            f = next(iter(self.active))
            del self.active[f]
            self.bits.clear_young(f)
            self.referenced_flag.discard(f)
            self.inactive[f] = None

    def victim(self, candidates: Collection[int]) -> int:
        self._deactivate()
        for _ in range(2 * (len(self.inactive) + len(self.active)) + 2):
            if not self.inactive:
                if not self.active:
                    break
                self._deactivate_one()
                continue
            f = next(iter(self.inactive))
            young = self.bits.clear_young(f)
            if not young and f in candidates:
                return f  # `unmapped` takes it off the list
            del self.inactive[f]
            if young and f in self.referenced_flag:
                self.referenced_flag.discard(f)
                self.active[f] = None  # FOLIOREF_ACTIVATE
                self.age += 1
            else:
                if young:
                    self.referenced_flag.add(f)
                self.inactive[f] = None  # FOLIOREF_KEEP: back to the head
        return next(iter(candidates))

    def _deactivate_one(self) -> None:
        f = next(iter(self.active))
        del self.active[f]
        self.referenced_flag.discard(f)
        self.inactive[f] = None
