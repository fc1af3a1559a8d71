"""SHARDS: the LRU miss-ratio curve of a long trace from a spatially hashed sample.

Source: Waldspurger, Park, Garthwaite and Ahmad, "Efficient MRC construction with
SHARDS", FAST 2015. A page is in the sample when hash(page) mod P < T, so the sample keeps
every reference to a fraction R = T/P of the pages. Reuse distances measured on the sample
are about R times the true ones: scaled by 1/R they give the curve. Fixed-rate SHARDS is
`shards_curve(rate=R)`; fixed-size SHARDS (`max_pages`) lowers T while the sample holds
more distinct pages than that, dropping the pages with the largest hash, as the paper's
s_max variant does; its rate is the final T/P, and references sampled before T fell are
left in. Both use the paper's SHARDS_adj correction: the difference between the expected
and the actual number of sampled references is credited to the shortest reuse distance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit

from pagelab.replay import fast
from pagelab.replay.trace import Trace

P = 1 << 24  # hash space of the threshold test


@dataclass(frozen=True)
class ShardsCurve:
    rate: float  # the sampling rate actually used
    sampled: int  # references in the sample
    miss_ratio: list[float]  # one per requested size


@njit(cache=True)
def _hash(pages: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, reduced mod P: each page's place in the hash space."""
    out = np.empty(len(pages), dtype=np.int64)
    for i in range(len(pages)):
        z = np.uint64(pages[i]) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
        out[i] = np.int64(z % np.uint64(P))
    return out


def shards_curve(trace: Trace, sizes: Sequence[int], rate: float = 0.01, max_pages: int = 0) -> ShardsCurve:
    """Approximate LRU miss ratios for each memory size in `sizes` (in frames)."""
    if not 0 < rate <= 1:
        raise ValueError("SHARDS rate must be in (0, 1]")
    h = _hash(trace.pages)
    threshold = max(1, int(rate * P))
    if max_pages:
        # fixed size: the largest T whose sample holds at most max_pages distinct pages
        uniq_h = np.unique(h[h < threshold])
        if len(uniq_h) > max_pages:
            threshold = int(uniq_h[max_pages])  # keep the max_pages smallest hashes
    keep = h < threshold
    r = threshold / P
    sample = trace.pages[keep]
    n = len(sample)
    if n == 0:
        return ShardsCurve(r, 0, [1.0 for _ in sizes])
    _, ids = np.unique(sample, return_inverse=True)
    ids = ids.astype(np.int64)
    nuniq = int(ids.max()) + 1
    maxd = max(1, int(np.ceil(max(sizes) * r)) + 1)
    hist = fast.lru_depths(ids, nuniq, maxd)
    hits = np.cumsum(hist[:-1]).astype(np.float64)  # hits[k]: sampled references at depth <= k
    # SHARDS_adj: the sample should hold r * N references; a hot page in it (or out of it)
    # skews that. The difference goes to the shortest distances, and the ratios are taken
    # over the expected count.
    expected = r * len(trace)
    hits[1:] += expected - n
    ratios = []
    for c in sizes:
        k = min(int(c * r), maxd)  # a distance d in the sample is d / r in the trace
        ratios.append(min(1.0, max(0.0, 1.0 - float(hits[k]) / expected)))
    return ShardsCurve(r, n, ratios)
