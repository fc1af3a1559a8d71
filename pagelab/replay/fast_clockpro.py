"""Compiled replay of CLOCK-Pro (clockpro.py), step for step: the same circular list and
three hands, in per-page arrays. Like WSClock its hands pass pages they leave as they
are (HAND_cold passes hot and non-resident pages), so a fault may walk far: compiled, not
scan-free. Returns -1 where clockpro.py would give up on its bounded hand (it then takes
its first candidate): the caller runs the plain class instead.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def clockpro_faults(ids: np.ndarray, nuniq: int, frames: int, cold: float) -> int:
    nxt = np.full(nuniq, -1, dtype=np.int64)
    prv = np.full(nuniq, -1, dtype=np.int64)
    hot = np.zeros(nuniq, dtype=np.bool_)
    resident = np.zeros(nuniq, dtype=np.bool_)
    test = np.zeros(nuniq, dtype=np.bool_)
    ref = np.zeros(nuniq, dtype=np.bool_)
    st = np.full(3, -1, dtype=np.int64)  # hands: hot, cold, test
    n = np.zeros(3, dtype=np.int64)  # list length, hot pages, non-resident pages
    m = frames
    m_c = max(1.0, cold * m)
    count = 0
    faults = 0
    for x in ids:
        if resident[x]:
            ref[x] = True
            continue
        faults += 1
        if count >= frames:
            v = -1
            for _ in range(4 * n[0] + 4):
                f = st[1]
                if f < 0:
                    break
                if hot[f] or not resident[f]:
                    st[1] = nxt[f]
                    continue
                if not ref[f]:
                    st[1] = nxt[f]
                    v = f
                    break
                ref[f] = False
                st[1] = nxt[f]
                if test[f]:
                    test[f] = False
                    _remove(f, nxt, prv, st, n, hot, test, ref)
                    _insert(f, nxt, prv, st, n)
                    hot[f] = True
                    n[1] += 1
                    m_c = _hand_hot(nxt, prv, st, n, hot, resident, test, ref, m, m_c)
                else:
                    _remove(f, nxt, prv, st, n, hot, test, ref)
                    _insert(f, nxt, prv, st, n)
                    test[f] = True
            if v < 0:
                return -1
            resident[v] = False
            count -= 1
            if test[v]:
                n[2] += 1  # stays in the list, non-resident, until its test period ends
                while n[2] > m and st[2] >= 0:
                    f = st[2]
                    st[2] = nxt[f]
                    if test[f]:
                        ended, m_c = _end_test(f, nxt, prv, st, n, hot, resident, test, ref, m_c)
                        if ended:
                            break
            else:
                _remove(v, nxt, prv, st, n, hot, test, ref)
        resident[x] = True
        count += 1
        if nxt[x] >= 0:  # non-resident, in its test period: it comes back hot
            n[2] -= 1
            m_c = min(m_c + 1, m - 1.0)
            _remove(x, nxt, prv, st, n, hot, test, ref)
            _insert(x, nxt, prv, st, n)
            hot[x] = True
            n[1] += 1
            m_c = _hand_hot(nxt, prv, st, n, hot, resident, test, ref, m, m_c)
        else:
            _insert(x, nxt, prv, st, n)
            test[x] = True
    return faults


@njit(cache=True)
def _insert(f: int, nxt: np.ndarray, prv: np.ndarray, st: np.ndarray, n: np.ndarray) -> None:
    """At the list head: just behind HAND_hot."""
    n[0] += 1
    if st[0] < 0:
        nxt[f] = prv[f] = f
        st[0] = st[1] = st[2] = f
        return
    h = st[0]
    after = prv[h]
    nxt[after] = f
    prv[f] = after
    nxt[f] = h
    prv[h] = f


@njit(cache=True)
def _remove(
    f: int,
    nxt: np.ndarray,
    prv: np.ndarray,
    st: np.ndarray,
    n: np.ndarray,
    hot: np.ndarray,
    test: np.ndarray,
    ref: np.ndarray,
) -> None:
    a, b = nxt[f], prv[f]
    nxt[f] = prv[f] = -1
    n[0] -= 1
    if a == f:
        st[0] = st[1] = st[2] = -1
    else:
        nxt[b] = a
        prv[a] = b
        for k in range(3):
            if st[k] == f:
                st[k] = a
    if hot[f]:
        hot[f] = False
        n[1] -= 1
    test[f] = False
    ref[f] = False


@njit(cache=True)
def _end_test(
    f: int,
    nxt: np.ndarray,
    prv: np.ndarray,
    st: np.ndarray,
    n: np.ndarray,
    hot: np.ndarray,
    resident: np.ndarray,
    test: np.ndarray,
    ref: np.ndarray,
    m_c: float,
) -> tuple[bool, float]:
    """A test period ends: a non-resident page leaves the list (and m_c shrinks)."""
    test[f] = False
    if resident[f]:
        return False, m_c
    _remove(f, nxt, prv, st, n, hot, test, ref)
    n[2] -= 1
    return True, max(m_c - 1, 1.0)


@njit(cache=True)
def _hand_hot(
    nxt: np.ndarray,
    prv: np.ndarray,
    st: np.ndarray,
    n: np.ndarray,
    hot: np.ndarray,
    resident: np.ndarray,
    test: np.ndarray,
    ref: np.ndarray,
    m: int,
    m_c: float,
) -> float:
    while n[1] > m - m_c and n[1] > 0:
        f = st[0]
        st[0] = nxt[f]
        if hot[f]:
            if ref[f]:
                ref[f] = False
            else:
                hot[f] = False  # demoted to a cold page, not in test
                n[1] -= 1
                return m_c
        elif test[f]:
            _, m_c = _end_test(f, nxt, prv, st, n, hot, resident, test, ref, m_c)
    return m_c
