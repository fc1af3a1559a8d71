"""The measures of a recorded run, as numpy columns: working sets over time, the reuse
histogram and miss-ratio curves of the sampled reference string, heat maps, and faults by
region. Shared by the Python API (RunReport) and the HTML report.

A report asks for the same measure several times (the headline, a finding, a plot), and a
1 G-instruction run holds a million events: each measure is derived once per Recording
(kept in `Recording.derived`), and the fault and eviction events are read into numpy
columns in one pass."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, TypeVar

import numpy as np

from pagelab.kernel.events import KINDS, EvictEvent, FaultEvent
from pagelab.obs.disasm import disasm
from pagelab.obs.measures import (
    HeatMap,
    ReuseHistogram,
    curve_frames,
    heat_map,
    opt_misses,
    reference_string,
    reuse_histogram,
    working_set,
)
from pagelab.obs.pagerefs import Band, PageRefs
from pagelab.obs.recorder import Recording

TAUS = (100_000, 1_000_000, 10_000_000)  # working-set windows, in instructions
# The fault kinds that bring a page in: what a replacement policy's miss is.
MISS_KINDS = ("lazy", "zero", "file", "swap_in")

T = TypeVar("T")


def _once(rec: Recording, key: tuple[Any, ...], make: Callable[[], T]) -> T:
    """make(), computed once per recording and key."""
    if key not in rec.derived:
        with gc_paused():
            rec.derived[key] = make()
    got: T = rec.derived[key]
    return got


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection meanwhile. Building columns from a million events makes
    a million small objects, and each collection would walk every event of the recording
    again: with it, reading a 1 G-instruction run's faults took 1.3 s instead of 0.1 s."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _copy(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in cols.items()}  # the caller may change its own


def page_refs(rec: Recording, pid: int | None = None, include_init: bool = False) -> PageRefs:
    if rec.page_refs is None:
        raise ValueError("no page references were sampled (Watch.page_period was 0)")
    return rec.page_refs.select(pid, include_init)


@dataclass
class Faults:
    """Every page fault of a run, one row each, in time order. Kinds and regions are codes
    into `kinds` and `regions` (sorting a million strings is what made a report slow)."""

    now: np.ndarray  # int64: the clock
    pid: np.ndarray  # int64
    va: np.ndarray  # uint64: stval, the faulting address (a bad pointer may be any 64 bits)
    sepc: np.ndarray  # uint64
    insn: np.ndarray  # int64: the instruction's bits, -1 when not read
    kind: np.ndarray  # int64: index into kinds
    region: np.ndarray  # int64: index into regions
    kinds: list[str]  # lazy, zero, cow, file, swap_in, fatal, efault
    regions: list[str]  # the labels of the regions hit: heap, stack, mmap 0x..., no region

    def of_kind(self, *kinds: str) -> np.ndarray:
        """A mask of the faults of these kinds."""
        codes = [i for i, k in enumerate(self.kinds) if k in kinds]
        return np.isin(self.kind, codes)

    def without(self, pid: int) -> Faults:
        keep = self.pid != pid
        return Faults(
            self.now[keep],
            self.pid[keep],
            self.va[keep],
            self.sepc[keep],
            self.insn[keep],
            self.kind[keep],
            self.region[keep],
            self.kinds,
            self.regions,
        )


def faults(rec: Recording, include_init: bool = False) -> Faults:
    """The fault events as columns; init's left out unless include_init."""
    every = _once(rec, ("faults", True), lambda: _fault_columns(rec))
    return every if include_init else _once(rec, ("faults", False), lambda: every.without(rec.init_pid))


def _fault_columns(rec: Recording) -> Faults:
    sel = [e for e in rec.events if type(e[1]) is FaultEvent]
    n = len(sel)
    get = attrgetter("pid", "stval", "sepc", "insn", "kind", "vma")
    cols = list(zip(*(get(e[1]) for e in sel), strict=True)) if n else [()] * 6
    pid = np.array(cols[0], np.int64)
    va = np.array(cols[1], np.uint64)
    # Kinds and regions as codes: a dict lookup per fault, no strings kept per fault.
    kinds: dict[str, int] = {k: i for i, k in enumerate(KINDS)}
    kind = np.fromiter((kinds.setdefault(k, len(kinds)) for k in cols[4]), np.int64, n)
    # The region: the process's band the address fell in, else what the handler named.
    regions: dict[str, int] = {}
    region = np.fromiter((regions.setdefault(v or "no region", len(regions)) for v in cols[5]), np.int64, n)
    bands = rec.page_refs.bands if rec.page_refs is not None else {}
    for p in np.unique(pid).tolist():
        bs = bands.get(p, [])
        if not bs:
            continue
        mine = np.flatnonzero(pid == p)
        starts = np.array([b.start for b in bs], np.uint64)
        ends = np.array([b.end for b in bs], np.uint64)
        codes = np.array([regions.setdefault(b.label, len(regions)) for b in bs], np.int64)
        i = np.searchsorted(starts, va[mine], "right") - 1
        inside = (i >= 0) & (va[mine] < ends[np.maximum(i, 0)])
        region[mine[inside]] = codes[i[inside]]
    return Faults(
        np.fromiter((e[0] for e in sel), np.int64, n),
        pid,
        va,
        np.array(cols[2], np.uint64),
        np.fromiter((-1 if i is None else i for i in cols[3]), np.int64, n),
        kind,
        region,
        list(kinds),
        list(regions),
    )


def evictions(rec: Recording, include_init: bool = False) -> np.ndarray:
    """The clock of each page eviction (one per PTE that lost its frame), in time order."""

    def make() -> np.ndarray:
        init = -1 if include_init else rec.init_pid
        return np.array([now for now, ev in rec.events if type(ev) is EvictEvent and ev.pid != init], np.int64)

    return _once(rec, ("evictions", include_init), make)


def rss(rec: Recording, include_init: bool = False) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Each process's resident pages at every sample: pid -> (clock, pages)."""

    def make() -> dict[int, tuple[np.ndarray, np.ndarray]]:
        got: dict[int, tuple[list[int], list[int]]] = {}
        for s in rec.samples:
            for pid, pages in s.rss.items():
                ts, ps = got.setdefault(pid, ([], []))
                ts.append(s.now)
                ps.append(pages)
        if not include_init:
            got.pop(rec.init_pid, None)
        return {pid: (np.array(ts, np.int64), np.array(ps, np.int64)) for pid, (ts, ps) in got.items()}

    return _once(rec, ("rss", include_init), make)


def misses(rec: Recording, include_init: bool = False) -> int:
    """The kernel's faults that brought a page in (what LRU and OPT count as misses)."""
    return int(faults(rec, include_init).of_kind(*MISS_KINDS).sum())


def working_sets(rec: Recording, taus: tuple[int, ...] = TAUS, include_init: bool = False) -> dict[str, np.ndarray]:
    """Long-form columns time, tau, pid, pages: W(t, tau) at the end of every sampling
    period for each process, and for all of them together as pid 0. tau is rounded to a
    whole number of sampling periods (at least one); taus that round alike are listed
    once. Time is the machine's instruction clock (every process's instructions, and the
    idle time skipped while all sleep), not one process's virtual time: so is tau."""
    return _copy(_once(rec, ("ws", tuple(taus), include_init), lambda: _working_sets(rec, taus, include_init)))


def _working_sets(rec: Recording, taus: tuple[int, ...], include_init: bool) -> dict[str, np.ndarray]:
    refs = page_refs(rec, None, include_init)
    n = refs.slot_times.size
    cols: dict[str, list[np.ndarray]] = {"time": [], "tau": [], "pid": [], "pages": []}
    # Two taus that round to the same number of periods are one window (a long run's
    # period grows), listed once: else a plot would draw its line twice, end to start.
    windows = sorted({max(1, round(tau / refs.period)) for tau in taus})
    for window in windows:
        for pid in [0, *sorted(set(refs.pids.tolist()))]:
            keep = refs.pids == pid if pid else np.ones(refs.pids.size, bool)
            w = working_set(refs.slots[keep], refs.pages[keep], n, window)
            cols["time"].append(refs.slot_times)
            cols["tau"].append(np.full(n, window * refs.period, np.int64))
            cols["pid"].append(np.full(n, pid, np.int64))
            cols["pages"].append(w)
    return {k: np.concatenate(v) if v else np.zeros(0, np.int64) for k, v in cols.items()}


def _pages(rec: Recording, pid: int | None, include_init: bool) -> np.ndarray:
    return _once(rec, ("string", pid, include_init), lambda: reference_string(page_refs(rec, pid, include_init)))


def reuse(rec: Recording, pid: int | None = None, include_init: bool = False) -> ReuseHistogram:
    """The reuse-distance (LRU stack distance) histogram of the sampled reference string."""
    h = _reuse(rec, pid, include_init)
    return ReuseHistogram(h.counts.copy(), h.cold, h.refs)  # the caller may change its own


def _reuse(rec: Recording, pid: int | None, include_init: bool) -> ReuseHistogram:
    return _once(rec, ("reuse", pid, include_init), lambda: reuse_histogram(_pages(rec, pid, include_init)))


def miss_ratio_curve(
    rec: Recording, pid: int | None = None, include_init: bool = False, frames: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Columns frames, lru, opt (misses of each in that many frames) and their ratios to
    the references, for the sampled reference string. By default at 1 .. all its pages
    (64 sizes at most), and at the run's own --mem when that is fewer frames."""
    key = ("mrc", pid, include_init, None if frames is None else tuple(np.asarray(frames).tolist()))
    return _copy(_once(rec, key, lambda: _mrc(rec, pid, include_init, frames)))


def misses_at(rec: Recording, frames: int, include_init: bool = False) -> tuple[int, int]:
    """LRU's and OPT's misses on the sampled reference string of every process in
    `frames` frames, read off the default curve (which has the run's --mem on it)."""
    mrc = _once(rec, ("mrc", None, include_init, None), lambda: _mrc(rec, None, include_init, None))
    at = np.flatnonzero(mrc["frames"] == frames)
    if at.size:
        return int(mrc["lru"][at[0]]), int(mrc["opt"][at[0]])
    got = miss_ratio_curve(rec, None, include_init, np.array([frames]))
    return int(got["lru"][0]), int(got["opt"][0])


def _mrc(rec: Recording, pid: int | None, include_init: bool, frames: np.ndarray | None) -> dict[str, np.ndarray]:
    pages = _pages(rec, pid, include_init)
    hist = _reuse(rec, pid, include_init)
    npages = int(np.unique(pages).size)
    if frames is None:
        ks = curve_frames(max(npages, 1))
        if 0 < rec.frames_total < npages:
            ks = np.union1d(ks, [rec.frames_total])
    else:
        ks = np.asarray(frames, np.int64)
    lru = hist.lru_misses(ks)
    # In as many frames as there are pages, nothing is evicted: the first uses are all the
    # misses (OPT's stack pass is the slow part, and is needed only below that).
    opt = np.full(ks.size, npages, np.int64)
    small = ks < npages
    if small.any():
        opt[small] = opt_misses(pages, ks[small])
    refs = max(pages.size, 1)
    return {"frames": ks, "lru": lru, "opt": opt, "lru_ratio": lru / refs, "opt_ratio": opt / refs}


def busiest(rec: Recording, include_init: bool = False) -> list[int]:
    """The processes with sampled references, the most referenced first."""
    pids, n = np.unique(page_refs(rec, None, include_init).pids, return_counts=True)
    order = np.lexsort((pids, -n))
    return [int(p) for p in pids[order]]


def heat(
    rec: Recording, pid: int, what: str = "accesses", rows: int = 160, cols: int = 160, include_init: bool = True
) -> HeatMap:
    """Page heat map of one process: sampled uses ("accesses": each page counted once per
    sampling period it was used in) or page faults ("faults"), by address and time. The
    rows are the same for both: each region from its lowest to its highest page used or
    faulted on."""
    if what not in ("accesses", "faults"):
        raise ValueError(f"heat: what is 'accesses' or 'faults', not {what!r}")
    refs = page_refs(rec, pid, include_init)
    t_end = int(refs.slot_times[-1]) if refs.slot_times.size else 1
    cols = max(1, min(cols, refs.slot_times.size))  # no finer than the sampling periods
    f = faults(rec, True)
    mine = f.pid == pid
    fvpns, ftimes = (f.va[mine] >> np.uint64(12)).astype(np.int64), f.now[mine]
    # Each region is shown from its lowest to its highest page used or faulted on: an 8 MiB
    # stack of which 3 pages are used takes rows in proportion to those, not to 8 MiB.
    bands = touched(refs.bands.get(pid, []), np.concatenate([refs.vpns, fvpns]))
    if what == "accesses":
        times = refs.slot_times[refs.slots] if refs.slots.size else np.zeros(0, np.int64)
        return heat_map(refs.vpns, times, bands, t_end, rows, cols)
    return heat_map(fvpns, ftimes, bands, max(t_end, int(ftimes.max(initial=0))), rows, cols)


def touched(bands: list[Band], vpns: np.ndarray) -> list[Band]:
    """Each region clipped to the pages of it that were used; regions never used go."""
    out = []
    for b in bands:
        lo, hi = b.start >> 12, -(-b.end >> 12)
        got = vpns[(vpns >= lo) & (vpns < hi)]
        if got.size:
            out.append(Band(int(got.min()) << 12, (int(got.max()) + 1) << 12, b.kind, b.label))
    return out


def region_of(bands: list[Band], va: int, kind: str) -> str:
    for b in bands:
        if b.start <= va < b.end:
            return b.label
    return kind or "no region"


def _groups(*cols: np.ndarray) -> tuple[list[tuple[Any, ...]], np.ndarray]:
    """The distinct rows of the integer columns, and how often each occurs."""
    if not cols or not cols[0].size:
        return [], np.zeros(0, np.int64)
    codes, values = [], []
    for c in cols:
        v, inv = np.unique(c, return_inverse=True)
        values.append(v.tolist())  # Python ints
        codes.append(inv.reshape(-1))
    # One int64 key per row, in mixed radix (np.unique over rows, axis=1, is far slower).
    sizes = [len(v) for v in values]
    if float(np.prod(sizes, dtype=np.float64)) >= 2.0**62:
        keys, n = np.unique(np.stack(codes), axis=1, return_counts=True)
        digits = keys.T.tolist()
    else:
        key = np.zeros(cols[0].size, np.int64)
        for c, size in zip(codes, sizes, strict=True):
            key = key * size + c
        got, n = np.unique(key, return_counts=True)
        digits = []
        for k in got.tolist():
            row = []
            for size in reversed(sizes):
                k, d = divmod(k, size)
                row.append(d)
            digits.append(row[::-1])
    rows = [tuple(values[j][d] for j, d in enumerate(ds)) for ds in digits]
    return rows, n.astype(np.int64)


def faults_by_region(rec: Recording, include_init: bool = False) -> dict[str, np.ndarray]:
    """Columns pid, region, kind, faults: page faults counted by the region they hit."""

    def make() -> dict[str, np.ndarray]:
        f = faults(rec, include_init)
        keys, n = _groups(f.pid, f.region, f.kind)
        named = [(pid, f.regions[r], f.kinds[k]) for pid, r, k in keys]
        rows = sorted(zip(named, n.tolist(), strict=True), key=lambda kv: (kv[0][0], -kv[1], kv[0][1], kv[0][2]))
        return {
            "pid": np.array([k[0] for k, _ in rows], np.int64),
            "region": np.array([k[1] for k, _ in rows], object),
            "kind": np.array([k[2] for k, _ in rows], object),
            "faults": np.array([c for _, c in rows], np.int64),
        }

    return _copy(_once(rec, ("by_region", include_init), make))


def top_by_region(rec: Recording, n: int = 3, include_init: bool = False) -> dict[str, np.ndarray]:
    """Columns region, sepc, instruction, faults: the n instructions with the most faults in
    each region (of every process), disassembled. The instruction's bits are known only when
    the run asked for them (Watch.insns, as `pagelab report` does); else '?'."""
    f = faults(rec, include_init)
    keys, counts = _groups(f.region, f.sepc, f.insn)
    per: dict[str, list[tuple[int, int, int]]] = {}
    for (region, pc, insn), c in zip(keys, counts.tolist(), strict=True):
        per.setdefault(f.regions[region], []).append((c, pc, insn))
    rows: list[tuple[str, int, str, int]] = []
    for region in sorted(per, key=lambda r: (-sum(c for c, _, _ in per[r]), r)):
        best = sorted(per[region], key=lambda t: (-t[0], t[1]))[:n]
        rows += [(region, pc, disasm(None if insn < 0 else insn), c) for c, pc, insn in best]
    return {
        "region": np.array([r[0] for r in rows], object),
        "sepc": np.array([r[1] for r in rows], np.uint64),
        "instruction": np.array([r[2] for r in rows], object),
        "faults": np.array([r[3] for r in rows], np.int64),
    }


def top_faulting(rec: Recording, n: int = 10, include_init: bool = False) -> list[tuple[int, str, int]]:
    """The n instructions with the most faults, of any region: (sepc, text, faults)."""
    f = faults(rec, include_init)
    keys, counts = _groups(f.sepc, f.insn)
    best = sorted(zip(keys, counts.tolist(), strict=True), key=lambda kv: (-kv[1], kv[0][0]))[:n]
    return [(pc, disasm(None if insn < 0 else insn), c) for (pc, insn), c in best]


@dataclass
class Peak:
    pages: int
    time: int
    tau: int


def ws_peak(ws: dict[str, Any], tau: int, pid: int = 0) -> Peak | None:
    keep = (ws["tau"] == tau) & (ws["pid"] == pid)
    if not keep.any():
        return None
    pages, times = ws["pages"][keep], ws["time"][keep]
    i = int(np.argmax(pages))
    return Peak(int(pages[i]), int(times[i]), tau)
