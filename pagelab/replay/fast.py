"""Vectorised replay for the built-in FIFO, LRU and OPT, compiled with numba.

LRU and OPT are stack algorithms (Mattson, Gecsei, Slutz and Traiger, IBM Systems Journal
9(2), 1970): the pages held by k frames are always among those held by k+1 frames, so one
pass that tracks each reference's depth in a priority stack gives the faults for every
memory size at once. FIFO is not (Belady's anomaly), so it runs once per size.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def fifo_faults(
    ids: np.ndarray, nuniq: int, frames: int, miss: np.ndarray | None = None, final: np.ndarray | None = None
) -> int:
    """FIFO in a ring buffer: the slot at `head` holds the oldest page. Given `miss` and
    `final`, marks the references that fault and the pages resident at the end (counting.py)."""
    resident = np.zeros(nuniq, dtype=np.bool_)
    ring = np.empty(frames, dtype=np.int64)
    count = 0
    head = 0
    faults = 0
    for t, x in enumerate(ids):
        if resident[x]:
            continue
        faults += 1
        if miss is not None:
            miss[t] = 1
        if count < frames:
            ring[count] = x
            count += 1
        else:
            resident[ring[head]] = False
            ring[head] = x
            head = (head + 1) % frames
        resident[x] = True
    if final is not None:
        final[:] = resident
    return faults


@njit(cache=True, inline="always")
def fenwick_sum(tree: np.ndarray, i: int) -> int:
    """The sum of a Fenwick tree's (1-based) positions 1..i."""
    s = 0
    while i > 0:
        s += tree[i]
        i -= i & -i
    return s


@njit(cache=True, inline="always")
def fenwick_add(tree: np.ndarray, i: int, d: int) -> None:
    """Add d at (1-based) position i of a Fenwick tree."""
    while i < len(tree):
        tree[i] += d
        i += i & -i


@njit(cache=True)
def lru_depths(ids: np.ndarray, nuniq: int, maxf: int, depth: np.ndarray | None = None) -> np.ndarray:
    """hist[d] = references found at LRU stack depth d (1-based); hist[maxf+1] counts
    first references and depths beyond maxf. The depth of a reference is 1 + the number
    of distinct pages used since the page's previous reference, counted with a Fenwick
    tree holding a 1 at each page's latest reference: O(n log n), with no depth limit.
    Given `depth`, each reference's depth goes there too (a first reference: 2**62)."""
    n = len(ids)
    tree = np.zeros(n + 1, dtype=np.int32)
    last = np.full(nuniq, -1, dtype=np.int64)
    hist = np.zeros(maxf + 2, dtype=np.int64)
    for t in range(n):
        x = ids[t]
        p = last[x]
        if p < 0:
            hist[maxf + 1] += 1
            if depth is not None:
                depth[t] = 1 << 62
        else:
            # markers in positions p+1 .. t-1 = prefix(t-1) - prefix(p) (1-based indices)
            d = fenwick_sum(tree, t) - fenwick_sum(tree, p + 1) + 1
            hist[d if d <= maxf else maxf + 1] += 1
            if depth is not None:
                depth[t] = d
            fenwick_add(tree, p + 1, -1)
        fenwick_add(tree, t + 1, 1)
        last[x] = t
    return hist


@njit(cache=True)
def opt_depths(ids: np.ndarray, nxt: np.ndarray, nuniq: int, maxf: int, start: int = 0) -> np.ndarray:
    """The same histogram for OPT, of the references from `start` on (the stack is kept
    from the first). The stack is kept so that its top k entries are what
    OPT holds in k frames: moving the referenced page to the top, the page pushed down
    at each level is whichever of two is needed later (Mattson's OPT priority)."""
    never = len(ids)
    nextref = np.full(nuniq, never, dtype=np.int64)
    stack = np.empty(maxf, dtype=np.int64)
    size = 0
    hist = np.zeros(maxf + 2, dtype=np.int64)
    for t in range(len(ids)):
        x = ids[t]
        nextref[x] = nxt[t] if nxt[t] >= 0 else never
        d = -1
        for i in range(size):
            if stack[i] == x:
                d = i
                break
        if t < start:
            pass
        elif d >= 0:
            hist[d + 1] += 1
        else:
            hist[maxf + 1] += 1
        if d == 0:
            continue
        if size == 0:
            stack[0] = x
            size = 1
            continue
        carry = stack[0]
        stack[0] = x
        limit = d if d >= 0 else size
        for i in range(1, limit):
            y = stack[i]
            if nextref[y] > nextref[carry]:
                stack[i] = carry
                carry = y
        if d >= 0:
            stack[d] = carry
        elif size < maxf:
            stack[size] = carry
            size += 1
    return hist


@njit(cache=True)
def opt_faults(
    ids: np.ndarray,
    nxt: np.ndarray,
    nuniq: int,
    frames: int,
    warmup: int,
    miss: np.ndarray,
    at_warmup: np.ndarray,
    at_end: np.ndarray,
) -> int:
    """OPT in one memory size, victim for victim as opt.py: the largest next use, and among
    pages never used again (a tie) the first loaded. The stack pass above gives the same
    faults, but which never-again page goes decides which dirty pages are written back.
    A max tree over the frames finds the victim in O(log F). Marks `miss` and the pages
    resident after `warmup` references and at the end."""
    n = len(ids)
    p = 1
    while p < frames:
        p *= 2
    tree = np.full(2 * p, -1, dtype=np.int64)  # keys are unique: next use, or 2n - load time
    page_at = np.empty(frames, dtype=np.int64)
    slot_of = np.zeros(nuniq, dtype=np.int64)
    loaded = np.zeros(nuniq, dtype=np.int64)
    resident = np.zeros(nuniq, dtype=np.bool_)
    count = 0
    faults = 0
    for t in range(n):
        if t == warmup and len(at_warmup):
            at_warmup[:] = resident
        x = ids[t]
        if not resident[x]:
            faults += 1
            miss[t] = 1
            if count < frames:
                slot = count
                count += 1
            else:
                i = 1
                while i < p:  # down to the largest key
                    i = 2 * i if tree[2 * i] == tree[i] else 2 * i + 1
                slot = i - p
                resident[page_at[slot]] = False
            page_at[slot] = x
            slot_of[x] = slot
            loaded[x] = t
            resident[x] = True
        i = p + slot_of[x]
        tree[i] = nxt[t] if nxt[t] >= 0 else 2 * n - loaded[x]
        i //= 2
        while i >= 1:
            a, b = tree[2 * i], tree[2 * i + 1]
            tree[i] = a if a > b else b
            i //= 2
    if warmup == n and len(at_warmup):
        at_warmup[:] = resident
    at_end[:] = resident
    return faults


def faults_from_depths(hist: np.ndarray, refs: int, frames: list[int]) -> list[int]:
    """Faults in k frames = references not found in the top k of the stack."""
    hits = np.cumsum(hist[:-1])  # hits[k] = references at depth <= k
    return [refs - int(hits[k]) for k in frames]
