"""Writes to disk and the miss ratio over time, counted from which references faulted.

A page's residency runs from a fault on it to its eviction, and every reference to it
before its next fault is a hit on that residency. So a compiled path only has to mark the
references that fault and say which pages are resident at the end (and after the
warm-up); the rest follows here, the same for every policy:
- a residency that ended in an eviction was written back iff one of its references was a
  store (the D bit; a store that faults dirties the page it loads). This is vmsim's "writes
  to disk": dirty victims only, so dirty pages still resident at the end are not counted;
- an eviction counts when it happens after the warm-up (at a fault from reference
  `warmup` on), even if the page was dirtied during the warm-up: that write to disk is
  paid in the measured part;
- the windows are the faults in each `window` references from the warm-up on.
engine.simulate counts the same things one reference at a time, as the definition.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit

from pagelab.replay import fast
from pagelab.replay.engine import Result, next_positions
from pagelab.replay.trace import Trace


@dataclass(frozen=True)
class Ask:
    """What a counted replay reports besides its faults."""

    name: str  # the policy's
    warmup: int
    window: int
    writebacks: bool


@dataclass(frozen=True)
class Residency:
    """What a replay in one memory size did, in the trace's dense page ids."""

    miss: np.ndarray  # uint8 per reference: 1 where it faulted
    at_warmup: np.ndarray  # bool per page: resident after the warm-up (empty when not needed)
    at_end: np.ndarray  # bool per page: resident after the last reference


# frames -> the replay in that many frames (None: the path gave up, run the plain loop)
Record = Callable[[int], Result | None]
# a per-size path on a renumbered trace: (trace, frames, miss, final) -> faults (< 0: gave up)
Run = Callable[[Trace, int, np.ndarray, np.ndarray], int]


@njit(cache=True)
def dirty_victims(
    ids: np.ndarray, writes: np.ndarray, miss: np.ndarray, at_warmup: np.ndarray, at_end: np.ndarray, warmup: int
) -> int:
    """Residencies that were dirty and ended in an eviction at or after `warmup`. The
    residency from fault s ends before the page's next fault t; it was evicted after the
    warm-up if it began after it, or if it was still resident then (and t is after it)."""
    nuniq = len(at_end)
    start = np.full(nuniq, -1, dtype=np.int64)  # the fault that began the page's residency
    dirty = np.zeros(nuniq, dtype=np.bool_)
    out = 0
    for t in range(len(ids)):
        x = ids[t]
        if miss[t]:
            s = start[x]
            if s >= 0 and dirty[x] and (s >= warmup or (t >= warmup and at_warmup[x])):
                out += 1
            start[x] = t
            dirty[x] = writes[t]
        elif writes[t]:
            dirty[x] = True
    for x in range(nuniq):
        s = start[x]
        if s >= 0 and dirty[x] and not at_end[x] and (s >= warmup or at_warmup[x]):
            out += 1
    return out


def window_faults(miss: np.ndarray, warmup: int, window: int) -> tuple[int, ...]:
    """Faults in each `window` references from the warm-up on (the last may be shorter)."""
    counted = miss[warmup:]
    if not window or not len(counted):
        return ()
    return tuple(int(f) for f in np.add.reduceat(counted, np.arange(0, len(counted), window), dtype=np.int64))


def result(trace: Trace, ask: Ask, frames: int, r: Residency) -> Result:
    """The counts of one replay from its faults and resident sets."""
    wb = None
    if ask.writebacks:
        ids, _ = trace.dense()
        wb = int(dirty_victims(ids, trace.writes, r.miss, r.at_warmup, r.at_end, ask.warmup))
    faults = int(r.miss[ask.warmup :].sum(dtype=np.int64))
    return Result(ask.name, frames, len(trace) - ask.warmup, faults, wb, window_faults(r.miss, ask.warmup, ask.window))


def online(run: Run, trace: Trace, ask: Ask) -> Record:
    """A per-size path of an online policy: one run, and for the pages resident after the
    warm-up, one on the warm-up alone (its first `warmup` steps are that run)."""
    ids, nuniq = trace.dense()
    warmup = ask.warmup
    full = Trace(ids, trace.writes, trace.fmt, nuniq)
    prefix = Trace(ids[:warmup], trace.writes[:warmup], trace.fmt, nuniq)
    need_prefix = warmup > 0 and ask.writebacks

    def record(k: int) -> Result | None:
        miss, at_end = np.zeros(len(ids), np.uint8), np.zeros(nuniq, np.bool_)
        at_warmup = np.zeros(nuniq if need_prefix else 0, np.bool_)
        if run(full, k, miss, at_end) < 0:
            return None
        if need_prefix and run(prefix, k, np.zeros(warmup, np.uint8), at_warmup) < 0:
            return None
        return result(full, ask, k, Residency(miss, at_warmup, at_end))

    return record


def fifo(trace: Trace, frames: list[int], ask: Ask) -> Record:
    return online(lambda t, k, miss, final: int(fast.fifo_faults(*t.dense(), k, miss, final)), trace, ask)


def opt(trace: Trace, frames: list[int], ask: Ask) -> Record:
    """OPT is no online policy: one pass per size, noting the resident pages at the warm-up."""
    ids, nuniq = trace.dense()
    nxt = next_positions(ids)

    def record(k: int) -> Result:
        miss, at_end = np.zeros(len(ids), np.uint8), np.zeros(nuniq, np.bool_)
        at_warmup = np.zeros(nuniq if ask.warmup else 0, np.bool_)
        fast.opt_faults(ids, nxt, nuniq, k, ask.warmup, miss, at_warmup, at_end)
        return result(trace, ask, k, Residency(miss, at_warmup, at_end))

    return record


def lru(trace: Trace, frames: list[int], ask: Ask) -> Record:
    """Every size from LRU's one pass: a reference misses in k frames iff its stack depth
    is above k, and k frames hold the k most recently used pages (lru_writebacks)."""
    ids, nuniq = trace.dense()
    maxf, warmup = max(frames), ask.warmup
    depth = np.empty(len(ids), np.int64)
    fast.lru_depths(ids, nuniq, 1, depth)
    hits = np.cumsum(np.bincount(np.minimum(depth[warmup:], maxf + 1), minlength=maxf + 2))
    wb = None
    if ask.writebacks:
        ranks = [_recency_ranks(ids[:cut], nuniq) for cut in (warmup, len(ids))]
        wb = lru_writebacks(ids, trace.writes, depth, ranks[0], ranks[1], warmup, maxf)

    def record(k: int) -> Result:
        windows = window_faults((depth > k).view(np.uint8), warmup, ask.window)
        refs = len(ids) - warmup
        return Result(ask.name, k, refs, refs - int(hits[k]), None if wb is None else int(wb[k]), windows)

    return record


def _recency_ranks(ids: np.ndarray, nuniq: int) -> np.ndarray:
    """Per page, 1 + the number of pages used since its last use in `ids` (0: unused)."""
    pages, first_back = np.unique(ids[::-1], return_index=True)  # first seen from the end
    ranks = np.zeros(nuniq, np.int64)
    ranks[pages[np.argsort(first_back)]] = np.arange(1, len(pages) + 1)
    return ranks


@njit(cache=True)
def lru_writebacks(
    ids: np.ndarray,
    writes: np.ndarray,
    depth: np.ndarray,
    warm_rank: np.ndarray,
    end_rank: np.ndarray,
    warmup: int,
    maxf: int,
) -> np.ndarray:
    """wb[k]: LRU's dirty victims in k frames (k <= maxf), evicted from `warmup` on, for
    every k in one pass (the stack idea applied to the D bit). Per page, g is the smallest
    size in which it is dirty: it is dirty in every larger size and in no smaller one. A
    reference at depth d finds it evicted in every size below d, and written back in those
    from g up; reloaded there, it is clean below d, and dirty everywhere after a store.
    A page last used in the warm-up was still resident at its end only in sizes from its
    recency rank then up: only there is its eviction counted."""
    clean = maxf + 1
    g = np.full(len(end_rank), clean, dtype=np.int64)
    last = np.full(len(end_rank), -1, dtype=np.int64)
    diff = np.zeros(maxf + 2, dtype=np.int64)
    for t in range(len(ids)):
        x = ids[t]
        if last[x] >= 0:
            if t >= warmup:
                lo = g[x] if last[x] >= warmup else max(g[x], warm_rank[x])
                hi = min(depth[t] - 1, maxf)
                if lo <= hi:
                    diff[lo] += 1
                    diff[hi + 1] -= 1
            g[x] = max(g[x], min(depth[t], clean))
        if writes[t]:
            g[x] = 1
        last[x] = t
    for x in range(len(end_rank)):  # not resident at the end in sizes below its rank then
        if last[x] >= 0:
            lo = g[x] if last[x] >= warmup else max(g[x], warm_rank[x])
            hi = min(end_rank[x] - 1, maxf)
            if lo <= hi:
                diff[lo] += 1
                diff[hi + 1] -= 1
    return np.cumsum(diff)
