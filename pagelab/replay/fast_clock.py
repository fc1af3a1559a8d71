"""Compiled replay of the clock family (clock, sc, sieve): each equals its Policy class
run by engine.simulate, reference for reference (tests/test_policies_fast.py checks it).

Given `miss` and `final`, each marks the references that fault and the pages resident at
the end (counting.py). No eviction scans the resident set: a hand moves over a ring, or over a linked list for
SIEVE, and each step it takes clears a bit that a reference had set, so its moves are paid
for by references (amortised O(1) per reference).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def clock_faults(
    ids: np.ndarray,
    nuniq: int,
    frames: int,
    young_on_load: bool,
    miss: np.ndarray | None = None,
    final: np.ndarray | None = None,
) -> int:
    """The clock as a ring of `frames` slots; the hand is the next slot to look at. A
    victim's slot takes the new page, which so lands just behind the hand (clock.py's
    dict, read from its front, is the same circle)."""
    resident = np.zeros(nuniq, dtype=np.bool_)
    young = np.zeros(nuniq, dtype=np.bool_)
    ring = np.empty(frames, dtype=np.int64)
    count = 0
    hand = 0
    faults = 0
    for t, x in enumerate(ids):
        if not resident[x]:
            faults += 1
            if miss is not None:
                miss[t] = 1
            if count < frames:
                ring[count] = x
                count += 1
            else:
                while young[ring[hand]]:
                    young[ring[hand]] = False
                    hand = hand + 1 if hand + 1 < frames else 0
                resident[ring[hand]] = False
                ring[hand] = x
                hand = hand + 1 if hand + 1 < frames else 0
            resident[x] = True
            young[x] = young_on_load
        else:
            young[x] = True
    if final is not None:
        final[:] = resident
    return faults


@njit(cache=True)
def sieve_faults(
    ids: np.ndarray, nuniq: int, frames: int, miss: np.ndarray | None = None, final: np.ndarray | None = None
) -> int:
    """SIEVE over a doubly linked list: `toward_head[p]` is the next newer page. The hand
    moves toward the head and wraps to the tail (-1: start at the tail)."""
    resident = np.zeros(nuniq, dtype=np.bool_)
    visited = np.zeros(nuniq, dtype=np.bool_)
    newer = np.full(nuniq, -1, dtype=np.int64)
    older = np.full(nuniq, -1, dtype=np.int64)
    head = tail = hand = -1
    count = 0
    faults = 0
    for t, x in enumerate(ids):
        if resident[x]:
            visited[x] = True
            continue
        faults += 1
        if miss is not None:
            miss[t] = 1
        if count >= frames:
            h = hand if hand >= 0 else tail
            while visited[h]:
                visited[h] = False
                h = newer[h] if newer[h] >= 0 else tail
            hand = newer[h]  # -1 when h was the head: back to the tail next time
            # unlink h
            if older[h] >= 0:
                newer[older[h]] = newer[h]
            else:
                tail = newer[h]
            if newer[h] >= 0:
                older[newer[h]] = older[h]
            else:
                head = older[h]
            resident[h] = False
            count -= 1
        # link x at the head, unvisited
        older[x] = head
        newer[x] = -1
        if head >= 0:
            newer[head] = x
        else:
            tail = x
        head = x
        resident[x] = True
        visited[x] = False
        count += 1
    if final is not None:
        final[:] = resident
    return faults
