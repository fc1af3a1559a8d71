"""Compiled replay of the queue-based policies (mru, lfu, 2q, arc, s3fifo): each equals its
Policy class run by engine.simulate, reference for reference (tests/test_policies_fast.py).

The classes keep their queues as insertion-ordered dicts; here they are doubly linked
lists threaded through a per-page array (next, previous, which list; a page is in at most
one list at a time, ghost lists included), so every move is O(1) and no eviction scans the
resident set. Given `miss` and `final`, the policies of SIZED (core.py) mark the
references that fault and the pages resident at the end (counting.py).

The loops themselves run with numba's reference counting off (`loop`): with it on, every
helper call that takes arrays adds and subtracts an atomic count per array, even inlined,
and in these loops that was nine cycles in ten. So a policy's `*_faults` makes the arrays
and its loop takes them all and makes none.
"""

from __future__ import annotations

import numpy as np
from numba import njit

NIL = -1

# numba's own option, not in its typed signature: reference counting off (module docstring)
loop = njit(cache=True, _nrt=False)  # type: ignore[call-overload]


@njit(cache=True, inline="always")
def _push(x: int, q: int, link: np.ndarray, head: np.ndarray, tail: np.ndarray, size: np.ndarray) -> None:
    """Append page x at the back (newest end) of list q."""
    t = tail[q]
    link[x, 0] = NIL
    link[x, 1] = t
    link[x, 2] = q
    if t != NIL:
        link[t, 0] = x
    else:
        head[q] = x
    tail[q] = x
    size[q] += 1


@njit(cache=True, inline="always")
def _unlink(x: int, link: np.ndarray, head: np.ndarray, tail: np.ndarray, size: np.ndarray) -> None:
    """Take page x out of its list (it must be in one)."""
    n, pr, q = link[x, 0], link[x, 1], link[x, 2]
    if pr != NIL:
        link[pr, 0] = n
    else:
        head[q] = n
    if n != NIL:
        link[n, 1] = pr
    else:
        tail[q] = pr
    size[q] -= 1
    link[x, 2] = NIL


@njit(cache=True)
def lru_faults(ids: np.ndarray, nuniq: int, frames: int) -> int:
    """LRU in one memory size: a list from least to most recently used. Cheaper than the
    one-pass curve (fast.lru_depths) when only a few sizes are asked for."""
    link, head, tail, size = lists(nuniq, 1)
    return _lru(ids, frames, link, head, tail, size)


@loop
def _lru(ids: np.ndarray, frames: int, link: np.ndarray, head: np.ndarray, tail: np.ndarray, size: np.ndarray) -> int:
    faults = 0
    for x in ids:
        if link[x, 2] == 0:
            if tail[0] != x:
                _unlink(x, link, head, tail, size)
                _push(x, 0, link, head, tail, size)
            continue
        faults += 1
        if size[0] >= frames:
            _unlink(head[0], link, head, tail, size)
        _push(x, 0, link, head, tail, size)
    return faults


@njit(cache=True)
def mru_faults(
    ids: np.ndarray, nuniq: int, frames: int, miss: np.ndarray | None = None, final: np.ndarray | None = None
) -> int:
    """MRU's victim is always the page of the previous reference: nothing else to keep."""
    resident = np.zeros(nuniq, dtype=np.bool_)
    count = 0
    faults = 0
    prev = NIL
    for t, x in enumerate(ids):
        if not resident[x]:
            faults += 1
            if miss is not None:
                miss[t] = 1
            if count >= frames:
                resident[prev] = False
                count -= 1
            resident[x] = True
            count += 1
        prev = x
    if final is not None:
        final[:] = resident
    return faults


EMPTY = np.int64(0x7FFFFFFFFFFFFFFF)


@njit(cache=True)
def _pow2(n: int) -> int:
    p = 1
    while p < n:
        p *= 2
    return p


@njit(cache=True)
def _set(tree: np.ndarray, p: int, slot: int, key: np.int64) -> None:
    """Set a leaf and its ancestors' minima, up to the first that does not change."""
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
def lfu_faults(
    ids: np.ndarray, nuniq: int, frames: int, miss: np.ndarray | None = None, final: np.ndarray | None = None
) -> int:
    """LFU: the smallest (count, load slot), kept in a segment tree; a hit updates one leaf."""
    cap = 2 * frames + 2
    p = _pow2(cap)
    resident = np.zeros(nuniq, dtype=np.bool_)
    uses = np.zeros(nuniq, dtype=np.int64)
    slot_of = np.zeros(nuniq, dtype=np.int64)
    page_at = np.full(cap, NIL, dtype=np.int64)
    tree = np.full(2 * p, EMPTY, dtype=np.int64)
    faults = _lfu(ids, frames, resident, uses, slot_of, page_at, tree, miss)
    if final is not None:
        final[:] = resident
    return faults


@loop
def _lfu(
    ids: np.ndarray,
    frames: int,
    resident: np.ndarray,
    uses: np.ndarray,
    slot_of: np.ndarray,
    page_at: np.ndarray,
    tree: np.ndarray,
    miss: np.ndarray | None,
) -> int:
    empty = EMPTY
    cap = len(page_at)
    p = len(tree) // 2
    used = 0
    count = 0
    faults = 0
    for t, x in enumerate(ids):
        if not resident[x]:
            faults += 1
            if miss is not None:
                miss[t] = 1
            if count >= frames:
                v = tree[1] & np.int64(0xFFFFFFFF)
                resident[page_at[v]] = False
                page_at[v] = NIL
                _set(tree, p, v, empty)
                count -= 1
            if used == cap:  # renumber the slots 0..k-1 in order
                k = 0
                for s in range(cap):
                    y = page_at[s]
                    if y >= 0:
                        page_at[s] = NIL
                        page_at[k] = y
                        slot_of[y] = k
                        k += 1
                tree[:] = empty
                for s in range(k):
                    tree[p + s] = (uses[page_at[s]] << np.int64(32)) | s
                for i in range(p - 1, 0, -1):
                    a, b = tree[2 * i], tree[2 * i + 1]
                    tree[i] = a if a < b else b
                used = k
            resident[x] = True
            uses[x] = 0
            slot_of[x] = used
            page_at[used] = x
            used += 1
            count += 1
        uses[x] += 1  # the loading reference counts too, as in lfu.py
        _set(tree, p, slot_of[x], (uses[x] << np.int64(32)) | slot_of[x])
    return faults


@njit(cache=True)
def lists(nuniq: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Empty lists 0..n-1 over pages 0..nuniq-1: link (next, previous, list: one cache
    line per page), head, tail and size."""
    link = np.full((nuniq, 3), NIL, dtype=np.int32)
    return link, np.full(n, NIL, dtype=np.int64), np.full(n, NIL, dtype=np.int64), np.zeros(n, dtype=np.int64)


# list numbers
A1IN, A1OUT, AM = 0, 1, 2
T1, T2, B1, B2 = 0, 1, 2, 3
S, M, G = 0, 1, 2


@njit(cache=True)
def twoq_faults(
    ids: np.ndarray,
    nuniq: int,
    frames: int,
    kin: float,
    kout: float,
    miss: np.ndarray | None = None,
    final: np.ndarray | None = None,
) -> int:
    link, head, tail, size = lists(nuniq, 3)
    faults = _twoq(ids, frames, max(1, int(kin * frames)), max(1, int(kout * frames)), link, head, tail, size, miss)
    if final is not None:
        final[:] = (link[:, 2] == A1IN) | (link[:, 2] == AM)
    return faults


@loop
def _twoq(
    ids: np.ndarray,
    frames: int,
    in_limit: int,
    out_limit: int,
    link: np.ndarray,
    head: np.ndarray,
    tail: np.ndarray,
    size: np.ndarray,
    miss: np.ndarray | None,
) -> int:
    faults = 0
    for t, x in enumerate(ids):
        q = link[x, 2]
        if q == AM:
            _unlink(x, link, head, tail, size)
            _push(x, AM, link, head, tail, size)
            continue
        if q == A1IN:
            continue
        faults += 1
        if miss is not None:
            miss[t] = 1
        returning = q == A1OUT
        if returning:
            _unlink(x, link, head, tail, size)
        if size[A1IN] + size[AM] >= frames:
            v = head[AM]
            if size[A1IN] > in_limit or size[AM] == 0:
                v = head[A1IN] if size[A1IN] > 0 else head[AM]
            from_in = link[v, 2] == A1IN
            _unlink(v, link, head, tail, size)
            if from_in:
                _push(v, A1OUT, link, head, tail, size)
                while size[A1OUT] > out_limit:
                    _unlink(head[A1OUT], link, head, tail, size)
        _push(x, AM if returning else A1IN, link, head, tail, size)
    return faults


@njit(cache=True)
def arc_faults(
    ids: np.ndarray, nuniq: int, frames: int, miss: np.ndarray | None = None, final: np.ndarray | None = None
) -> int:
    link, head, tail, size = lists(nuniq, 4)
    faults = _arc(ids, frames, link, head, tail, size, miss)
    if final is not None:
        final[:] = (link[:, 2] == T1) | (link[:, 2] == T2)
    return faults


@loop
def _arc(
    ids: np.ndarray,
    frames: int,
    link: np.ndarray,
    head: np.ndarray,
    tail: np.ndarray,
    size: np.ndarray,
    miss: np.ndarray | None,
) -> int:
    c = frames
    p = 0.0
    faults = 0
    for t, x in enumerate(ids):
        q = link[x, 2]
        if q == T1 or q == T2:  # noqa: SIM109 (numba)  a hit: to T2's MRU end
            _unlink(x, link, head, tail, size)
            _push(x, T2, link, head, tail, size)
            continue
        faults += 1
        if miss is not None:
            miss[t] = 1
        b1, b2 = size[B1], size[B2]
        forget = NIL
        if q == B1:
            p = min(p + (1.0 if b1 >= b2 else b2 / b1), float(c))
        elif q == B2:
            p = max(p - (1.0 if b2 >= b1 else b1 / b2), 0.0)
        elif size[T1] + b1 >= c:
            if size[T1] < c and b1 > 0:
                _unlink(head[B1], link, head, tail, size)
            elif size[T1] > 0:
                forget = head[T1]
        elif size[T1] + size[T2] + b1 + b2 >= 2 * c and b2 > 0:
            _unlink(head[B2], link, head, tail, size)
        if size[T1] + size[T2] >= frames:
            if forget != NIL:
                _unlink(forget, link, head, tail, size)  # case IV.A: no ghost
            else:
                t1 = size[T1]
                if t1 > 0 and (t1 > p or (q == B2 and t1 == p)):
                    v = head[T1]
                elif size[T2] > 0:
                    v = head[T2]
                else:
                    v = head[T1]
                ghost = B1 if link[v, 2] == T1 else B2
                _unlink(v, link, head, tail, size)
                _push(v, ghost, link, head, tail, size)
        if q == B1 or q == B2:  # noqa: SIM109 (numba)
            _unlink(x, link, head, tail, size)
            _push(x, T2, link, head, tail, size)
        else:
            _push(x, T1, link, head, tail, size)
    return faults


@njit(cache=True)
def s3fifo_faults(
    ids: np.ndarray,
    nuniq: int,
    frames: int,
    small: float,
    ghost: float,
    threshold: int,
    fill_main: bool,
    miss: np.ndarray | None = None,
    final: np.ndarray | None = None,
) -> int:
    link, head, tail, size = lists(nuniq, 3)
    freq = np.zeros(nuniq, dtype=np.int64)
    faults = _s3fifo(ids, frames, small, ghost, threshold, fill_main, link, head, tail, size, freq, miss)
    if final is not None:
        final[:] = (link[:, 2] == S) | (link[:, 2] == M)
    return faults


@loop
def _s3fifo(
    ids: np.ndarray,
    frames: int,
    small: float,
    ghost: float,
    threshold: int,
    fill_main: bool,
    link: np.ndarray,
    head: np.ndarray,
    tail: np.ndarray,
    size: np.ndarray,
    freq: np.ndarray,
    miss: np.ndarray | None,
) -> int:
    main_size = frames - int(small * frames)
    ghost_limit = int(ghost * frames)
    faults = 0
    for t, x in enumerate(ids):
        q = link[x, 2]
        if q == S or q == M:  # noqa: SIM109 (numba)
            freq[x] = min(freq[x] + 1, 3)
            continue
        faults += 1
        if miss is not None:
            miss[t] = 1
        returning = q == G
        if returning:
            _unlink(x, link, head, tail, size)
        if size[S] + size[M] >= frames:
            v = NIL
            to_ghost = False
            if size[S] > 0 and (size[S] >= small * frames or size[M] == 0):
                while size[S] > 0:
                    f = head[S]
                    _unlink(f, link, head, tail, size)
                    if freq[f] >= threshold:
                        _push(f, M, link, head, tail, size)
                        freq[f] = 0
                        if not fill_main and size[M] >= main_size:
                            v = _main(link, head, tail, size, freq)
                            break
                    else:
                        v = f
                        to_ghost = True
                        break
            if v == NIL:
                v = _main(link, head, tail, size, freq)
            if link[v, 2] != NIL:
                _unlink(v, link, head, tail, size)
            if to_ghost:
                _push(v, G, link, head, tail, size)
                while size[G] > ghost_limit:
                    _unlink(head[G], link, head, tail, size)
        if returning or (fill_main and size[S] >= small * frames and size[S] + size[M] < frames):
            _push(x, M, link, head, tail, size)
        else:
            _push(x, S, link, head, tail, size)
        freq[x] = 0
    return faults


@njit(cache=True)
def _main(
    link: np.ndarray,
    head: np.ndarray,
    tail: np.ndarray,
    size: np.ndarray,
    freq: np.ndarray,
) -> int:
    """Main's oldest unused page, reinserting used ones with their count lowered."""
    while True:
        f = head[M]
        _unlink(f, link, head, tail, size)
        _push(f, M, link, head, tail, size)
        if freq[f] == 0:
            return f
        freq[f] -= 1
