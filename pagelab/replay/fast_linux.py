"""Compiled replay of Linux's reclaim models (linux, mglru); each equals its Policy class
run by engine.simulate (tests/test_policies_fast.py).

The lists are linked through one per-page array (fast_queues.py's helpers); shadow entries
are a third list, since a page is resident or remembered, never both. Every step of the
reclaim loops moves a page whose A bit a reference set, or one that an activation put on
the active list, so no eviction scans the resident set. MGLRU's aging visits only the
pages whose A bit was set since it was last cleared, in load order (the order mglru.py's
walk over its pages takes).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pagelab.replay.fast_queues import NIL, _push, _unlink

INACTIVE, ACTIVE, SHADOW = 0, 1, 2
RING = 17  # generations live at once: at most `gens` <= 16


@njit(cache=True)
def linux_faults(ids: np.ndarray, nuniq: int, frames: int) -> int:
    link = np.full((nuniq, 3), NIL, dtype=np.int32)
    head = np.full(3, NIL, dtype=np.int64)
    tail = np.full(3, NIL, dtype=np.int64)
    size = np.zeros(3, dtype=np.int64)
    young = np.zeros(nuniq, dtype=np.bool_)
    flag = np.zeros(nuniq, dtype=np.bool_)  # PG_referenced
    shadow = np.zeros(nuniq, dtype=np.int64)
    age = 0
    limit = 2 * max(frames, 1)
    faults = 0
    for x in ids:
        q = link[x, 2]
        if q == INACTIVE or q == ACTIVE:  # noqa: SIM109 (numba)
            young[x] = True
            continue
        faults += 1
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
def mglru_faults(ids: np.ndarray, nuniq: int, frames: int, tick: int, gens: int) -> int:
    link = np.full((nuniq, 3), NIL, dtype=np.int32)
    head = np.full(RING, NIL, dtype=np.int64)
    tail = np.full(RING, NIL, dtype=np.int64)
    size = np.zeros(RING, dtype=np.int64)
    young = np.zeros(nuniq, dtype=np.bool_)
    listed = np.zeros(nuniq, dtype=np.bool_)
    load = np.zeros(nuniq, dtype=np.int64)  # load order: the walk's order
    pending = np.empty(nuniq, dtype=np.int64)  # pages whose A bit was set since cleared
    npending = 0
    loads = 0
    count = 0
    min_seq, max_seq = 0, 1
    faults = 0
    for t in range(len(ids)):
        x = ids[t]
        if link[x, 2] == NIL:
            faults += 1
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
        if (t + 1) % tick == 0:
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
    order = np.argsort(load[pending[:k]], kind="mergesort")
    g = max_seq % RING
    for j in range(k):
        y = pending[order[j]]
        young[y] = False
        _unlink(y, link, head, tail, size)
        _push(y, g, link, head, tail, size)
    return max_seq, 0
