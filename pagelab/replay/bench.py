"""Replay figures for `pagelab bench`: compiled paths against the plain per-reference loop,
measured in the same run on the same synthetic trace (ratios, never absolute times)."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

import numpy as np

from pagelab.kernel.mm.policy import Fifo, Lru, policy_class
from pagelab.replay.core import FAST, SIZED, replay, synthetic, trace_from_pages
from pagelab.replay.engine import simulate
from pagelab.replay.trace import Trace


def _best(fn: Callable[[], object], repeat: int = 3, clock: Callable[[], float] = time.perf_counter) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = clock()
        fn()
        best = min(best, clock() - t0)
    return best


def replay_figures(quick: bool = False) -> dict[str, object]:
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
        **policy_figures(quick),
        **libcachesim_figures(quick),
        **shards_figures(quick),
        **counting_figures(quick),
    }


def counting_figures(quick: bool) -> dict[str, object]:
    """replay_counting_cost: per policy, the time of a replay that counts writebacks and
    windows of 10^4 references over the time of the same replay that does not, on 10^6
    Zipf references with 30 % stores (lru: the curve at 64 sizes up to 6,400 frames; the
    others at 1,000 frames). What counting costs, never paid by a run that asks for none."""
    z = zipf_trace(2 * 10**4 if quick else 10**6)
    trace = trace_from_pages(z.pages, np.random.default_rng(2).random(len(z)) < 0.3)
    head = trace_from_pages(trace.pages[:2000], trace.writes[:2000])
    cost: dict[str, float] = {}
    for name in ("fifo", "lru", "opt", "clock", "arc", "lirs"):
        cls = policy_class(name)
        sizes = list(range(100, 6401, 100)) if name == "lru" else [1000]
        for counted in (False, True):  # compile, or load numba's cache, outside the timing
            replay(head, cls, [10], window=100 if counted else 0, writebacks=counted)
        plain = _best(partial(replay, trace, cls, sizes), repeat=2)
        counted_s = _best(partial(replay, trace, cls, sizes, window=10_000, writebacks=True), repeat=2)
        cost[name] = round(counted_s / plain, 2)
    return {"replay_counting_cost": cost}


def zipf_trace(n: int, pages: int = 100_000, alpha: float = 1.0, seed: int = 1) -> Trace:
    """A seeded Zipf trace: page i+1 drawn with weight 1/(i+1)^alpha."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, pages + 1) ** alpha
    cdf = np.cumsum(weights / weights.sum())
    return trace_from_pages(np.minimum(np.searchsorted(cdf, rng.random(n)), pages - 1))


def policy_figures(quick: bool) -> dict[str, object]:
    """replay_policy_min_mrefs: the slowest compiled built-in policy's rate, in millions of
    references per second, on 10^6 Zipf references at 1,000 and at 10,000 frames (the
    issue's target is 10); replay_policy_min_over_fifo: that rate over FIFO's in the same
    run; replay_policies_plain: built-ins with no compiled path yet (they run the plain
    loop and are not in the minimum)."""
    trace = zipf_trace(2 * 10**4 if quick else 10**6)
    head = trace_from_pages(trace.pages[:2000])
    rates: dict[str, float] = {}
    compiled = {c.name for c in (*FAST, *SIZED)} - {"opt"}  # OPT's curve pass is another kind
    for name in sorted(compiled):
        cls = policy_class(name)
        replay(head, cls, [100])  # compile, or load numba's cache, outside the timing
        for k in (1000, 10_000):
            rates[f"{name}@{k}"] = len(trace) / _best(partial(replay, trace, cls, [k]), repeat=1) / 1e6
    slowest = min(rates, key=rates.__getitem__)
    fifo = min(rates["fifo@1000"], rates["fifo@10000"])
    from pagelab.kernel.mm.policy import BUILTIN

    return {
        "replay_policy_min_mrefs": round(rates[slowest], 2),
        "replay_policy_min_name": slowest,
        "replay_policy_min_over_fifo": round(rates[slowest] / fifo, 3),
        "replay_policies_plain": sorted(set(BUILTIN) - compiled - {"opt"}),
        "replay_policy_mrefs": {k: round(v, 2) for k, v in sorted(rates.items())},
    }


LIBCACHESIM = {
    "fifo": "FIFO",
    "lru": "LRU",
    "clock:young=0": "Clock",
    "sieve": "Sieve",
    "arc": "ARC",
    "2q": "TwoQ",
    "s3fifo:fill_main=1": "S3FIFO",
    "lirs:stack=2,demote=1": "LIRS",
}


def libcachesim_figures(quick: bool) -> dict[str, object]:
    """replay_vs_libcachesim: for each policy both have, pagelab replay's time over the
    libcachesim package's (its C cache fed by its own seeded Zipf reader) on the same
    trace, in the same run (target <= 1; replay_vs_libcachesim_max, the worst of them);
    replay_vs_libcachesim_same_misses: whether the miss counts were equal. Empty when libcachesim (a dev extra) is not installed."""
    try:
        import libcachesim as lcs
    except ImportError:
        return {}
    n = 2 * 10**4 if quick else 10**5
    reader = lcs.SyntheticReader(n, obj_size=1, seed=1, alpha=1.0, num_objects=10_000)
    trace = trace_from_pages(np.asarray(reader.obj_ids, dtype=np.int64))
    ratios: dict[str, float] = {}
    same = True
    for spec, name in LIBCACHESIM.items():
        cls = policy_class(spec)
        replay(trace_from_pages(trace.pages[:2000]), cls, [100])  # compile outside the timing
        ours = _best(partial(replay, trace, cls, [1000]), repeat=2)
        faults = replay(trace, cls, [1000])[0].faults
        t0 = time.perf_counter()
        reader.reset()
        miss_ratio, _ = getattr(lcs, name)(1000).process_trace(reader)
        theirs = time.perf_counter() - t0
        ratios[spec] = round(ours / theirs, 4)
        same = same and round(miss_ratio * n) == faults
    return {
        "replay_vs_libcachesim_max": max(ratios.values()),
        "replay_vs_libcachesim": ratios,
        "replay_vs_libcachesim_same_misses": same,
    }


def shards_figures(quick: bool) -> dict[str, object]:
    """Approximate curves against exact ones, in the same run, at sizes of 1,000 to
    100,000 frames on 10^7 Zipf(0.8) references over 10^6 pages (10^6 references when
    quick). shards_error: the mean absolute difference between SHARDS's LRU miss ratios
    (rate 0.01, stratified estimate) and the exact one-pass curve (target <= 0.01);
    shards_error_adj: the same with the paper's SHARDS_adj estimate; shards_speedup: the
    exact curve's time over SHARDS's (target >= 10). minisim_error and minisim_speedup:
    the same for miniature simulation (rate 0.01, raised to give the mini cache 100
    frames) of ARC, CLOCK and S3-FIFO, against one exact replay per size: the mean of the
    three errors, and the total exact time over the total approximate time."""
    from pagelab.replay.minisim import MIN_FRAMES, minisim_curve, sample_rate
    from pagelab.replay.shards import shards_curve

    trace = zipf_trace(10**6 if quick else 10**7, pages=10**6, alpha=0.8, seed=3)
    sizes = [1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000]
    head = trace_from_pages(trace.pages[:5000])
    shards_curve(head, sizes[:1], 0.5)  # compile (or load numba's cache) outside the timing
    shards_curve(head, sizes[:1], 0.5, method="adj")
    t0 = time.process_time()
    exact = [r.faults / len(trace) for r in replay(trace, Lru, sizes)]
    exact_s = time.process_time() - t0
    shards_s = _best(lambda: shards_curve(trace, sizes, rate=0.01), repeat=2, clock=time.process_time)
    approx = shards_curve(trace, sizes, rate=0.01)
    adj = shards_curve(trace, sizes, rate=0.01, method="adj")
    mini_errors: dict[str, float] = {}
    exact_total = mini_total = 0.0
    for name in ("arc", "clock", "s3fifo"):
        cls = policy_class(name)
        minisim_curve(head, cls, [100], 0.5)
        t0 = time.process_time()
        truth = [r.faults / len(trace) for r in replay(trace, cls, sizes)]
        exact_total += time.process_time() - t0
        t0 = time.process_time()
        mini = minisim_curve(trace, cls, sizes, rate=0.01)
        mini_total += time.process_time() - t0
        mini_errors[name] = round(_mae(mini.miss_ratio, truth), 4)
    return {
        "shards_error": round(_mae(approx.miss_ratio, exact), 4),
        "shards_error_adj": round(_mae(adj.miss_ratio, exact), 4),
        "shards_speedup": round(exact_s / shards_s, 1),
        "shards_rate": approx.rate,
        "shards_refs": len(trace),
        "minisim_error": round(sum(mini_errors.values()) / len(mini_errors), 4),
        "minisim_errors": mini_errors,
        "minisim_speedup": round(exact_total / mini_total, 1),
        "minisim_rates": [sample_rate(c, 0.01, MIN_FRAMES) for c in sizes],
    }


def _mae(a: list[float], b: list[float]) -> float:
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)
