"""`pagelab replay`: run replacement policies on a page-reference trace, with no CPU.

`replay()` uses a compiled fast path for the built-in policies that have one: one pass for
the whole fault curve of FIFO, LRU and OPT (fast.py), one run per memory size for the
others (fast_clock.py, fast_sampled.py). Every other policy, user policies and subclasses of
built-ins included, runs in the plain per-reference loop (engine.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from pagelab.kernel.mm.policy import (
    Aging,
    Arc,
    Car,
    Clock,
    ClockPro,
    Fifo,
    Lfu,
    Linux,
    Lirs,
    Lru,
    Mglru,
    Mru,
    Nfu,
    Nru,
    Opt,
    Policy,
    Random,
    S3Fifo,
    SecondChance,
    Sieve,
    TwoQ,
    WorkingSet,
    WsClock,
)
from pagelab.kernel.mm.policy.spec import base_of, params_of
from pagelab.replay import (
    counting,
    fast,
    fast_adaptive,
    fast_clock,
    fast_clockpro,
    fast_linux,
    fast_queues,
    fast_sampled,
    fast_ws,
)
from pagelab.replay.engine import DEFAULT_TICK, Result, next_positions, simulate
from pagelab.replay.trace import Trace, TraceError, parse, read_trace, trace_from_pages

__all__ = ["DEFAULT_TICK", "Result", "Trace", "TraceError", "parse", "read_trace", "replay", "trace_from_pages"]


def _fifo(trace: Trace, frames: Sequence[int]) -> list[int]:
    ids, nuniq = trace.dense()
    return [int(fast.fifo_faults(ids, nuniq, k)) for k in frames]


def _lru(trace: Trace, frames: Sequence[int]) -> list[int]:
    ids, nuniq = trace.dense()
    if len(frames) <= 3:  # a list per size beats the one-pass curve's O(n log n) here
        return [int(fast_queues.lru_faults(ids, nuniq, k)) for k in frames]
    return fast.faults_from_depths(fast.lru_depths(ids, nuniq, max(frames)), len(trace), list(frames))


def _opt(trace: Trace, frames: Sequence[int], start: int = 0) -> list[int]:
    ids, nuniq = trace.dense()
    hist = fast.opt_depths(ids, next_positions(trace.pages), nuniq, max(frames), start)
    return fast.faults_from_depths(hist, len(trace) - start, list(frames))


# Exact classes only: a subclass may change the behaviour, so it takes the plain loop.
FAST: dict[type[Policy], Callable[[Trace, Sequence[int]], list[int]]] = {Fifo: _fifo, Lru: _lru, Opt: _opt}


def _clock(trace: Trace, cls: type[Policy], k: int, seed: int, tick: int, *rec: np.ndarray) -> int:
    ids, nuniq = trace.dense()
    young = bool(params_of(cls).get("young", 1))  # sc has no such parameter: as clock's default
    return int(fast_clock.clock_faults(ids, nuniq, k, young, *rec))


def _sieve(trace: Trace, cls: type[Policy], k: int, seed: int, tick: int, *rec: np.ndarray) -> int:
    ids, nuniq = trace.dense()
    return int(fast_clock.sieve_faults(ids, nuniq, k, *rec))


def _aging(trace: Trace, cls: type[Policy], k: int, seed: int, tick: int, *rec: np.ndarray) -> int:
    ids, nuniq = trace.dense()
    return int(fast_sampled.aging_faults(ids, nuniq, k, tick, *rec))


def _nfu(trace: Trace, cls: type[Policy], k: int, seed: int, tick: int, *rec: np.ndarray) -> int:
    ids, nuniq = trace.dense()
    return int(fast_sampled.nfu_faults(ids, nuniq, k, tick, *rec))


def _pick(nru: bool) -> Callable[..., int]:
    def run(trace: Trace, cls: type[Policy], k: int, seed: int, tick: int, *rec: np.ndarray) -> int:
        ids, nuniq = trace.dense()
        mt = fast_sampled.mt_state(seed)
        return int(fast_sampled.pick_faults(ids, trace.writes, nuniq, k, tick, mt, nru, *rec))

    return run


def _mru(trace: Trace, cls: type[Policy], k: int, seed: int, tick: int, *rec: np.ndarray) -> int:
    ids, nuniq = trace.dense()
    return int(fast_queues.mru_faults(ids, nuniq, k, *rec))


def _lfu(trace: Trace, cls: type[Policy], k: int, seed: int, tick: int, *rec: np.ndarray) -> int:
    ids, nuniq = trace.dense()
    return int(fast_queues.lfu_faults(ids, nuniq, k, *rec))


def _twoq(trace: Trace, cls: type[Policy], k: int, seed: int, tick: int, *rec: np.ndarray) -> int:
    ids, nuniq = trace.dense()
    return int(
        fast_queues.twoq_faults(ids, nuniq, k, float(params_of(cls)["kin"]), float(params_of(cls)["kout"]), *rec)
    )


def _arc(trace: Trace, cls: type[Policy], k: int, seed: int, tick: int, *rec: np.ndarray) -> int:
    ids, nuniq = trace.dense()
    return int(fast_queues.arc_faults(ids, nuniq, k, *rec))


def _s3fifo(trace: Trace, cls: type[Policy], k: int, seed: int, tick: int, *rec: np.ndarray) -> int:
    ids, nuniq = trace.dense()
    small, ghost = float(params_of(cls)["small"]), float(params_of(cls)["ghost"])
    threshold, fill_main = int(params_of(cls)["threshold"]), bool(params_of(cls)["fill_main"])
    return int(fast_queues.s3fifo_faults(ids, nuniq, k, small, ghost, threshold, fill_main, *rec))


def _ws(trace: Trace, cls: type[Policy], k: int, seed: int, tick: int, *rec: np.ndarray) -> int:
    ids, nuniq = trace.dense()
    return int(fast_ws.ws_faults(ids, nuniq, k, tick, int(params_of(cls)["tau"]), *rec))


def _linux(trace: Trace, cls: type[Policy], k: int, seed: int, tick: int, *rec: np.ndarray) -> int:
    ids, nuniq = trace.dense()
    return int(fast_linux.linux_faults(ids, nuniq, k, *rec))


def _mglru(trace: Trace, cls: type[Policy], k: int, seed: int, tick: int, *rec: np.ndarray) -> int:
    ids, nuniq = trace.dense()
    return int(fast_linux.mglru_faults(ids, nuniq, k, tick, int(params_of(cls)["gens"]), *rec))


def _car(trace: Trace, cls: type[Policy], k: int, seed: int, tick: int, *rec: np.ndarray) -> int:
    ids, nuniq = trace.dense()
    return int(fast_adaptive.car_faults(ids, nuniq, k, *rec))


def _lirs(trace: Trace, cls: type[Policy], k: int, seed: int, tick: int, *rec: np.ndarray) -> int:
    ids, nuniq = trace.dense()
    p = params_of(cls)
    return int(fast_adaptive.lirs_faults(ids, nuniq, k, float(p["hir"]), float(p["stack"]), bool(p["demote"]), *rec))


def _wsclock(trace: Trace, cls: type[Policy], k: int, seed: int, tick: int, *rec: np.ndarray) -> int:
    ids, nuniq = trace.dense()
    return int(fast_ws.wsclock_faults(ids, trace.writes, nuniq, k, tick, int(params_of(cls)["tau"]), *rec))


def _clockpro(trace: Trace, cls: type[Policy], k: int, seed: int, tick: int, *rec: np.ndarray) -> int:
    ids, nuniq = trace.dense()
    faults = int(fast_clockpro.clockpro_faults(ids, nuniq, k, float(params_of(cls)["cold"]), *rec))
    if faults < 0 and rec:  # never seen in replay (see fast_clockpro): counting runs the plain loop
        return faults
    return faults if faults >= 0 else simulate(trace, cls, k, seed, tick).faults


# One run per memory size, with the policy's parameters read off `cls`. Keyed by the
# built-in class; a parameterised variant (--policy clock:young=0) counts as it. Those in
# RECORDS also take (miss, final) arrays, `*rec`, to mark their faults and final resident set.
SIZED: dict[type[Policy], Callable[..., int]] = {
    Clock: _clock,
    SecondChance: _clock,  # the same choices (Tanenbaum 3.4.5; the tests check it)
    Sieve: _sieve,
    Aging: _aging,
    Nfu: _nfu,
    Nru: _pick(nru=True),
    Random: _pick(nru=False),
    Mru: _mru,
    Lfu: _lfu,
    TwoQ: _twoq,
    Arc: _arc,
    S3Fifo: _s3fifo,
    WorkingSet: _ws,
    Linux: _linux,
    Mglru: _mglru,
    Car: _car,
    Lirs: _lirs,
    WsClock: _wsclock,
    ClockPro: _clockpro,
}


def fast_path_of(cls: type[Policy]) -> Callable[..., int] | None:
    """The compiled per-size path for `cls`, if it is a built-in (or a variant of one
    made by --policy NAME:param=value) that has one."""
    return SIZED.get(base_of(cls))


def replay(
    trace: Trace,
    cls: type[Policy],
    frames: Sequence[int],
    seed: int = 0,
    tick: int = DEFAULT_TICK,
    use_fast: bool = True,
    warmup: int = 0,
    window: int = 0,
    writebacks: bool = False,
) -> list[Result]:
    """Faults of policy `cls` on `trace` for each frame count in `frames`, counting only
    the references after the first `warmup` (which fill memory uncounted); with
    `writebacks`, the dirty victims too, and with `window`, the faults in each `window`
    references (counting.py)."""
    if not frames or min(frames) < 1:
        raise ValueError("frame counts must be at least 1")
    if not 0 <= warmup <= len(trace):
        raise ValueError(f"warm-up of {warmup} references in a trace of {len(trace)}")
    if window < 0:
        raise ValueError("the window must be a positive number of references")
    if len(trace) == 0:
        return [Result(cls.name, k, 0, 0, 0 if writebacks else None) for k in frames]
    if window or writebacks:
        ask = counting.Ask(cls.name, warmup, window, writebacks)
        record = _record(trace, cls, list(frames), seed, tick, ask) if use_fast else None
        results = [record(k) if record is not None else None for k in frames]
        return [
            r or simulate(trace, cls, k, seed, tick, warmup, window, writebacks)
            for k, r in zip(frames, results, strict=True)
        ]
    refs = len(trace) - warmup
    if use_fast and cls is Opt:  # its future is the whole trace: count from `warmup` on
        return [Result(cls.name, k, refs, f) for k, f in zip(frames, _opt(trace, frames, warmup), strict=True)]
    fast_path = FAST.get(cls) if use_fast else None
    sized = fast_path_of(cls) if use_fast else None
    if fast_path is None and sized is None:
        return [simulate(trace, cls, k, seed, tick, warmup) for k in frames]

    def faults(t: Trace) -> list[int]:
        if fast_path is not None:
            return fast_path(t, frames)
        assert sized is not None
        return [sized(t, cls, k, seed, tick) for k in frames]

    total = faults(trace)
    if warmup:
        # An online policy's first `warmup` steps are the replay of that prefix alone.
        prefix = Trace(trace.pages[:warmup], trace.writes[:warmup], trace.fmt)
        total = [a - b for a, b in zip(total, faults(prefix), strict=True)]
    return [Result(cls.name, k, refs, f) for k, f in zip(frames, total, strict=True)]


# Per-size paths that can mark their faults and final resident set (counting.py).
RECORDS: set[type[Policy]] = {Clock, SecondChance, Sieve, WorkingSet, WsClock, Linux, Mglru, Car, Lirs, ClockPro}
RECORDS |= {Mru, Lfu, TwoQ, Arc, S3Fifo, Aging, Nfu, Nru, Random}


def _record(
    trace: Trace, cls: type[Policy], frames: list[int], seed: int, tick: int, ask: counting.Ask
) -> counting.Record | None:
    """The compiled replay that counts as `ask` says, if `cls` has one that can."""
    whole = {Fifo: counting.fifo, Lru: counting.lru, Opt: counting.opt}.get(cls)
    if whole is not None:
        return whole(trace, frames, ask)
    sized = fast_path_of(cls)
    if sized is None or base_of(cls) not in RECORDS:
        return None
    return counting.online(lambda t, k, miss, final: sized(t, cls, k, seed, tick, miss, final), trace, ask)


def parse_warmup(text: str, refs: int) -> int:
    """'1000' -> 1000 references; '0.1' -> the first 10 % of the trace."""
    try:
        n = round(float(text) * refs) if "." in text else int(text)
    except ValueError:
        raise ValueError(f"bad --warmup {text!r}: use a count or a fraction like 0.1") from None
    if not 0 <= n <= refs or ("." in text and not 0 <= float(text) <= 1):
        raise ValueError(f"bad --warmup {text!r}: between 0 and the {refs} references of the trace")
    return n


def parse_frames(text: str, distinct: int = 0) -> list[int]:
    """'4' -> [4]; '1-8' -> [1..8]; '0.01' -> 1 % of the `distinct` pages of the trace (at
    least one frame); items separated by commas ('8,16,0.5'), in the order given, each size
    once."""
    sizes: list[int] = []
    for item in text.split(","):
        item = item.strip()
        if "." in item:
            try:
                share = float(item)
            except ValueError:
                raise ValueError(f"bad frame count {item!r}: use N, A-B or a fraction like 0.01") from None
            if not 0 < share <= 1:
                raise ValueError(f"bad frame count {item!r}: a fraction of the distinct pages must be in (0, 1]")
            sizes.append(max(1, round(share * distinct)))
            continue
        lo, sep, hi = item.partition("-")
        try:
            a, b = int(lo), int(hi) if sep else int(lo)
        except ValueError:
            raise ValueError(f"bad frame count {item!r}: use N, A-B or a fraction like 0.01") from None
        if a < 1 or b < a or b > 1 << 20:
            raise ValueError(f"bad frame count {item!r}: need 1 <= A <= B <= 1048576")
        sizes.extend(range(a, b + 1))
    return list(dict.fromkeys(sizes))


def synthetic(n: int, pages: int = 256, seed: int = 0) -> Trace:
    """A trace with locality for benchmarks: mostly a drifting hot set, some random pages."""
    rng = np.random.default_rng(seed)
    hot = (np.arange(n) // 2000 * 7 + rng.integers(0, 32, n)) % pages
    cold = rng.integers(0, pages, n)
    return trace_from_pages(np.where(rng.random(n) < 0.9, hot, cold))
