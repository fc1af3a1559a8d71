"""Compiled replay of the working-set policy (ws); equal to ws.py run by engine.simulate
(tests/test_policies_fast.py).

ws.py scans its pages at a fault, but only to find the first page (in load order) out of
the working set, else the one unused longest. A page whose A bit is set is always passed
over there, and the time the scan writes into it is overwritten by the next tick before
the bit can clear, so it never shows. So the pages whose A bit is clear sit in a segment
tree over load-order slots keyed by (time of last use, slot): the first one older than tau
is a left-most descent, the longest unused is the root. Only pages used since the last
tick (at most `tick`) are touched at a tick. As in fast_queues.py, the loops take every
array they use and run with reference counting off (`loop`). Given `miss` and `final`,
both mark the references that fault and the pages resident at the end (counting.py).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pagelab.replay.fast_queues import loop
from pagelab.replay.fast_sampled import _compact, _min_rebuild, _min_update, _pow2

EMPTY = np.int64(0x7FFFFFFFFFFFFFFF)
SLOT = np.int64(0xFFFFFFFF)


@njit(cache=True)
def _first_below(tree: np.ndarray, p: int, limit: np.int64) -> int:
    """The left-most slot whose time (key >> 32) is below `limit`, or -1."""
    if (tree[1] >> np.int64(32)) >= limit or tree[1] == EMPTY:
        return -1
    i = 1
    while i < p:
        left = tree[2 * i]
        i = 2 * i if left != EMPTY and (left >> np.int64(32)) < limit else 2 * i + 1
    return i - p


@njit(cache=True)
def ws_faults(
    ids: np.ndarray,
    nuniq: int,
    frames: int,
    tick: int,
    tau: int,
    miss: np.ndarray | None = None,
    final: np.ndarray | None = None,
) -> int:
    cap = 2 * frames + 2
    p = _pow2(cap)
    resident = np.zeros(nuniq, dtype=np.bool_)
    young = np.zeros(nuniq, dtype=np.bool_)
    last_use = np.zeros(nuniq, dtype=np.int64)
    slot_of = np.zeros(nuniq, dtype=np.int64)
    used_list = np.empty(tick, dtype=np.int64)
    page_at = np.full(cap, -1, dtype=np.int64)
    idle = np.full(2 * p, EMPTY, dtype=np.int64)  # (last use, slot) of pages with A clear
    faults = _ws(ids, frames, tick, tau, resident, young, last_use, slot_of, used_list, page_at, idle, miss)
    if final is not None:
        final[:] = resident
    return faults


@loop
def _ws(
    ids: np.ndarray,
    frames: int,
    tick: int,
    tau: int,
    resident: np.ndarray,
    young: np.ndarray,
    last_use: np.ndarray,
    slot_of: np.ndarray,
    used_list: np.ndarray,
    page_at: np.ndarray,
    idle: np.ndarray,
    miss: np.ndarray | None,
) -> int:
    cap = len(page_at)
    p = len(idle) // 2
    nused = 0
    used = 0
    oldest = 0  # no resident page below this slot (slots are not reused until compacted)
    count = 0
    faults = 0
    to_tick = tick  # references left until the next tick (no division per reference)
    for t in range(len(ids)):
        x = ids[t]
        if not resident[x]:
            faults += 1
            if miss is not None:
                miss[t] = 1
            if count >= frames:
                v = _first_below(idle, p, np.int64(t - tau))  # now - last > tau
                if v < 0 and idle[1] != EMPTY:
                    v = idle[1] & SLOT
                elif v < 0:  # every page used since the last tick: the first loaded
                    while page_at[oldest] < 0:
                        oldest += 1
                    v = oldest
                y = page_at[v]
                resident[y] = False
                young[y] = False
                page_at[v] = -1
                _min_update(idle, p, v, EMPTY)
                count -= 1
            if used == cap:
                used = _compact(page_at, slot_of, resident)
                oldest = 0
                idle[:] = EMPTY
                for s in range(used):
                    y = page_at[s]
                    if not young[y]:
                        idle[p + s] = (last_use[y] << np.int64(32)) | s
                _min_rebuild(idle, p)
            resident[x] = True
            last_use[x] = t
            slot_of[x] = used
            page_at[used] = x
            used += 1
            count += 1
        if not young[x]:
            young[x] = True
            _min_update(idle, p, slot_of[x], EMPTY)
            used_list[nused] = x
            nused += 1
        to_tick -= 1
        if to_tick == 0:
            to_tick = tick
            now = t + 1
            for j in range(nused):
                y = used_list[j]
                if young[y]:
                    young[y] = False
                    last_use[y] = now
                    _min_update(idle, p, slot_of[y], (np.int64(now) << np.int64(32)) | slot_of[y])
            nused = 0
    return faults


@njit(cache=True)
def wsclock_faults(
    ids: np.ndarray,
    writes: np.ndarray,
    nuniq: int,
    frames: int,
    tick: int,
    tau: int,
    miss: np.ndarray | None = None,
    final: np.ndarray | None = None,
) -> int:
    """WSClock over a circular doubly linked list with a hand. Its turn is the
    algorithm's own: old dirty pages and recently used ones are passed over, so a fault
    may look at every page (compiled, but not free of scans)."""
    resident = np.zeros(nuniq, dtype=np.bool_)
    young = np.zeros(nuniq, dtype=np.bool_)
    dirty = np.zeros(nuniq, dtype=np.bool_)
    when = np.zeros(nuniq, dtype=np.int64)  # time of last use
    nxt = np.zeros(nuniq, dtype=np.int64)
    prv = np.zeros(nuniq, dtype=np.int64)
    used_list = np.empty(tick, dtype=np.int64)
    nused = 0
    hand = -1
    count = 0
    faults = 0
    to_tick = tick  # references left until the next tick (no division per reference)
    for t in range(len(ids)):
        x = ids[t]
        if not resident[x]:
            faults += 1
            if miss is not None:
                miss[t] = 1
            if count >= frames:
                scheduled = clean = v = -1
                for _ in range(count):
                    f = hand
                    if young[f]:
                        young[f] = False
                        when[f] = t
                    elif t - when[f] > tau:
                        if not dirty[f]:
                            v = f
                            hand = nxt[f]
                            break
                        if scheduled < 0:
                            scheduled = f
                    elif clean < 0 and not dirty[f]:
                        clean = f
                    hand = nxt[f]
                if v < 0:
                    v = scheduled if scheduled >= 0 else (clean if clean >= 0 else hand)
                if v == hand:
                    hand = nxt[v]
                nxt[prv[v]] = nxt[v]
                prv[nxt[v]] = prv[v]
                resident[v] = False
                young[v] = False
                dirty[v] = False
                count -= 1
            if count == 0:
                hand = x
                nxt[x] = prv[x] = x
            else:  # just behind the hand
                before = prv[hand]
                nxt[before] = x
                prv[x] = before
                nxt[x] = hand
                prv[hand] = x
            resident[x] = True
            when[x] = t
            count += 1
        if not young[x]:
            young[x] = True
            used_list[nused] = x
            nused += 1
        if writes[t]:
            dirty[x] = True
        to_tick -= 1
        if to_tick == 0:
            to_tick = tick
            for j in range(nused):
                y = used_list[j]
                if young[y] and resident[y]:
                    young[y] = False
                    when[y] = t + 1
            nused = 0
    if final is not None:
        final[:] = resident
    return faults
