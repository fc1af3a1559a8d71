"""Replay figures for `pagelab bench`: compiled paths against the plain per-reference loop,
measured in the same run on the same synthetic trace (ratios, never absolute times)."""

from __future__ import annotations

import time
from collections.abc import Callable

from pagelab.kernel.mm.policy import Fifo, Lru
from pagelab.replay.core import replay, synthetic
from pagelab.replay.engine import simulate


def _best(fn: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def replay_figures(quick: bool = False) -> dict[str, float]:
    """replay_refs_per_s: FIFO replay (fast path, parsing excluded) in references per
    second. replay_speedup: that rate over the plain loop's rate running the same Fifo
    class one reference at a time. replay_curve_speedup: the one-pass LRU fault curve for
    1..64 frames against the plain loop run once per frame count, on 10^5 references."""
    big = synthetic(10**5 if quick else 10**6, seed=1)
    small = synthetic(10**4 if quick else 10**5, seed=2)
    replay(small, Fifo, [64])  # compile (or load the numba cache) outside the timing
    replay(small, Lru, [64])
    fast_s = _best(lambda: replay(big, Fifo, [64]))
    plain_s = _best(lambda: simulate(small, Fifo, 64), repeat=2)
    fast_rate, plain_rate = len(big) / fast_s, len(small) / plain_s
    sizes = list(range(1, 65))
    curve_s = _best(lambda: replay(small, Lru, sizes))
    plain_curve_s = _best(lambda: [simulate(small, Lru, k) for k in sizes], repeat=1)
    return {
        "replay_refs_per_s": round(fast_rate),
        "replay_plain_refs_per_s": round(plain_rate),
        "replay_speedup": round(fast_rate / plain_rate, 1),
        "replay_curve_refs": len(small),
        "replay_curve_speedup": round(plain_curve_s / curve_s, 1),
    }
