"""The measures of a recorded run, as numpy columns: working sets over time, the reuse
histogram and miss-ratio curves of the sampled reference string, heat maps, and faults by
region. Shared by the Python API (RunReport) and the HTML report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from pagelab.kernel.events import FaultEvent
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


def page_refs(rec: Recording, pid: int | None = None, include_init: bool = False) -> PageRefs:
    if rec.page_refs is None:
        raise ValueError("no page references were sampled (Watch.page_period was 0)")
    return rec.page_refs.select(pid, include_init)


def working_sets(rec: Recording, taus: tuple[int, ...] = TAUS, include_init: bool = False) -> dict[str, np.ndarray]:
    """Long-form columns time, tau, pid, pages: W(t, tau) at the end of every sampling
    period for each process, and for all of them together as pid 0. tau is rounded to a
    whole number of sampling periods (at least one)."""
    refs = page_refs(rec, None, include_init)
    n = refs.slot_times.size
    cols: dict[str, list[np.ndarray]] = {"time": [], "tau": [], "pid": [], "pages": []}
    for tau in taus:
        window = max(1, round(tau / refs.period))
        for pid in [0, *sorted(set(refs.pids.tolist()))]:
            keep = refs.pids == pid if pid else np.ones(refs.pids.size, bool)
            w = working_set(refs.slots[keep], refs.pages[keep], n, window)
            cols["time"].append(refs.slot_times)
            cols["tau"].append(np.full(n, window * refs.period, np.int64))
            cols["pid"].append(np.full(n, pid, np.int64))
            cols["pages"].append(w)
    return {k: np.concatenate(v) if v else np.zeros(0, np.int64) for k, v in cols.items()}


def reuse(rec: Recording, pid: int | None = None, include_init: bool = False) -> ReuseHistogram:
    """The reuse-distance (LRU stack distance) histogram of the sampled reference string."""
    return reuse_histogram(reference_string(page_refs(rec, pid, include_init)))


def miss_ratio_curve(
    rec: Recording, pid: int | None = None, include_init: bool = False, frames: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Columns frames, lru, opt (misses of each in that many frames) and their ratios to
    the references, for the sampled reference string."""
    pages = reference_string(page_refs(rec, pid, include_init))
    hist = reuse_histogram(pages)
    npages = int(np.unique(pages).size)
    ks = curve_frames(max(npages, 1)) if frames is None else np.asarray(frames, np.int64)
    lru = hist.lru_misses(ks)
    opt = opt_misses(pages, ks)
    refs = max(pages.size, 1)
    return {"frames": ks, "lru": lru, "opt": opt, "lru_ratio": lru / refs, "opt_ratio": opt / refs}


def busiest(rec: Recording, include_init: bool = False) -> list[int]:
    """The processes with sampled references, the most referenced first."""
    refs = page_refs(rec, None, include_init)
    got = Counter(refs.pids.tolist())
    return [pid for pid, _ in sorted(got.items(), key=lambda kv: (-kv[1], kv[0]))]


def _faults(rec: Recording, pid: int | None) -> list[FaultEvent]:
    return [ev for _, ev in rec.events if type(ev) is FaultEvent and (pid is None or ev.pid == pid)]


def heat(rec: Recording, pid: int, what: str = "accesses", rows: int = 160, cols: int = 160) -> HeatMap:
    """Page heat map of one process: sampled uses ("accesses": each page counted once per
    sampling period it was used in) or page faults ("faults"), by address and time."""
    if what not in ("accesses", "faults"):
        raise ValueError(f"heat: what is 'accesses' or 'faults', not {what!r}")
    refs = page_refs(rec, pid, True)
    t_end = int(refs.slot_times[-1]) if refs.slot_times.size else 1
    cols = max(1, min(cols, refs.slot_times.size))  # no finer than the sampling periods
    fl = [(now, ev) for now, ev in rec.events if type(ev) is FaultEvent and ev.pid == pid]
    fvpns = np.array([ev.stval >> 12 for _, ev in fl], np.int64)
    ftimes = np.array([now for now, _ in fl], np.int64)
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


def faults_by_region(rec: Recording, include_init: bool = False) -> dict[str, np.ndarray]:
    """Columns pid, region, kind, faults: page faults counted by the region they hit."""
    got: Counter[tuple[int, str, str]] = Counter()
    bands = rec.page_refs.bands if rec.page_refs is not None else {}
    for ev in _faults(rec, None):
        if ev.pid == rec.init_pid and not include_init:
            continue
        got[(ev.pid, region_of(bands.get(ev.pid, []), ev.stval, ev.vma), ev.kind)] += 1
    rows = sorted(got.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1], kv[0][2]))
    return {
        "pid": np.array([k[0] for k, _ in rows], np.int64),
        "region": np.array([k[1] for k, _ in rows], object),
        "kind": np.array([k[2] for k, _ in rows], object),
        "faults": np.array([n for _, n in rows], np.int64),
    }


def top_by_region(rec: Recording, n: int = 3, include_init: bool = False) -> dict[str, np.ndarray]:
    """Columns region, sepc, instruction, faults: the n instructions with the most faults in
    each region (of every process), disassembled. The instruction's bits are known only when
    the run asked for them (Watch.insns, as `pagelab report` does); else '?'."""
    got: dict[str, Counter[tuple[int, int | None]]] = {}
    bands = rec.page_refs.bands if rec.page_refs is not None else {}
    for ev in _faults(rec, None):
        if ev.pid == rec.init_pid and not include_init:
            continue
        region = region_of(bands.get(ev.pid, []), ev.stval, ev.vma)
        got.setdefault(region, Counter())[(ev.sepc, ev.insn)] += 1
    rows: list[tuple[str, int, str, int]] = []
    for region in sorted(got, key=lambda r: -sum(got[r].values())):
        rows += [(region, pc, disasm(insn), c) for (pc, insn), c in got[region].most_common(n)]
    return {
        "region": np.array([r[0] for r in rows], object),
        "sepc": np.array([r[1] for r in rows], np.int64),
        "instruction": np.array([r[2] for r in rows], object),
        "faults": np.array([r[3] for r in rows], np.int64),
    }


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
