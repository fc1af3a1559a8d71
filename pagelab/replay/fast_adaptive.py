"""Compiled replay of CAR and LIRS; each equals its Policy class run by engine.simulate
(tests/test_policies_fast.py). Lists are linked through per-page arrays (fast_queues.py's
helpers). CAR's hands clear a reference bit, or move a page from T1 to T2 (once per stay),
at each step; LIRS's stack pruning removes each entry once: no eviction scans memory.
As in fast_queues.py, the loops take every array they use and run with reference counting
off (`loop`). Given `miss` and `final`, both mark the references that fault and the
pages resident at the end (counting.py).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pagelab.replay.fast_queues import NIL, _push, _unlink, lists, loop

T1, T2, B1, B2 = 0, 1, 2, 3


@njit(cache=True)
def car_faults(
    ids: np.ndarray, nuniq: int, frames: int, miss: np.ndarray | None = None, final: np.ndarray | None = None
) -> int:
    link, head, tail, size = lists(nuniq, 4)
    faults = _car(ids, frames, link, head, tail, size, np.zeros(nuniq, dtype=np.bool_), miss)
    if final is not None:
        final[:] = (link[:, 2] == T1) | (link[:, 2] == T2)
    return faults


@loop
def _car(
    ids: np.ndarray,
    frames: int,
    link: np.ndarray,
    head: np.ndarray,
    tail: np.ndarray,
    size: np.ndarray,
    ref: np.ndarray,
    miss: np.ndarray | None,
) -> int:
    c = frames
    p = 0.0
    faults = 0
    for t, x in enumerate(ids):
        q = link[x, 2]
        if q == T1 or q == T2:  # noqa: SIM109 (numba)
            ref[x] = True
            continue
        faults += 1
        if miss is not None:
            miss[t] = 1
        replaced = False
        if size[T1] + size[T2] >= frames:
            replaced = True
            while True:
                if size[T1] > 0 and size[T1] >= max(1.0, p):
                    f = head[T1]
                    if not ref[f]:
                        _unlink(f, link, head, tail, size)
                        _push(f, B1, link, head, tail, size)
                        break
                    _unlink(f, link, head, tail, size)
                else:
                    f = head[T2]
                    _unlink(f, link, head, tail, size)
                    if not ref[f]:
                        _push(f, B2, link, head, tail, size)
                        break
                ref[f] = False
                _push(f, T2, link, head, tail, size)
        q = link[x, 2]
        ghost = q >= B1  # in B1 or B2 (the ghost lists are numbered last)
        if replaced and not ghost:
            if size[T1] + size[B1] >= c and size[B1] > 0:
                _unlink(head[B1], link, head, tail, size)
            elif size[T1] + size[T2] + size[B1] + size[B2] >= 2 * c and size[B2] > 0:
                _unlink(head[B2], link, head, tail, size)
        b1, b2 = size[B1], size[B2]
        if q == B1:
            p = min(p + max(1.0, b2 / b1), float(c))
            _unlink(x, link, head, tail, size)
            _push(x, T2, link, head, tail, size)
        elif q == B2:
            p = max(p - max(1.0, b1 / b2), 0.0)
            _unlink(x, link, head, tail, size)
            _push(x, T2, link, head, tail, size)
        else:
            _push(x, T1, link, head, tail, size)
        ref[x] = False
    return faults


@njit(cache=True)
def lirs_faults(
    ids: np.ndarray,
    nuniq: int,
    frames: int,
    hir: float,
    stack: float,
    demote: bool,
    miss: np.ndarray | None = None,
    final: np.ndarray | None = None,
) -> int:
    """The stack S is one list; the queue Q and the non-resident HIR pages of S (by
    eviction time, for `stack`) are two lists of another (a HIR page may be in S and in
    one of those)."""
    ls, hs, ts, ns = lists(nuniq, 1)
    lq, hq, tq, nq = lists(nuniq, 2)
    lir = np.zeros(nuniq, dtype=np.bool_)
    resident = np.zeros(nuniq, dtype=np.bool_)
    lir_size = max(frames - max(1, int(hir * frames)), 1)
    faults = _lirs(ids, frames, lir_size, stack * frames, demote, ls, hs, ts, ns, lq, hq, tq, nq, lir, resident, miss)
    if final is not None:
        final[:] = resident
    return faults


Q, GONE = 0, 1


@loop
def _lirs(
    ids: np.ndarray,
    frames: int,
    lir_size: int,
    bound: float,
    demote: bool,
    ls: np.ndarray,
    hs: np.ndarray,
    ts: np.ndarray,
    ns: np.ndarray,
    lq: np.ndarray,
    hq: np.ndarray,
    tq: np.ndarray,
    nq: np.ndarray,
    lir: np.ndarray,
    resident: np.ndarray,
    miss: np.ndarray | None,
) -> int:
    nlir = 0
    count = 0
    faults = 0
    for t, x in enumerate(ids):
        if resident[x]:
            if lir[x]:
                bottom = hs[0] == x
                _unlink(x, ls, hs, ts, ns)
                _push(x, 0, ls, hs, ts, ns)
                if bottom:
                    _prune(ls, hs, ts, ns, lq, hq, tq, nq, lir)
            elif ls[x, 2] != NIL:
                nlir = _promote(x, ls, hs, ts, ns, lq, hq, tq, nq, lir, nlir, lir_size, demote)
            else:
                _unlink(x, lq, hq, tq, nq)
                _push(x, Q, lq, hq, tq, nq)
                if demote and nlir >= lir_size:
                    _demote(ls, hs, ts, ns, lq, hq, tq, nq, lir)  # Q's front goes at the next fault
                    nlir -= 1
                _push(x, 0, ls, hs, ts, ns)
                if nlir == 0:  # that was the only LIR page: x, HIR, may not be S's bottom
                    _prune(ls, hs, ts, ns, lq, hq, tq, nq, lir)
        else:
            faults += 1
            if miss is not None:
                miss[t] = 1
            if count >= frames:
                if nq[Q] > 0:
                    v = hq[Q]
                    _unlink(v, lq, hq, tq, nq)
                    if ls[v, 2] != NIL:
                        _push(v, GONE, lq, hq, tq, nq)
                else:  # no resident HIR page: the bottom LIR one goes (lirs.py's fallback)
                    v = hs[0]
                    lir[v] = False
                    nlir -= 1
                    _unlink(v, ls, hs, ts, ns)
                    _prune(ls, hs, ts, ns, lq, hq, tq, nq, lir)
                resident[v] = False
                count -= 1
            resident[x] = True
            count += 1
            if lq[x, 2] == GONE:
                _unlink(x, lq, hq, tq, nq)
            if nlir < lir_size:
                lir[x] = True
                nlir += 1
                if ls[x, 2] != NIL:
                    _unlink(x, ls, hs, ts, ns)
                _push(x, 0, ls, hs, ts, ns)
            elif ls[x, 2] != NIL:
                nlir = _promote(x, ls, hs, ts, ns, lq, hq, tq, nq, lir, nlir, lir_size, demote)
            else:
                _push(x, 0, ls, hs, ts, ns)
                _push(x, Q, lq, hq, tq, nq)
        if bound > 0:
            while ns[0] > bound and nq[GONE] > 0:  # forget the page evicted longest ago
                f = hq[GONE]
                _unlink(f, lq, hq, tq, nq)
                _unlink(f, ls, hs, ts, ns)
    return faults


@njit(cache=True)
def _prune(
    ls: np.ndarray,
    hs: np.ndarray,
    ts: np.ndarray,
    ns: np.ndarray,
    lq: np.ndarray,
    hq: np.ndarray,
    tq: np.ndarray,
    nq: np.ndarray,
    lir: np.ndarray,
) -> None:
    """Stack pruning: the bottom of S is always an LIR page."""
    while ns[0] > 0 and not lir[hs[0]]:
        f = hs[0]
        _unlink(f, ls, hs, ts, ns)
        if lq[f, 2] == GONE:
            _unlink(f, lq, hq, tq, nq)


@njit(cache=True)
def _demote(
    ls: np.ndarray,
    hs: np.ndarray,
    ts: np.ndarray,
    ns: np.ndarray,
    lq: np.ndarray,
    hq: np.ndarray,
    tq: np.ndarray,
    nq: np.ndarray,
    lir: np.ndarray,
) -> None:
    """The bottom LIR page becomes a resident HIR page at Q's end."""
    f = hs[0]
    _unlink(f, ls, hs, ts, ns)
    lir[f] = False
    _push(f, Q, lq, hq, tq, nq)
    _prune(ls, hs, ts, ns, lq, hq, tq, nq, lir)


@njit(cache=True)
def _promote(
    x: int,
    ls: np.ndarray,
    hs: np.ndarray,
    ts: np.ndarray,
    ns: np.ndarray,
    lq: np.ndarray,
    hq: np.ndarray,
    tq: np.ndarray,
    nq: np.ndarray,
    lir: np.ndarray,
    nlir: int,
    lir_size: int,
    demote: bool,
) -> int:
    """A HIR page found in S becomes LIR; the bottom LIR page becomes a resident HIR page
    at Q's end (with `demote`, only if the LIR set was full). Returns the LIR count."""
    full = nlir >= lir_size
    if lq[x, 2] == Q:
        _unlink(x, lq, hq, tq, nq)
    lir[x] = True
    _unlink(x, ls, hs, ts, ns)
    _push(x, 0, ls, hs, ts, ns)
    if full or not demote:
        _demote(ls, hs, ts, ns, lq, hq, tq, nq, lir)
        return nlir
    return nlir + 1
