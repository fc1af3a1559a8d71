"""Miniature simulation: any policy's miss ratio in c frames from a cache of c*R frames
fed a spatially hashed sample of rate R.

Source: Waldspurger, Saemundsson, Ahmad and Park, "Cache Modeling and Optimization using
Miniature Simulations", USENIX ATC 2017 (scaled-down simulation, introduced with SHARDS).
The sample keeps every reference to the pages whose sampling key is below R, and
`replay()` runs it as it is, so every built-in policy and every user policy can be
approximated. Differences from the paper:
- the key is stratified by reference count (one pass over the trace gives the counts):
  pages fall in groups of half an octave of counts, and within a group of m pages the
  j-th smallest hash gets the key (j + u) / m, with u a uniform number from the hash's
  low bits. So a group gives exactly R*m of its pages to the sample, one more with
  probability frac(R*m), and the samples of smaller rates are nested in those of larger
  ones, as with a hash threshold. A plain threshold leaves it to chance how many
  mid-popularity pages, each a sizeable share of the misses, fall in the sample. At rate
  0.01, on 2*10^6-reference Zipf, phase-changing and loop-plus-Zipf traces, 14 policies'
  mean errors went from 0.02-0.08 to 0.001-0.011 in 39 of 42 cases; SIEVE on the phases
  went from 0.008 to 0.028, and MRU, poorly modelled by a small cache either way, from
  0.063 to 0.127 on Zipf;
- the miss ratio is the sampled misses over the expected sample size R*N, as SHARDS_adj
  does, not over the actual sample size, which one hot page in or out of the sample skews;
- a mini cache of a few frames says little about a big one, so the rate rises for small
  sizes until the mini cache has `min_frames` frames (R_c = max(R, min_frames / c)); the
  rate each size used is reported;
- the reference tick (NRU, aging, NFU, MGLRU and WSClock look at bits every `tick`
  references) is scaled by R, to span the same stretch of the trace; τ of the
  working-set policies is not (it counts sample references).
Fixed size (`max_pages`): the rate falls to the key of the (max_pages+1)-th page, as the
threshold of fixed-size SHARDS does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit

from pagelab.kernel.mm.policy import Policy
from pagelab.replay.core import DEFAULT_TICK, replay
from pagelab.replay.shards import census, check_rate
from pagelab.replay.trace import Trace

MIN_FRAMES = 100  # the smallest mini cache worth simulating
_U_BITS = 30  # low hash bits that give u (the order within a group uses the high ones)


@dataclass(frozen=True)
class MiniCurve:
    rates: list[float]  # per size: the sampling rate used
    mini_frames: list[int]  # per size: the mini cache's frames
    sampled: list[int]  # per size: references in its sample
    pages: list[int]  # per size: distinct pages in its sample
    miss_ratio: list[float]  # per size: the estimate


def sample_rate(frames: int, rate: float, min_frames: int = MIN_FRAMES) -> float:
    """The rate for a cache of `frames`: `rate`, raised until the mini cache has
    `min_frames` frames (at most 1)."""
    return min(1.0, max(rate, min_frames / frames))


_ABSENT = np.int64(0x7FFFFFFFFFFFFFFF)  # sorts after every page with references


@njit(cache=True)
def _order_keys(counts: np.ndarray, h: np.ndarray) -> np.ndarray:
    """(group, hash) packed in one integer per page: the group (half an octave of
    reference counts) in the top bits, the hash's high bits below it."""
    out = np.empty(len(counts), dtype=np.int64)
    for i in range(len(counts)):
        if counts[i] > 0:
            g = np.int64(2 * np.log2(counts[i]))
            out[i] = (g << np.int64(56)) | (h[i] >> np.int64(6))
        else:
            out[i] = _ABSENT
    return out


@njit(cache=True)
def _number(order: np.ndarray, order_key: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Key (j + u) / m for the j-th of the m pages of each group, in `order`."""
    n = len(order)
    keys = np.full(n, 2.0)
    a = 0
    while a < n and order_key[order[a]] != _ABSENT:
        g = order_key[order[a]] >> np.int64(56)
        b = a
        while b < n and order_key[order[b]] != _ABSENT and order_key[order[b]] >> np.int64(56) == g:
            b += 1
        for j in range(a, b):
            u = (h[order[j]] & np.int64((1 << _U_BITS) - 1)) / float(1 << _U_BITS)
            keys[order[j]] = (j - a + u) / (b - a)
        a = b
    return keys


def page_keys(counts: np.ndarray, h: np.ndarray) -> np.ndarray:
    """The stratified key of each page of a census (2.0 for those with no reference)."""
    order_key = _order_keys(counts, h)
    return np.asarray(_number(np.argsort(order_key), order_key, h))  # numpy's sort is the fast one


@njit(cache=True)
def _extract(
    refs: np.ndarray, lo: int, keys: np.ndarray, r: float, pages: np.ndarray, writes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The references whose page's key is below r: their pages, writes and keys."""
    n = 0
    for t in range(len(refs)):
        if keys[refs[t] - lo] < r:
            n += 1
    sub_pages = np.empty(n, dtype=np.int64)
    sub_writes = np.empty(n, dtype=np.bool_)
    sub_keys = np.empty(n, dtype=np.float64)
    n = 0
    for t in range(len(refs)):
        k = keys[refs[t] - lo]
        if k < r:
            sub_pages[n] = pages[t]
            sub_writes[n] = writes[t]
            sub_keys[n] = k
            n += 1
    return sub_pages, sub_writes, sub_keys


def minisim_curve(
    trace: Trace,
    cls: type[Policy],
    sizes: Sequence[int],
    rate: float = 0.01,
    max_pages: int = 0,
    min_frames: int = MIN_FRAMES,
    seed: int = 0,
    tick: int = DEFAULT_TICK,
    use_fast: bool = True,
) -> MiniCurve:
    """Approximate miss ratios of `cls` for each memory size in `sizes` (in frames)."""
    check_rate(rate, max_pages)
    if not sizes or min(sizes) < 1:
        raise ValueError("frame counts must be at least 1")
    if min_frames < 0:
        raise ValueError(f"min_frames {min_frames} must not be negative")
    n = len(trace)
    m = len(sizes)
    rates, minis, counts, npages, miss = [0.0] * m, [0] * m, [0] * m, [0] * m, [1.0] * m
    if n == 0:
        return MiniCurve([rate] * m, [max(1, round(c * rate)) for c in sizes], counts, npages, [0.0] * m)
    pages_of = census(trace)
    keys = page_keys(pages_of.counts, pages_of.hashes)
    cap = 1.0
    if max_pages:
        ordered = np.sort(keys[keys < 2.0])
        cap = float(ordered[max_pages]) if len(ordered) > max_pages else 1.0
    by_rate: dict[float, list[int]] = {}
    for i, size in enumerate(sizes):
        by_rate.setdefault(min(cap, sample_rate(size, rate, min_frames)), []).append(i)
    sub_pages, sub_writes, key = _extract(pages_of.refs, pages_of.lo, keys, max(by_rate), trace.pages, trace.writes)
    for r in sorted(by_rate, reverse=True):  # each sample is inside the one before
        keep = key < r
        sub_pages, sub_writes, key = sub_pages[keep], sub_writes[keep], key[keep]
        which = by_rate[r]
        sub = Trace(sub_pages, sub_writes, trace.fmt)
        frames = [max(1, round(sizes[i] * r)) for i in which]
        faults: dict[int, int] = {}
        if len(sub):
            results = replay(sub, cls, list(dict.fromkeys(frames)), seed, max(1, round(tick * r)), use_fast)
            faults = {res.frames: res.faults for res in results}
        pages = int((keys < r).sum())
        for i, k in zip(which, frames, strict=True):
            rates[i], minis[i], counts[i], npages[i] = r, k, len(sub), pages
            if len(sub):
                miss[i] = min(1.0, faults[k] / (r * n))
    return MiniCurve(rates, minis, counts, npages, miss)
