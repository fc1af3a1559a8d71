"""SHARDS: the LRU miss-ratio curve of a long trace from a spatially hashed sample.

Source: Waldspurger, Park, Garthwaite and Ahmad, "Efficient MRC construction with
SHARDS", FAST 2015. A page is in the sample when hash(page) < T, so the sample keeps every
reference to a fraction R = T/SPACE of the pages. A sampled reuse distance (distinct
sampled pages since the page's last use) is about R times the true one, so a cache of c
frames hits when it is below c*R.

Two estimates of the miss ratio from the sample:
- `adj`, the paper's SHARDS_adj: sampled misses over the expected sample size R*N (the
  paper credits the difference between expected and actual sampled references to the
  shortest distance, which comes to the same). Its error is which pages fall in the
  sample: on a skewed trace a few mid-popularity pages, each a sizeable share of the
  misses, decide it (0.017 mean error at R = 0.01 on the bench's Zipf(0.8) trace, 0.036
  with the hash pagelab used before; 0.016 to 0.042 with other hashes);
- `strata` (the default, pagelab's refinement): pages are grouped by reference count,
  which one cheap pass over the whole trace gives exactly. In each group the sampled
  pages' miss fraction stands for the group, weighted by the group's true reference
  count (post-stratification). A group with fewer than MIN_SAMPLED sampled pages (the
  hottest few hundred pages at R = 0.01) is measured whole: each of its references gets
  its distance from the sampled pages between it and the page's last use, scaled by 1/R.
  On the bench's trace: 0.0023 (0.001 to 0.007 with other hashes).

Fixed-size SHARDS (`max_pages`): the paper lowers T online whenever the sample holds
more than s_max pages, evicting the largest hash, and rescales the histogram by
new rate / old rate. With the whole trace at hand, pagelab picks the final T first (the
(s_max+1)-th smallest page hash of the trace, the paper's final T), so the sample is the
paper's final one and every reference is counted at one rate: nothing to rescale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit

from pagelab.replay.fast import fenwick_add, fenwick_sum
from pagelab.replay.trace import Trace

SPACE = 1 << 62  # hash space: a page is sampled when its hash is below rate * SPACE
MIN_SAMPLED = 5  # a reference-count group with fewer sampled pages is measured whole
METHODS = ("strata", "adj")


@dataclass(frozen=True)
class ShardsCurve:
    rate: float  # the sampling rate actually used (T / SPACE)
    sampled: int  # references in the sample
    miss_ratio: list[float]  # one per requested size
    pages: int = 0  # distinct pages in the sample
    probed: int = 0  # references of unsampled pages measured whole (`strata` only)
    method: str = "strata"


@dataclass(frozen=True)
class Census:
    """One pass over the trace: page i of the trace's range is refs[t] - lo (for a trace
    whose pages are spread thin, refs are ids from np.unique, and lo is 0), with its
    reference count and page hash."""

    refs: np.ndarray
    lo: int
    counts: np.ndarray
    hashes: np.ndarray


@dataclass(frozen=True)
class Sample:
    """A spatially hashed sample: which pages of the census are in it, at what rate."""

    census: Census
    keep: np.ndarray  # bool per page of the census
    rate: float


@njit(cache=True)
def _hash(pages: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, top 62 bits: a page's place in the hash space. It depends
    on the page number alone, so a page is in or out of every sample of a given rate."""
    out = np.empty(len(pages), dtype=np.int64)
    for i in range(len(pages)):
        z = np.uint64(pages[i]) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
        out[i] = np.int64(z >> np.uint64(2))
    return out


@njit(cache=True)
def _count(refs: np.ndarray, lo: int, npages: int) -> np.ndarray:
    counts = np.zeros(npages, dtype=np.int64)
    for t in range(len(refs)):
        counts[refs[t] - lo] += 1
    return counts


def census(trace: Trace) -> Census:
    """Reference counts and hashes of the trace's pages. A compact range of page numbers
    is used as it is, with no renumbered copy of the trace (as Trace.dense decides)."""
    pages = trace.pages
    if len(pages) == 0:
        return Census(pages, 0, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    lo, hi = int(pages.min()), int(pages.max())
    if hi - lo < max(4 * len(pages), 1 << 16):
        return Census(pages, lo, _count(pages, lo, hi - lo + 1), _hash(np.arange(lo, hi + 1, dtype=np.int64)))
    uniq, ids = np.unique(pages, return_inverse=True)
    ids = ids.astype(np.int64)
    return Census(ids, 0, _count(ids, 0, len(uniq)), _hash(uniq))


def check_rate(rate: float, max_pages: int = 0) -> None:
    if not 0 < rate <= 1:
        raise ValueError(f"sampling rate {rate:g} must be in (0, 1]")
    if max_pages < 0:
        raise ValueError(f"sample size of {max_pages} pages must be positive")


def spatial_sample(trace: Trace, rate: float, max_pages: int = 0) -> Sample:
    """The pages with hash below rate * SPACE; with `max_pages`, below a lower threshold
    too if needed, so that at most that many distinct pages are in it (fixed size)."""
    check_rate(rate, max_pages)
    c = census(trace)
    h, present = c.hashes, c.counts > 0
    threshold = SPACE if rate >= 1 else max(1, int(rate * SPACE))
    if max_pages:
        below = np.sort(h[(h < threshold) & present])
        if len(below) > max_pages:
            threshold = int(below[max_pages])  # keep the max_pages smallest hashes
    return Sample(c, (h < threshold) & present, threshold / SPACE)


SKIP, SAMPLED, PROBED = 0, 1, 2  # what _distances does with a page's references


@njit(cache=True)
def _distances(
    refs: np.ndarray, lo: int, role: np.ndarray, group: np.ndarray, ngroups: int, maxm: int, ns: int
) -> np.ndarray:
    """hist[g, m]: references of group-g pages, SAMPLED or PROBED (measured whole), whose
    page saw m distinct sampled other pages since its last use; m = maxm + 1 holds longer
    distances and first references. A Fenwick tree over the `ns` sampled references holds
    a 1 at each sampled page's latest one (as fast.lru_depths does over the whole trace),
    so m is a difference of two prefix sums."""
    tree = np.zeros(ns + 1, dtype=np.int32)
    last = np.full(len(role), -1, dtype=np.int64)  # sampled refs seen before the page's last use
    hist = np.zeros((ngroups, maxm + 2), dtype=np.int64)
    j = 0  # sampled references so far
    for t in range(len(refs)):
        x = refs[t] - lo
        r = role[x]
        if r == SKIP:
            continue
        p = last[x]
        if p < 0:
            hist[group[x], maxm + 1] += 1
        else:
            # markers at sampled positions p+1 .. j-1 (a sampled page's own is at p)
            m = fenwick_sum(tree, j) - fenwick_sum(tree, p + 1 if r == SAMPLED else p)
            hist[group[x], m if m <= maxm else maxm + 1] += 1
        if r == SAMPLED:
            if p >= 0:
                fenwick_add(tree, p + 1, -1)
            fenwick_add(tree, j + 1, 1)
            last[x] = j
            j += 1
        else:
            last[x] = j
    return hist


def _misses(hist: np.ndarray, sizes: Sequence[int], rate: float) -> np.ndarray:
    """misses[g, i]: group g's counted references that miss in sizes[i] frames. A
    distance m hits when m / rate < c; m is a count, so each m stands for the interval
    [m - (1-R)/2, m + (1-R)/2) of scaled distances (a continuity correction that vanishes
    at rate 1, where distances are exact)."""
    x = np.asarray(sizes, dtype=np.float64) * rate + (1 - rate) / 2
    k = np.minimum(np.floor(x).astype(np.int64), hist.shape[1] - 1)
    frac = x - k
    below = np.concatenate([np.zeros((hist.shape[0], 1)), np.cumsum(hist[:, :-1], axis=1)], axis=1)
    hits = below[:, k] + frac * hist[:, k]  # references with m < x
    return np.asarray(hist.sum(axis=1)[:, None] - hits)


def shards_curve(
    trace: Trace, sizes: Sequence[int], rate: float = 0.01, max_pages: int = 0, method: str = "strata"
) -> ShardsCurve:
    """Approximate LRU miss ratios for each memory size in `sizes` (in frames)."""
    if method not in METHODS:
        raise ValueError(f"unknown SHARDS estimate {method!r}: use one of {', '.join(METHODS)}")
    s = spatial_sample(trace, rate, max_pages)
    c, n = s.census, len(trace)
    if n == 0 or not s.keep.any():  # no reference, or no page sampled to measure
        return ShardsCurve(s.rate, 0, [0.0 if n == 0 else 1.0 for _ in sizes], 0, 0, method)
    maxm = int(np.ceil(max(sizes) * s.rate)) + 2
    sampled = int(c.counts[s.keep].sum())
    if method == "adj":
        role = s.keep.astype(np.int8)  # SAMPLED or SKIP
        hist = _distances(c.refs, c.lo, role, np.zeros(len(role), dtype=np.int64), 1, maxm, sampled)
        miss = _misses(hist, sizes, s.rate)[0] / (s.rate * n)
        return ShardsCurve(s.rate, sampled, _clip(miss), int(s.keep.sum()), 0, method)
    group, role, whole, refs, probed = _strata(c.counts, s.keep, MIN_SAMPLED)
    hist = _distances(c.refs, c.lo, role, group, len(whole), maxm, sampled)
    counted = hist.sum(axis=1)
    weight = np.where(whole, 1.0, refs / np.maximum(counted, 1))
    miss = (weight[:, None] * _misses(hist, sizes, s.rate)).sum(axis=0) / n
    return ShardsCurve(s.rate, sampled, _clip(miss), int(s.keep.sum()), int(probed), method)


@njit(cache=True)
def _strata(
    counts: np.ndarray, keep: np.ndarray, min_sampled: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Post-stratification by reference count, half an octave per group: each page's
    group, its role in _distances, which groups are measured whole (fewer than
    `min_sampled` sampled pages to stand for them), each group's references, and the
    references of the pages probed."""
    n = len(counts)
    group = np.zeros(n, dtype=np.int64)
    ngroups = 1
    for i in range(n):
        if counts[i] > 0:
            group[i] = np.int64(2 * np.log2(counts[i]))
            ngroups = max(ngroups, group[i] + 1)
    in_sample = np.zeros(ngroups, dtype=np.int64)
    refs = np.zeros(ngroups, dtype=np.float64)
    for i in range(n):
        in_sample[group[i]] += keep[i]
        refs[group[i]] += counts[i]
    whole = in_sample < min_sampled
    role = np.zeros(n, dtype=np.int8)
    probed = 0
    for i in range(n):
        if keep[i]:
            role[i] = SAMPLED
        elif counts[i] > 0 and whole[group[i]]:
            role[i] = PROBED
            probed += counts[i]
    return group, role, whole, refs, probed


def _clip(miss: np.ndarray) -> list[float]:
    return [min(1.0, max(0.0, float(m))) for m in miss]
