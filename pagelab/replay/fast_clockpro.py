"""Compiled replay of CLOCK-Pro (clockpro.py), step for step: the same circle and three
sub-rings (resident cold pages, hot and test pages, test pages), with the same heads and
hands. A hand moves from one page it has work for to the next, so no fault walks past
pages: the time per reference does not grow with memory. Each page's links share one
32-byte row; its state bits are apart, so that a hit touches a small array. Returns -1 where clockpro.py would give up on its bounded hand (it then takes its
first candidate), and the caller runs the plain class instead. That is not seen in
replay: a full memory always holds a resident cold page, since m_c >= 1 keeps the hot
pages at most m - 1.
"""

from __future__ import annotations

import numpy as np
from numba import njit

CLOCK, COLD, HOT, TEST = 0, 1, 2, 3  # the rings; column r of a page's row is the next
PRV = 4  # page in ring r, column PRV + r the previous one
IS_HOT, IS_RESIDENT, IS_TEST, IS_REF = 1, 2, 4, 8  # a page's state bits

# The helpers are compiled without numba's reference counting (_nrt=False, numba's own
# switch, not in its type stubs). They only read and write arrays their caller owns, so
# they need none, and the atomic count updates at each call took most of a fault's time
# (eight ring updates per fault: 13 ns without, about 400 ns with, measured).
helper = njit(cache=True, _nrt=False)  # type: ignore[call-overload]


@njit(cache=True)
def clockpro_faults(
    ids: np.ndarray,
    nuniq: int,
    frames: int,
    cold: float,
    miss: np.ndarray | None = None,
    final: np.ndarray | None = None,
) -> int:
    """Faults in `frames` frames; when given, miss[t] is set at each fault and final[p]
    for each page resident at the end (counting.py)."""
    pg = np.full((nuniq, 8), -1, dtype=np.int32)
    st = np.zeros(nuniq, dtype=np.uint8)  # apart: a hit touches only this small array
    head = np.full(4, -1, dtype=np.int64)
    hand = np.full(4, -1, dtype=np.int64)
    n = np.zeros(2, dtype=np.int64)  # hot pages, non-resident pages
    m = frames
    mc = np.full(1, max(1.0, cold * m))
    count = 0
    faults = 0
    for t, x in enumerate(ids):
        s = st[x]
        if s & IS_RESIDENT:
            st[x] = s | IS_REF
            continue
        faults += 1
        if miss is not None:
            miss[t] = 1
        if count >= frames:  # victim(): HAND_cold
            v = -1
            for _ in range(2 * (count - n[0]) + 2):  # the cold ring's length, twice
                f = hand[COLD]
                if f < 0:
                    break
                hand[COLD] = pg[f, COLD]
                if not st[f] & IS_REF:
                    v = f
                    break
                st[f] &= ~IS_REF
                _remove_all(f, pg, head, hand)
                if st[f] & IS_TEST:
                    st[f] ^= IS_TEST | IS_HOT
                    n[0] += 1
                    _insert(f, pg, st, head, hand)
                    _run_hand_hot(pg, st, head, hand, n, m, mc)
                else:
                    st[f] |= IS_TEST
                    _insert(f, pg, st, head, hand)
            if v < 0:
                return -1
            count -= 1
            if st[v] & IS_TEST:  # unmapped(): it stays until its test period ends
                _ring_remove(COLD, v, pg, head, hand)
                st[v] &= ~IS_RESIDENT
                n[1] += 1
                while n[1] > m and hand[TEST] >= 0:  # HAND_test
                    f = hand[TEST]
                    _end_test(f, pg, st, head, hand, n, mc)
                    if not st[f] & IS_RESIDENT:
                        break
            else:
                _remove_all(v, pg, head, hand)
                st[v] = 0
        count += 1
        if pg[x, CLOCK] >= 0:  # non-resident, in its test period: it comes back hot
            n[1] -= 1
            mc[0] = min(mc[0] + 1, m - 1.0)
            _remove_all(x, pg, head, hand)
            st[x] = IS_RESIDENT | IS_HOT
            n[0] += 1
            _insert(x, pg, st, head, hand)
            _run_hand_hot(pg, st, head, hand, n, m, mc)
        else:
            st[x] = IS_RESIDENT | IS_TEST
            _insert(x, pg, st, head, hand)
    if final is not None:
        final[:] = (st & IS_RESIDENT) != 0
    return faults


@helper
def _ring_add(r: int, f: int, pg: np.ndarray, head: np.ndarray, hand: np.ndarray) -> None:
    """At the back of ring r: just before its head."""
    h = head[r]
    if h < 0:
        pg[f, r] = pg[f, PRV + r] = head[r] = hand[r] = f
        return
    p = pg[h, PRV + r]
    pg[p, r] = f
    pg[f, PRV + r] = p
    pg[f, r] = h
    pg[h, PRV + r] = f


@helper
def _ring_remove(r: int, f: int, pg: np.ndarray, head: np.ndarray, hand: np.ndarray) -> None:
    a, b = pg[f, r], pg[f, PRV + r]
    pg[f, r] = pg[f, PRV + r] = -1
    if a == f:
        head[r] = hand[r] = -1
        return
    pg[b, r] = a
    pg[a, PRV + r] = b
    if head[r] == f:
        head[r] = a
    if hand[r] == f:
        hand[r] = a


@helper
def _remove_all(f: int, pg: np.ndarray, head: np.ndarray, hand: np.ndarray) -> None:
    for r in range(4):
        if pg[f, r] >= 0:
            _ring_remove(r, f, pg, head, hand)


@helper
def _insert(f: int, pg: np.ndarray, st: np.ndarray, head: np.ndarray, hand: np.ndarray) -> None:
    """At the list head, in the circle and in the sub-rings of its state."""
    s = st[f]
    _ring_add(CLOCK, f, pg, head, hand)
    if s & IS_RESIDENT and not s & IS_HOT:
        _ring_add(COLD, f, pg, head, hand)
    if s & (IS_HOT | IS_TEST):
        _ring_add(HOT, f, pg, head, hand)
    if s & IS_TEST:
        _ring_add(TEST, f, pg, head, hand)


@helper
def _hand_hot_to(y: int, pg: np.ndarray, head: np.ndarray) -> None:
    """HAND_hot moves forward to y; each sub-ring's head follows (clockpro._hand_hot_to)."""
    if y == head[CLOCK]:
        return
    head[CLOCK] = y
    p = pg[y, PRV + CLOCK]
    for r in range(1, 4):
        if pg[y, r] >= 0:
            head[r] = y
        elif pg[p, r] >= 0:
            head[r] = pg[p, r]


@helper
def _end_test(
    f: int, pg: np.ndarray, st: np.ndarray, head: np.ndarray, hand: np.ndarray, n: np.ndarray, mc: np.ndarray
) -> None:
    """A test period ends: a non-resident page leaves the list, and m_c shrinks."""
    st[f] &= ~IS_TEST
    _ring_remove(TEST, f, pg, head, hand)
    _ring_remove(HOT, f, pg, head, hand)
    if not st[f] & IS_RESIDENT:
        _ring_remove(CLOCK, f, pg, head, hand)
        n[1] -= 1
        mc[0] = max(mc[0] - 1, 1.0)


@helper
def _run_hand_hot(
    pg: np.ndarray, st: np.ndarray, head: np.ndarray, hand: np.ndarray, n: np.ndarray, m: int, mc: np.ndarray
) -> None:
    demoted = False
    while n[0] > 0 and (demoted or n[0] > m - mc[0]):
        f = head[HOT]
        _hand_hot_to(f, pg, head)
        s = st[f]
        if s & IS_HOT:
            if demoted:
                return  # it stops at a hot page
            if s & IS_REF:
                st[f] = s & ~IS_REF
            else:  # demoted to a cold page, not in test, where the hand is
                st[f] = s & ~IS_HOT
                n[0] -= 1
                _ring_remove(HOT, f, pg, head, hand)
                _ring_add(COLD, f, pg, head, hand)
                head[COLD] = f
                demoted = True
        else:
            _end_test(f, pg, st, head, hand, n, mc)
        if pg[f, CLOCK] >= 0:
            _hand_hot_to(pg[f, CLOCK], pg, head)
