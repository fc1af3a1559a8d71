"""The plain replay loop: every reference goes through the Policy class, as in the kernel.

This loop defines what a replay means. The fast paths in fast.py must agree with it
exactly (tests/test_replay.py checks that on random traces).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from pagelab.kernel.mm.policy import POLICY_RAISES, Policy, check_victim, policy_failure
from pagelab.replay import DEFAULT_TICK
from pagelab.replay.trace import Trace

_CHUNK = 1 << 16  # references turned into Python ints at a time


@dataclass(frozen=True)
class Result:
    policy: str
    frames: int
    refs: int  # references counted: the trace less its warm-up
    faults: int
    writebacks: int | None = None  # dirty victims evicted after the warm-up (None: not asked)
    windows: tuple[int, ...] = ()  # faults in each window of counted references, when asked

    @property
    def hits(self) -> int:
        return self.refs - self.faults


class TraceBits:
    """AccessBits for replay: each reference sets its page's A bit, and D on a write."""

    def __init__(self, trace: Trace) -> None:
        self.young_set: set[int] = set()
        self.dirty_set: set[int] = set()
        self.last: dict[int, int] = {}  # page -> position of its latest reference
        self.pos = 0  # references replayed so far: virtual time
        self._next = next_positions(trace.pages)

    def young(self, frame: int) -> bool:
        return frame in self.young_set

    def clear_young(self, frame: int) -> bool:
        was = frame in self.young_set
        self.young_set.discard(frame)
        return was

    def dirty(self, frame: int) -> bool:
        return frame in self.dirty_set

    def next_use(self, frame: int) -> float:
        n = int(self._next[self.last[frame]])
        return math.inf if n < 0 else n

    def now(self) -> int:
        return self.pos


def next_positions(pages: np.ndarray) -> np.ndarray:
    """For each position, where the same page is referenced next (-1: never again)."""
    n = len(pages)
    order = np.lexsort((np.arange(n), pages))  # by page, then by time
    nxt = np.full(n, -1, dtype=np.int64)
    same = pages[order[1:]] == pages[order[:-1]]
    nxt[order[:-1][same]] = order[1:][same]
    return nxt


def simulate(
    trace: Trace,
    cls: type[Policy],
    frames: int,
    seed: int = 0,
    tick: int = DEFAULT_TICK,
    warmup: int = 0,
    window: int = 0,
    writebacks: bool = False,
) -> Result:
    """Replay `trace` in `frames` frames, one reference at a time. A policy that fails (a
    method raises, victim() answers what is not resident) raises PolicyFailed. With
    `window`, also the faults in each `window` references from the warm-up on; with
    `writebacks`, the dirty victims evicted from the warm-up on (vmsim's writes to disk)."""
    if frames < 1:
        raise ValueError("frames must be at least 1")
    try:
        result = _simulate(trace, cls, frames, seed, tick, warmup, window)
        return result if writebacks else replace(result, writebacks=None)
    except POLICY_RAISES as e:
        # The frame below _simulate's is the policy method it called (no cost per call).
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code is not _simulate.__code__:
            tb = tb.tb_next
        called = tb.tb_next if tb is not None else None
        method = called.tb_frame.f_code.co_name if called is not None else "a method"
        raise policy_failure(cls, method, e) from None


def _simulate(trace: Trace, cls: type[Policy], frames: int, seed: int, tick: int, warmup: int, window: int) -> Result:
    bits = TraceBits(trace)
    policy = cls(bits, seed)
    policy.resize(frames)
    resident: dict[int, None] = {}
    young, dirty, last = bits.young_set, bits.dirty_set, bits.last
    faults = writebacks = 0
    windows = [0] * (-(-(len(trace) - warmup) // window) if window else 0)
    pos = 0
    for start in range(0, len(trace), _CHUNK):
        pages = trace.pages[start : start + _CHUNK].tolist()
        writes = trace.writes[start : start + _CHUNK].tolist()
        for page, write in zip(pages, writes, strict=True):
            if page not in resident:
                faults += pos >= warmup  # the warm-up fills memory uncounted
                if window and pos >= warmup:
                    windows[(pos - warmup) // window] += 1
                policy.missed(page)
                if len(resident) >= frames:
                    victim = check_victim(policy, policy.victim(resident.keys()), resident)
                    writebacks += pos >= warmup and victim in dirty  # a page-out: written to disk
                    del resident[victim]
                    young.discard(victim)
                    dirty.discard(victim)
                    policy.unmapped(victim)
                resident[page] = None
                policy.mapped(page)
            young.add(page)
            if write:
                dirty.add(page)
            last[page] = pos
            policy.referenced(page)
            pos += 1
            bits.pos = pos
            if pos % tick == 0:
                policy.tick()
    return Result(cls.name, frames, len(trace) - warmup, faults, writebacks, tuple(windows))
