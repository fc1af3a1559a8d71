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
class Residency:
    """What a replay in one memory size did, in the trace's dense page ids."""

    miss: np.ndarray  # uint8 per reference: 1 where it faulted
    at_warmup: np.ndarray  # bool per page: resident after the warm-up (empty when not needed)
    at_end: np.ndarray  # bool per page: resident after the last reference


# frames -> what the replay in that many frames did (None: the path gave up, run the plain loop)
Record = Callable[[int], Residency | None]
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


def counted(
    trace: Trace,
    name: str,
    frames: list[int],
    warmup: int,
    window: int,
    writebacks: bool,
    record: Record | None,
    plain: Callable[[int], Result],
) -> list[Result]:
    """Results with writebacks (if asked) and windows, from `record` where it has an answer."""
    ids, _ = trace.dense()
    writes = bool(trace.writes.any())
    out = []
    for k in frames:
        r = record(k) if record is not None else None
        if r is None:
            out.append(plain(k))
            continue
        wb = int(dirty_victims(ids, trace.writes, r.miss, r.at_warmup, r.at_end, warmup)) if writes else 0
        faults = int(r.miss[warmup:].sum(dtype=np.int64))
        out.append(
            Result(
                name, k, len(trace) - warmup, faults, wb if writebacks else None, window_faults(r.miss, warmup, window)
            )
        )
    return out


def online(run: Run, trace: Trace, warmup: int) -> Record:
    """A per-size path of an online policy: one run, and for the pages resident after the
    warm-up, one on the warm-up alone (its first `warmup` steps are that run)."""
    ids, nuniq = trace.dense()
    full = Trace(ids, trace.writes, trace.fmt, nuniq)
    prefix = Trace(ids[:warmup], trace.writes[:warmup], trace.fmt, nuniq)
    need_prefix = warmup > 0 and bool(trace.writes.any())

    def record(k: int) -> Residency | None:
        miss, at_end = np.zeros(len(ids), np.uint8), np.zeros(nuniq, np.bool_)
        at_warmup = np.zeros(nuniq if need_prefix else 0, np.bool_)
        if run(full, k, miss, at_end) < 0:
            return None
        if need_prefix and run(prefix, k, np.zeros(warmup, np.uint8), at_warmup) < 0:
            return None
        return Residency(miss, at_warmup, at_end)

    return record


def fifo(trace: Trace, warmup: int) -> Record:
    return online(lambda t, k, miss, final: int(fast.fifo_faults(*t.dense(), k, miss, final)), trace, warmup)


def lru(trace: Trace, warmup: int) -> Record:
    """From one pass: a reference misses in k frames iff its stack depth is above k, and
    k frames hold the k most recently used pages."""
    ids, nuniq = trace.dense()
    depth = np.empty(len(ids), np.int64)
    fast.lru_depths(ids, nuniq, 1, depth)
    by_recency = {cut: _by_recency(ids[:cut]) for cut in {warmup, len(ids)}}

    def held(cut: int, k: int) -> np.ndarray:
        out = np.zeros(nuniq, np.bool_)
        out[by_recency[cut][:k]] = True
        return out

    def record(k: int) -> Residency:
        miss = (depth > k).view(np.uint8)
        return Residency(miss, held(warmup, k) if warmup else np.zeros(0, np.bool_), held(len(ids), k))

    return record


def _by_recency(ids: np.ndarray) -> np.ndarray:
    """The pages of `ids`, most recently used first."""
    pages, first_back = np.unique(ids[::-1], return_index=True)  # first seen from the end
    return pages[np.argsort(first_back)]


def opt(trace: Trace, warmup: int) -> Record:
    ids, nuniq = trace.dense()
    nxt = next_positions(ids)

    def record(k: int) -> Residency:
        miss, at_end = np.zeros(len(ids), np.uint8), np.zeros(nuniq, np.bool_)
        at_warmup = np.zeros(nuniq if warmup else 0, np.bool_)
        fast.opt_faults(ids, nxt, nuniq, k, warmup, miss, at_warmup, at_end)
        return Residency(miss, at_warmup, at_end)

    return record
