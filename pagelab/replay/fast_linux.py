"""Compiled replay of Linux's reclaim models (linux, mglru); each equals its Policy class
run by engine.simulate (tests/test_policies_fast.py).

The lists are linked through one per-page array (fast_queues.py's helpers); shadow entries
are a third list, since a page is resident or remembered, never both. Every step of the
reclaim loops moves a page whose A bit a reference set, or one that an activation put on
the active list, so no eviction scans the resident set. MGLRU's aging visits only the
pages whose A bit was set since it was last cleared, in load order (the order mglru.py's
walk over its pages takes). As in fast_queues.py, the loops take every array they use and
run with reference counting off (`loop`). Given `miss` and `final`, both mark the
references that fault and the pages resident at the end (counting.py).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pagelab.replay.fast_queues import NIL, _push, _unlink, lists, loop

INACTIVE, ACTIVE, SHADOW = 0, 1, 2
RING = 17  # generations live at once: at most `gens` <= 16


@njit(cache=True)
def linux_faults(
    ids: np.ndarray, nuniq: int, frames: int, miss: np.ndarray | None = None, final: np.ndarray | None = None
) -> int:
    link, head, tail, size = lists(nuniq, 3)
    young = np.zeros(nuniq, dtype=np.bool_)
    flag = np.zeros(nuniq, dtype=np.bool_)  # PG_referenced
    shadow = np.zeros(nuniq, dtype=np.int64)
    faults = _linux(ids, frames, link, head, tail, size, young, flag, shadow, miss)
    if final is not None:
        final[:] = (link[:, 2] == INACTIVE) | (link[:, 2] == ACTIVE)
    return faults


@loop
def _linux(
    ids: np.ndarray,
    frames: int,
    link: np.ndarray,
    head: np.ndarray,
    tail: np.ndarray,
    size: np.ndarray,
    young: np.ndarray,
    flag: np.ndarray,
    shadow: np.ndarray,
    miss: np.ndarray | None,
) -> int:
    age = 0
    limit = 2 * max(frames, 1)
    faults = 0
    for t, x in enumerate(ids):
        q = link[x, 2]
        if q == INACTIVE or q == ACTIVE:  # noqa: SIM109 (numba)
            young[x] = True
            continue
        faults += 1
        if miss is not None:
            miss[t] = 1
        if size[INACTIVE] + size[ACTIVE] >= frames:
            while size[ACTIVE] > 0 and size[INACTIVE] < size[ACTIVE]:  # shrink_active_list
                f = head[ACTIVE]
                _unlink(f, link, head, tail, size)
                young[f] = False
                flag[f] = False
                _push(f, INACTIVE, link, head, tail, size)
            while True:
                if size[INACTIVE] == 0:
                    f = head[ACTIVE]
                    _unlink(f, link, head, tail, size)
                    flag[f] = False
                    _push(f, INACTIVE, link, head, tail, size)
                    continue
                f = head[INACTIVE]
                was = young[f]
                young[f] = False
                if not was:
                    break
                _unlink(f, link, head, tail, size)
                if flag[f]:
                    flag[f] = False
                    _push(f, ACTIVE, link, head, tail, size)
                    age += 1
                else:
                    flag[f] = True
                    _push(f, INACTIVE, link, head, tail, size)
            _unlink(f, link, head, tail, size)  # evicted: a shadow entry remembers when
            flag[f] = False
            shadow[f] = age
            age += 1
            _push(f, SHADOW, link, head, tail, size)
            while size[SHADOW] > limit:
                _unlink(head[SHADOW], link, head, tail, size)
        if link[x, 2] == SHADOW:  # (the eviction's trimming may just have dropped it)
            distance = age - shadow[x]
            _unlink(x, link, head, tail, size)
            if distance <= size[ACTIVE]:
                _push(x, ACTIVE, link, head, tail, size)
                age += 1
            else:
                _push(x, INACTIVE, link, head, tail, size)
        else:
            _push(x, INACTIVE, link, head, tail, size)
        young[x] = True
    return faults


@njit(cache=True)
def mglru_faults(
    ids: np.ndarray,
    nuniq: int,
    frames: int,
    tick: int,
    gens: int,
    miss: np.ndarray | None = None,
    final: np.ndarray | None = None,
) -> int:
    link, head, tail, size = lists(nuniq, RING)
    young = np.zeros(nuniq, dtype=np.bool_)
    listed = np.zeros(nuniq, dtype=np.bool_)
    load = np.zeros(nuniq, dtype=np.int64)  # load order: the walk's order
    pending = np.empty(2 * nuniq, dtype=np.int64)  # pages whose A bit was set since cleared; their load order
    faults = _mglru(ids, frames, tick, gens, link, head, tail, size, young, listed, load, pending, miss)
    if final is not None:
        final[:] = link[:, 2] != NIL
    return faults


@loop
def _mglru(
    ids: np.ndarray,
    frames: int,
    tick: int,
    gens: int,
    link: np.ndarray,
    head: np.ndarray,
    tail: np.ndarray,
    size: np.ndarray,
    young: np.ndarray,
    listed: np.ndarray,
    load: np.ndarray,
    pending: np.ndarray,
    miss: np.ndarray | None,
) -> int:
    npending = 0
    loads = 0
    count = 0
    min_seq, max_seq = 0, 1
    faults = 0
    to_tick = tick  # references left until the next tick (no division per reference)
    for t in range(len(ids)):
        x = ids[t]
        if link[x, 2] == NIL:
            faults += 1
            if miss is not None:
                miss[t] = 1
            if count >= frames:
                while True:
                    if max_seq - min_seq + 1 <= 2:
                        max_seq, npending = _age(
                            max_seq, min_seq, gens, link, head, tail, size, young, listed, load, pending, npending
                        )
                    g = min_seq % RING
                    if size[g] == 0:
                        if max_seq - min_seq + 1 > 2:
                            min_seq += 1
                        else:
                            max_seq, npending = _age(
                                max_seq, min_seq, gens, link, head, tail, size, young, listed, load, pending, npending
                            )
                        continue
                    f = head[g]
                    if young[f]:
                        young[f] = False
                        _unlink(f, link, head, tail, size)
                        _push(f, max_seq % RING, link, head, tail, size)
                        continue
                    _unlink(f, link, head, tail, size)
                    count -= 1
                    break
            _push(x, max_seq % RING, link, head, tail, size)
            load[x] = loads
            loads += 1
            count += 1
        if not young[x]:
            young[x] = True
            if not listed[x]:
                listed[x] = True
                pending[npending] = x
                npending += 1
        to_tick -= 1
        if to_tick == 0:
            to_tick = tick
            max_seq, npending = _age(
                max_seq, min_seq, gens, link, head, tail, size, young, listed, load, pending, npending
            )
    return faults


@njit(cache=True)
def _age(
    max_seq: int,
    min_seq: int,
    gens: int,
    link: np.ndarray,
    head: np.ndarray,
    tail: np.ndarray,
    size: np.ndarray,
    young: np.ndarray,
    listed: np.ndarray,
    load: np.ndarray,
    pending: np.ndarray,
    npending: int,
) -> tuple[int, int]:
    """try_to_inc_max_seq: a new youngest generation takes the resident pages whose A bit
    is set, in load order. Returns the new max_seq and pending count."""
    if max_seq - min_seq + 1 >= gens:
        return max_seq, npending
    max_seq += 1
    k = 0
    for j in range(npending):
        y = pending[j]
        listed[y] = False
        if young[y] and link[y, 2] != NIL:
            pending[k] = y
            k += 1
    half = len(pending) // 2
    for j in range(k):  # their load order, read once: sorting then stays in cache
        pending[half + j] = load[pending[j]]
    _sort_by(pending[:k], pending[half : half + k])
    g = max_seq % RING
    for j in range(k):
        y = pending[j]
        young[y] = False
        _unlink(y, link, head, tail, size)
        _push(y, g, link, head, tail, size)
    return max_seq, 0


@njit(cache=True)
def _sort_by(a: np.ndarray, key: np.ndarray) -> None:
    """Heapsort a and key in place by key (distinct keys), with no memory allocated."""
    n = len(a)
    for start in range(n // 2 - 1, -1, -1):
        _sift(a, key, start, n)
    for end in range(n - 1, 0, -1):
        a[0], a[end] = a[end], a[0]
        key[0], key[end] = key[end], key[0]
        _sift(a, key, 0, end)


@njit(cache=True)
def _sift(a: np.ndarray, key: np.ndarray, i: int, n: int) -> None:
    """Move entry i down the max-heap of the first n to its place."""
    while True:
        c = 2 * i + 1
        if c >= n:
            return
        if c + 1 < n and key[c + 1] > key[c]:
            c += 1
        if key[i] >= key[c]:
            return
        a[i], a[c] = a[c], a[i]
        key[i], key[c] = key[c], key[i]
        i = c
