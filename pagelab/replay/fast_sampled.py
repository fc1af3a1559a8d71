"""Compiled replay of the policies that sample A bits at ticks or pick at random (aging,
nfu, nru, random). Each equals its Policy class run by engine.simulate, reference for
reference, including the seeded generator (tests/test_policies_fast.py checks it).

Resident pages sit in slots numbered in load order. A segment tree over the slots gives
NFU's victim, the smallest (counter, slot), in O(log F) for F frames; per-class counts over
blocks of slots (_cnt_find) give the r-th page of an NRU class, or of all pages, for
random. A tick touches only the
pages used since the last one (at most `tick`), and aging's counters are kept as "last
tick that set the top bit" plus history (aging_faults), so no step scans the resident set.
Given `miss` and `final`, each marks the references that fault and the pages resident at
the end (counting.py).
"""

from __future__ import annotations

import random

import numpy as np
from numba import njit

from pagelab.replay.fast_queues import loop

EMPTY = np.int64(0x7FFFFFFFFFFFFFFF)


def mt_state(seed: int) -> np.ndarray:
    """Python's random.Random(seed) state (624 words and the index) as an array, so the
    compiled code draws the same numbers."""
    state = random.Random(seed).getstate()[1]
    return np.array(state, dtype=np.uint64)


@njit(cache=True)
def _genrand(mt: np.ndarray) -> np.uint64:
    """MT19937's next 32-bit output (the generator behind Python's random)."""
    i = np.int64(mt[624])
    if i >= 624:
        for kk in range(624):
            y = (mt[kk] & np.uint64(0x80000000)) | (mt[(kk + 1) % 624] & np.uint64(0x7FFFFFFF))
            v = mt[(kk + 397) % 624] ^ (y >> np.uint64(1))
            if y & np.uint64(1):
                v ^= np.uint64(0x9908B0DF)
            mt[kk] = v
        i = np.int64(0)
    y = mt[i]
    mt[624] = np.uint64(i + 1)
    y ^= y >> np.uint64(11)
    y ^= (y << np.uint64(7)) & np.uint64(0x9D2C5680)
    y ^= (y << np.uint64(15)) & np.uint64(0xEFC60000)
    y ^= y >> np.uint64(18)
    return y & np.uint64(0xFFFFFFFF)


@njit(cache=True)
def randbelow(mt: np.ndarray, n: int) -> int:
    """random.Random.randrange(n) for 0 < n < 2**32: getrandbits(n.bit_length()) until
    below n."""
    k = 0
    while (n >> k) > 0:
        k += 1
    shift = np.uint64(32 - k)
    while True:
        r = np.int64(_genrand(mt) >> shift)
        if r < n:
            return int(r)


@njit(cache=True)
def _pow2(n: int) -> int:
    p = 1
    while p < n:
        p *= 2
    return p


@njit(cache=True)
def _min_update(tree: np.ndarray, p: int, slot: int, key: np.int64) -> None:
    """Set a leaf and its ancestors' minima, up to the first that does not change (the
    ones above it then do not change either)."""
    i = p + slot
    tree[i] = key
    i >>= 1
    while i >= 1:
        a, b = tree[2 * i], tree[2 * i + 1]
        m = a if a < b else b
        if tree[i] == m:
            return
        tree[i] = m
        i >>= 1


@njit(cache=True)
def _min_rebuild(tree: np.ndarray, p: int) -> None:
    for i in range(p - 1, 0, -1):
        a, b = tree[2 * i], tree[2 * i + 1]
        tree[i] = a if a < b else b


@njit(cache=True)
def _compact(page_at: np.ndarray, slot_of: np.ndarray, resident: np.ndarray) -> int:
    """Renumber the resident pages' slots 0..k-1, keeping their order. Returns k."""
    k = 0
    for s in range(len(page_at)):
        y = page_at[s]
        if y >= 0:
            page_at[s] = -1
            page_at[k] = y
            slot_of[y] = k
            k += 1
    return k


@njit(cache=True)
def nfu_faults(
    ids: np.ndarray, nuniq: int, frames: int, tick: int, miss: np.ndarray | None = None, final: np.ndarray | None = None
) -> int:
    """NFU: evict the smallest counter, the first loaded among equals. A tick adds one to
    the pages used since the last tick: only those (at most `tick`) change."""
    cap = 2 * frames + 2
    p = _pow2(cap)
    resident = np.zeros(nuniq, dtype=np.bool_)
    young = np.zeros(nuniq, dtype=np.bool_)
    value = np.zeros(nuniq, dtype=np.int64)
    slot_of = np.zeros(nuniq, dtype=np.int64)
    used_list = np.empty(tick, dtype=np.int64)  # pages whose A bit was set this period
    page_at = np.full(cap, -1, dtype=np.int64)
    tree = np.full(2 * p, EMPTY, dtype=np.int64)
    faults = _nfu(ids, frames, tick, resident, young, value, slot_of, used_list, page_at, tree, miss)
    if final is not None:
        final[:] = resident
    return faults


@loop
def _nfu(
    ids: np.ndarray,
    frames: int,
    tick: int,
    resident: np.ndarray,
    young: np.ndarray,
    value: np.ndarray,
    slot_of: np.ndarray,
    used_list: np.ndarray,
    page_at: np.ndarray,
    tree: np.ndarray,
    miss: np.ndarray | None,
) -> int:
    cap = len(page_at)
    p = len(tree) // 2
    nused = 0
    used = 0
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
                v = tree[1] & np.int64(0xFFFFFFFF)  # the slot of the smallest (counter, slot)
                y = page_at[v]
                resident[y] = False
                young[y] = False
                page_at[v] = -1
                _min_update(tree, p, v, EMPTY)
                count -= 1
            if used == cap:
                used = _compact(page_at, slot_of, resident)
                tree[:] = EMPTY
                for s in range(used):
                    tree[p + s] = (value[page_at[s]] << np.int64(32)) | s
                _min_rebuild(tree, p)
            resident[x] = True
            value[x] = 0
            slot_of[x] = used
            page_at[used] = x
            _min_update(tree, p, used, np.int64(used))
            used += 1
            count += 1
        if not young[x]:
            young[x] = True
            used_list[nused] = x
            nused += 1
        to_tick -= 1
        if to_tick == 0:
            to_tick = tick
            for j in range(nused):
                y = used_list[j]
                if young[y]:  # else evicted since (or listed twice)
                    young[y] = False
                    value[y] += 1
                    _min_update(tree, p, slot_of[y], (value[y] << np.int64(32)) | slot_of[y])
            nused = 0
    return faults


@njit(cache=True)
def aging_faults(
    ids: np.ndarray, nuniq: int, frames: int, tick: int, miss: np.ndarray | None = None, final: np.ndarray | None = None
) -> int:
    """Aging without touching every counter at a tick. A page's counter at tick T is
    hist >> (T - t), where t is the last tick that found its A bit set. Every page with
    t within the last 8 ticks has a larger counter than every page with an older t (its
    top bit is higher), and those older ones are all at 0. So: pages at 0 ("cold") are
    counted by slot as NRU's class 0 is (_cnt_find gives the first); the others sit in 8 buckets by t, each holding at most
    `tick` pages, and the victim is the smallest (counter, slot) of the oldest bucket."""
    cap = 2 * frames + 2
    state = np.zeros((nuniq, 4), dtype=np.int64)  # hist, last, where, slot: one cache line
    flags = np.zeros((nuniq, 3), dtype=np.bool_)  # resident, young, warm
    bucket = np.empty((8, tick), dtype=np.int64)
    nb = np.zeros(8, dtype=np.int64)
    used_list = np.empty(tick, dtype=np.int64)
    page_at = np.full(cap, -1, dtype=np.int64)
    blocks = cap // BLOCK + 1
    bits = np.zeros((blocks, 1), dtype=np.int64)  # the cold pages' slots
    bcnt = np.zeros((blocks, 1), dtype=np.int64)
    gcnt = np.zeros((blocks // BLOCK + 2, 1), dtype=np.int64)
    faults = _aging(ids, frames, tick, state, flags, bucket, nb, used_list, page_at, bits, bcnt, gcnt, miss)
    if final is not None:
        final[:] = flags[:, 0]
    return faults


@loop
def _aging(
    ids: np.ndarray,
    frames: int,
    tick: int,
    state: np.ndarray,
    flags: np.ndarray,
    bucket: np.ndarray,
    nb: np.ndarray,
    used_list: np.ndarray,
    page_at: np.ndarray,
    bits: np.ndarray,
    bcnt: np.ndarray,
    gcnt: np.ndarray,
    miss: np.ndarray | None,
) -> int:
    hist, last, where, slot_of = state[:, 0], state[:, 1], state[:, 2], state[:, 3]
    resident, young, warm = flags[:, 0], flags[:, 1], flags[:, 2]
    cap = len(page_at)
    ncold = len(gcnt) - 1  # the row of totals
    nused = 0
    used = 0
    count = 0
    faults = 0
    now = 0  # ticks so far
    to_tick = tick  # references left until the next tick (no division per reference)
    for t in range(len(ids)):
        x = ids[t]
        if not resident[x]:
            faults += 1
            if miss is not None:
                miss[t] = 1
            if count >= frames:
                if gcnt[ncold, 0] > 0:
                    y = page_at[_cnt_find(bits, bcnt, gcnt, 0, 0)]
                else:
                    y = -1
                    for age in range(7, -1, -1):  # oldest bucket first
                        b = (now - age) % 8
                        if nb[b] == 0:
                            continue
                        best = EMPTY
                        for j in range(nb[b]):
                            z = bucket[b, j]
                            key = ((hist[z] >> age) << np.int64(32)) | slot_of[z]
                            if key < best:
                                best, y = key, z
                        break
                if warm[y]:
                    b = last[y] % 8
                    k = where[y]
                    nb[b] -= 1
                    bucket[b, k] = bucket[b, nb[b]]
                    where[bucket[b, k]] = k
                    warm[y] = False
                else:
                    _cnt_add(bits, bcnt, gcnt, slot_of[y], 0, -1)
                resident[y] = False
                young[y] = False
                page_at[slot_of[y]] = -1
                count -= 1
            if used == cap:
                used = _compact(page_at, slot_of, resident)
                bits[:, :] = 0
                bcnt[:, :] = 0
                gcnt[:, :] = 0
                for s in range(used):
                    if not warm[page_at[s]]:
                        _cnt_add(bits, bcnt, gcnt, s, 0, 1)
            resident[x] = True
            hist[x] = 0
            warm[x] = False
            slot_of[x] = used
            page_at[used] = x
            _cnt_add(bits, bcnt, gcnt, used, 0, 1)
            used += 1
            count += 1
        if not young[x]:
            young[x] = True
            used_list[nused] = x
            nused += 1
        to_tick -= 1
        if to_tick == 0:
            to_tick = tick
            now += 1
            b = now % 8
            for j in range(nb[b]):  # set 8 ticks ago, never since: their counters reach 0
                z = bucket[b, j]
                warm[z] = False
                _cnt_add(bits, bcnt, gcnt, slot_of[z], 0, 1)
            nb[b] = 0
            for j in range(nused):
                y = used_list[j]
                if not young[y]:
                    continue
                young[y] = False
                if warm[y]:
                    a = now - 1 - last[y]
                    ob = last[y] % 8
                    k = where[y]
                    nb[ob] -= 1
                    bucket[ob, k] = bucket[ob, nb[ob]]
                    where[bucket[ob, k]] = k
                    hist[y] = ((hist[y] >> a) >> 1) | 0x80
                else:
                    _cnt_add(bits, bcnt, gcnt, slot_of[y], 0, -1)
                    hist[y] = 0x80
                last[y] = now
                warm[y] = True
                where[y] = nb[b]
                bucket[b, nb[b]] = y
                nb[b] += 1
            nused = 0
    return faults


# NRU's and random's counts: slots in blocks of 32 (a bit per slot and class) and blocks in
# groups of 32, each with its count per class; the last group row holds the totals. An
# update touches three counters; finding the r-th member of a class reads a few dozen
# counters in a row rather than a chain of dependent tree nodes (a cache miss each).
BLOCK = 32


@njit(cache=True)
def _cnt_add(bits: np.ndarray, bcnt: np.ndarray, gcnt: np.ndarray, slot: int, cls: int, d: int) -> None:
    """Count the page in `slot` into class `cls` (d = 1) or out of it (d = -1)."""
    b = slot // BLOCK
    if d > 0:
        bits[b, cls] |= 1 << (slot % BLOCK)
    else:
        bits[b, cls] &= ~(1 << (slot % BLOCK))
    bcnt[b, cls] += d
    gcnt[b // BLOCK, cls] += d
    gcnt[len(gcnt) - 1, cls] += d


@njit(cache=True)
def _cnt_move(bits: np.ndarray, bcnt: np.ndarray, gcnt: np.ndarray, slot: int, a: int, b: int) -> None:
    """The page in `slot` moves from class a to class b."""
    _cnt_add(bits, bcnt, gcnt, slot, a, -1)
    _cnt_add(bits, bcnt, gcnt, slot, b, 1)


@njit(cache=True)
def _cnt_find(bits: np.ndarray, bcnt: np.ndarray, gcnt: np.ndarray, cls: int, r: int) -> int:
    """The slot of the r-th (0-based) member of class `cls`, in slot order."""
    g = 0
    while r >= gcnt[g, cls]:
        r -= gcnt[g, cls]
        g += 1
    b = g * BLOCK
    while r >= bcnt[b, cls]:
        r -= bcnt[b, cls]
        b += 1
    w = bits[b, cls]
    for _ in range(r):
        w &= w - 1  # drop the lowest member
    return b * BLOCK + _popcount32((w & -w) - 1)  # the lowest member left


@njit(cache=True)
def _popcount32(v: int) -> int:
    v = v - ((v >> 1) & 0x55555555)
    v = (v & 0x33333333) + ((v >> 2) & 0x33333333)
    v = (v + (v >> 4)) & 0x0F0F0F0F
    return ((v * 0x01010101) & 0xFFFFFFFF) >> 24


@njit(cache=True)
def pick_faults(
    ids: np.ndarray,
    writes: np.ndarray,
    nuniq: int,
    frames: int,
    tick: int,
    mt: np.ndarray,
    nru: bool,
    miss: np.ndarray | None = None,
    final: np.ndarray | None = None,
) -> int:
    """NRU (the lowest (A, D) class, a seeded random member of it in load order; A bits
    cleared every tick) or random (a seeded random resident page in load order)."""
    cap = 2 * frames + 2
    nb = cap // BLOCK + 1
    resident = np.zeros(nuniq, dtype=np.bool_)
    young = np.zeros(nuniq, dtype=np.bool_)
    dirty = np.zeros(nuniq, dtype=np.bool_)
    slot_of = np.zeros(nuniq, dtype=np.int64)
    page_at = np.full(cap, -1, dtype=np.int64)
    bits = np.zeros((nb, 4), dtype=np.int64)  # class members per block; random uses class 0 only
    bcnt = np.zeros((nb, 4), dtype=np.int64)
    gcnt = np.zeros((nb // BLOCK + 2, 4), dtype=np.int64)
    used_list = np.empty(tick, dtype=np.int64)  # pages whose A bit was set this period
    faults = _pick(
        ids, writes, frames, tick, mt, nru, resident, young, dirty, slot_of, page_at, bits, bcnt, gcnt, used_list, miss
    )
    if final is not None:
        final[:] = resident
    return faults


@loop
def _pick(
    ids: np.ndarray,
    writes: np.ndarray,
    frames: int,
    tick: int,
    mt: np.ndarray,
    nru: bool,
    resident: np.ndarray,
    young: np.ndarray,
    dirty: np.ndarray,
    slot_of: np.ndarray,
    page_at: np.ndarray,
    bits: np.ndarray,
    bcnt: np.ndarray,
    gcnt: np.ndarray,
    used_list: np.ndarray,
    miss: np.ndarray | None,
) -> int:
    cap = len(page_at)
    total = len(gcnt) - 1
    nused = 0
    used = 0
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
                c = 0
                if nru:
                    while gcnt[total, c] == 0:
                        c += 1
                v = _cnt_find(bits, bcnt, gcnt, c, randbelow(mt, gcnt[total, c]))
                y = page_at[v]
                _cnt_add(bits, bcnt, gcnt, v, c, -1)
                resident[y] = False
                young[y] = False
                dirty[y] = False
                page_at[v] = -1
                count -= 1
            if used == cap:
                k = _compact(page_at, slot_of, resident)
                bits[:, :] = 0
                bcnt[:, :] = 0
                gcnt[:, :] = 0
                for s in range(k):
                    y = page_at[s]
                    _cnt_add(bits, bcnt, gcnt, s, (2 * young[y] + dirty[y]) if nru else 0, 1)
                used = k
            resident[x] = True
            slot_of[x] = used
            page_at[used] = x
            _cnt_add(bits, bcnt, gcnt, used, 0, 1)  # a new page: not young, not dirty (yet)
            used += 1
            count += 1
        if nru:
            before = 2 * young[x] + dirty[x]
            if not young[x]:
                young[x] = True
                used_list[nused] = x
                nused += 1
            if writes[t]:
                dirty[x] = True
            after = 2 * young[x] + dirty[x]
            if after != before:
                _cnt_move(bits, bcnt, gcnt, slot_of[x], before, after)
        to_tick -= 1
        if nru and to_tick == 0:
            to_tick = tick
            for j in range(nused):  # their A bits cleared: class 2 to 0, class 3 to 1
                y = used_list[j]
                if young[y]:
                    young[y] = False
                    d = 1 if dirty[y] else 0
                    _cnt_move(bits, bcnt, gcnt, slot_of[y], 2 + d, d)
            nused = 0
    return faults
