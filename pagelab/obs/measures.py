"""Measures of a page-reference string: working sets, reuse distances, miss-ratio curves and
heat maps. Pure functions of numpy arrays, so that each can be checked by hand."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pagelab.obs.pagerefs import Band, PageRefs


def working_set(slots: np.ndarray, pages: np.ndarray, nslots: int, window: int) -> np.ndarray:
    """Denning's W(t, tau) at the end of each sampling period t = 0..nslots-1, with tau =
    `window` periods: the number of distinct pages referenced in periods t-window+1 .. t."""
    out = np.zeros(nslots + 1, np.int64)
    if not slots.size or window < 1:
        return out[:nslots]
    order = np.lexsort((slots, pages))
    s, p = slots[order], pages[order]
    keep = np.ones(s.size, bool)
    keep[1:] = (p[1:] != p[:-1]) | (s[1:] != s[:-1])  # one reference per page and period
    s, p = s[keep], p[keep]
    nxt = np.full(s.size, nslots, np.int64)  # the page's next period with a reference
    same = p[1:] == p[:-1]
    nxt[:-1][same] = s[1:][same]
    # A reference in period s keeps its page in the working set until period
    # min(next reference, s + window) - 1: +1 there, -1 after.
    np.add.at(out, s, 1)
    np.add.at(out, np.minimum(np.minimum(nxt, s + window), nslots), -1)
    return np.cumsum(out)[:nslots]


def dense(pages: np.ndarray) -> tuple[np.ndarray, int]:
    """Page keys renumbered 0..n-1 (in order of value), and n."""
    uniq, ids = np.unique(pages, return_inverse=True)
    return ids.astype(np.int64), int(uniq.size)


@dataclass
class ReuseHistogram:
    """LRU stack distances of a reference string: counts[d] references found with d other
    distinct pages used since their page's previous reference; `cold` first references."""

    counts: np.ndarray  # int64, index = reuse distance
    cold: int
    refs: int

    def lru_misses(self, frames: np.ndarray) -> np.ndarray:
        """Misses of LRU in k frames, for each k: cold misses and every reuse at a distance
        of k or more (Mattson: depth d+1 > k)."""
        tail = np.concatenate([np.cumsum(self.counts[::-1])[::-1], [0]])  # tail[k] = sum d >= k
        k = np.clip(np.asarray(frames, np.int64), 0, self.counts.size)
        return self.cold + tail[k]


def reuse_histogram(pages: np.ndarray) -> ReuseHistogram:
    ids, n = dense(pages)
    if not ids.size:
        return ReuseHistogram(np.zeros(0, np.int64), 0, 0)
    from pagelab.replay import fast  # numba: loaded when a measure is asked for, not by every run

    depths = fast.lru_depths(ids, n, n)  # depths[d]: found at stack depth d (1-based)
    return ReuseHistogram(depths[1 : n + 1].copy(), int(depths[n + 1]), int(ids.size))


def opt_misses(pages: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Belady's OPT misses in k frames, for each k (Mattson's OPT stack, one pass)."""
    ids, n = dense(pages)
    frames = np.asarray(frames, np.int64)
    if not ids.size:
        return np.zeros(frames.size, np.int64)
    maxf = int(max(1, min(n, frames.max(initial=1))))
    from pagelab.replay import fast
    from pagelab.replay.engine import next_positions

    hist = fast.opt_depths(ids, next_positions(ids), n, maxf)
    hits = np.concatenate([[0], np.cumsum(hist[1 : maxf + 1])])  # hits[k]: found in top k
    return ids.size - hits[np.clip(frames, 0, maxf)]


def curve_frames(npages: int, points: int = 64) -> np.ndarray:
    """Memory sizes (in frames) at which to draw a miss-ratio curve: 1 .. npages."""
    if npages <= points:
        return np.arange(1, npages + 1, dtype=np.int64)
    return np.unique(np.linspace(1, npages, points).round().astype(np.int64))


def reference_string(refs: PageRefs) -> np.ndarray:
    """The page keys in recorded order: by period, then by process and address."""
    order = np.lexsort((refs.vpns, refs.pids, refs.slots))
    return refs.pages[order]


@dataclass
class HeatMap:
    """Counts per (address bin, time bin) of one process, with the empty gaps between
    regions left out: row r covers `rows_pages[r]` pages of one region."""

    counts: np.ndarray  # int64 (rows, cols), row 0 = lowest address
    row_va: np.ndarray  # int64: the first virtual address of each row
    row_pages: int  # pages per row
    col_times: np.ndarray  # int64 (cols + 1): the time edges of the columns
    bands: list[tuple[int, int, str]]  # (first row, end row, label) of each region


def heat_map(
    vpns: np.ndarray, times: np.ndarray, bands: list[Band], t_end: int, rows: int = 160, cols: int = 160
) -> HeatMap:
    """Bin references (virtual page numbers at times) by region-compressed address and time.
    Each region keeps at least one row; pages outside every region are left out."""
    sizes = [max((b.end - b.start) >> 12, 1) for b in bands]
    total = sum(sizes)
    per_row = max(1, -(-total // max(rows, 1)))
    nrows = [max(1, -(-s // per_row)) for s in sizes]
    first = np.concatenate([[0], np.cumsum(nrows)]).astype(np.int64)
    row_va = (
        np.concatenate(
            [b.start + (np.arange(n, dtype=np.int64) * per_row << 12) for b, n in zip(bands, nrows, strict=True)]
        )
        if bands
        else np.zeros(0, np.int64)
    )
    edges = np.linspace(0, max(t_end, 1), cols + 1).astype(np.int64)
    counts = np.zeros((int(first[-1]), cols), np.int64)
    row = np.full(vpns.size, -1, np.int64)
    for i, b in enumerate(bands):
        lo, hi = b.start >> 12, -(-b.end >> 12)
        inside = (vpns >= lo) & (vpns < hi)
        row[inside] = first[i] + (vpns[inside] - lo) // per_row
    ok = row >= 0
    col = np.clip(np.searchsorted(edges, times[ok], "right") - 1, 0, cols - 1)
    if counts.size:
        np.add.at(counts, (row[ok], col), 1)
    labels = [(int(first[i]), int(first[i + 1]), b.label) for i, b in enumerate(bands)]
    return HeatMap(counts, row_va, per_row, edges, labels)
