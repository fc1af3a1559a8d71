"""The page-reference string of a run: how OPT sees the future on a real program.

Belady's OPT evicts the page whose next use lies farthest in the future. A kernel cannot know
that, but pagelab runs deterministic programs, so it can run one twice (api.run does this for
a policy with `needs_future`):

1. the recording run, with the LRU policy's view of memory: every TLB fill is reported, and
   the TLB is flushed at every sampling tick, so each page's first use in each sampling
   period (and every use after an eviction or context switch flushed it) is seen. A
   `Recorder` keeps each as (time, page): time is the instruction clock (instructions
   executed, which `--disk-latency` does not change) and the page is (pid, virtual page
   number), which both runs share, unlike frames (evictions move pages between frames);
2. the real run, where `Lookahead.next_use(frame)` is the earliest recorded reference after
   now of any (pid, vpn) that maps the frame, or inf if there is none.

The future is thus known at the granularity at which LRU knows the past. Both runs also note
which process ends each scheduling quantum, and when: the first mismatch is where the real
run left its recording (docs/policies.md says when that can happen); OPT's choices stay
valid evictions after it, only no longer optimal, and the stats say so.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pagelab.hw.sv39 import PGSHIFT, PTE_V
from pagelab.kernel.events import SampleEvent
from pagelab.kernel.mm import rmap
from pagelab.kernel.mm.vm import walkpte

if TYPE_CHECKING:
    from collections.abc import Callable

    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc

VPN_BITS = 27  # Sv39: a user virtual page number fits in 27 bits; a page is pid << 27 | vpn
PPN_MASK = (1 << 44) - 1  # a PTE's physical page number: bits 10-53
VA_CACHE = 1 << 16  # (pid, pa) -> va entries the recorder keeps at most


def executed(m: Machine) -> int:
    """Instructions executed so far, the one in progress included (at block granularity):
    the time of a reference. Unlike m.now(), modeled disk time does not count."""
    return m.clock.instructions + m.now() - m.clock.now


@dataclass
class RefString:
    """A recorded page-reference string, as numpy arrays (no object per reference)."""

    times: np.ndarray  # int64: the instruction time of each reference
    pages: np.ndarray  # int64: pid << VPN_BITS | vpn of each reference
    quanta: np.ndarray  # int64 (n, 2): (time, pid) at the end of each scheduling quantum
    instructions: int  # executed by the whole recording run
    label: str = ""  # what was recorded (program, arguments, configuration): checked on reuse
    _index: tuple[np.ndarray, ...] | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return int(self.times.size)

    @property
    def npages(self) -> int:
        return int(np.unique(self.pages).size)

    def _build(self) -> tuple[np.ndarray, ...]:
        """Sort by (page, time) and encode each reference as segment * width + time rank, one
        increasing int64 array: one searchsorted then answers "the first reference of page
        k at or after t" for many pages at once."""
        if self.times.shape != self.pages.shape or self.times.ndim != 1:
            raise ValueError("times and pages differ in shape")
        order = np.lexsort((self.times, self.pages))
        pages, times = self.pages[order], self.times[order]
        keys, first = np.unique(pages, return_index=True)
        ends = np.append(first[1:], pages.size)
        seg = np.repeat(np.arange(keys.size, dtype=np.int64), ends - first)
        clock = np.unique(times)
        width = clock.size + 1
        if keys.size * width >= 1 << 62:
            raise ValueError("reference string too large to index")
        code = seg * width + np.searchsorted(clock, times)
        return keys, ends, clock, code, times

    def next_after(self, pages: np.ndarray, now: int) -> np.ndarray:
        """For each page, the time of its first reference at or after `now` (inf: none)."""
        out = np.full(pages.size, np.inf)
        if not self.times.size or not pages.size:
            return out
        if self._index is None:
            self._index = self._build()
        keys, ends, clock, code, times = self._index
        k = np.minimum(np.searchsorted(keys, pages), keys.size - 1)
        known = keys[k] == pages
        width = clock.size + 1
        pos = np.searchsorted(code, k * width + int(np.searchsorted(clock, now)))
        ok = known & (pos < ends[k])
        out[ok] = times[pos[ok]]
        return out

    def save(self, path: Path) -> None:
        with open(path, "wb") as f:
            np.savez_compressed(
                f,
                times=self.times,
                pages=self.pages,
                quanta=self.quanta,
                instructions=np.int64(self.instructions),
                label=np.array(self.label),
            )

    @classmethod
    def load(cls, path: Path) -> RefString:
        """Raises OSError, or ValueError if the file is not a saved reference string."""
        try:
            with np.load(path, allow_pickle=False) as z:
                got = cls(
                    z["times"].astype(np.int64),
                    z["pages"].astype(np.int64),
                    z["quanta"].astype(np.int64).reshape(-1, 2),
                    int(z["instructions"]),
                    str(z["label"]),
                )
            got._index = got._build()  # a bad file fails here, not in the middle of a run
        except OSError:
            raise
        except Exception as e:  # a zip, npy or key error: any file may be given
            raise ValueError(f"not a saved reference string ({type(e).__name__}: {e})") from None
        return got


class Recorder:
    """Attached to the recording run's machine: records every TLB fill as (time, page)."""

    def __init__(self, m: Machine) -> None:
        self.m = m
        self.times = array("q")
        self.pages = array("q")
        self.quanta = array("q")
        self._va: dict[tuple[int, int], int] = {}  # (pid, pa) -> the va it was last seen at
        self._tables: dict[int, tuple[int, np.ndarray, np.ndarray]] = {}  # pid -> (root, words, vas)
        self._next: Callable[[int], None] | None = m.hart.on_fill  # the policy's (LRU's) own
        m.hart.on_fill = self.fill
        m.tickers.append(self.quantum_end)

    def fill(self, pa: int) -> None:
        p = self.m.current
        if p is not None:
            va = self._where(p, pa & ~0xFFF)
            if va is not None:
                self.times.append(executed(self.m))
                self.pages.append(p.pid << VPN_BITS | va >> PGSHIFT)
        if self._next is not None:
            self._next(pa)

    def _where(self, p: Proc, pa: int) -> int | None:
        """The va at which p maps pa: the one seen last time if it still does, else the
        lowest one found in p's leaf page tables."""
        va = self._va.get((p.pid, pa))
        if va is not None and self._maps(p, va, pa):
            return va
        if len(self._va) >= VA_CACHE:
            self._va.clear()  # only a cache: entries of exited processes go too
            self._tables.clear()
        want = np.uint64(((pa >> PGSHIFT) << 10) | PTE_V)
        mask = np.uint64(PPN_MASK << 10 | PTE_V)
        for fresh in (False, True):
            words, vas = self._leaves(p, fresh)
            for i in np.flatnonzero((self.m.km.ptes[words] & mask) == want).tolist():
                va = int(vas[i])
                if self._maps(p, va, pa):  # the cached tables may be stale: check by a walk
                    self._va[(p.pid, pa)] = va
                    return va
        return None

    def _maps(self, p: Proc, va: int, pa: int) -> bool:
        pte = walkpte(self.m.km, p.pagetable, va)
        return bool(pte & PTE_V) and (pte >> 10 & PPN_MASK) << PGSHIFT == pa

    def _leaves(self, p: Proc, fresh: bool) -> tuple[np.ndarray, np.ndarray]:
        """Every PTE word of p's leaf page tables and the va each maps, kept per process
        (page tables change far less often than pages)."""
        got = self._tables.get(p.pid)
        if fresh or got is None or got[0] != p.pagetable:
            slots = np.arange(512, dtype=np.int64)
            tables = rmap.leaf_tables(self.m, p.pagetable)
            words = np.concatenate([w + slots for w, _ in tables]) if tables else slots[:0]
            vas = np.concatenate([va + (slots << PGSHIFT) for _, va in tables]) if tables else slots[:0]
            got = self._tables[p.pid] = (p.pagetable, words, vas)
        return got[1], got[2]

    def quantum_end(self, _sample: Callable[[], SampleEvent]) -> None:
        p = self.m.current
        self.quanta.extend((executed(self.m), p.pid if p is not None else 0))

    def finish(self, label: str = "") -> RefString:
        """The recorded string; the recorder lets go of the machine."""
        m = self.m
        got = RefString(
            np.frombuffer(self.times, dtype=np.int64).copy(),
            np.frombuffer(self.pages, dtype=np.int64).copy(),
            np.frombuffer(self.quanta, dtype=np.int64).reshape(-1, 2).copy(),
            m.clock.instructions,
            label,
        )
        self.m = None  # type: ignore[assignment]
        self._next = None  # LRU's hook holds the machine too
        return got


class Lookahead:
    """Attached to the real run's machine: answers next_use from a RefString, and watches
    for the run leaving its recording."""

    def __init__(self, m: Machine, refs: RefString) -> None:
        self.m = m
        self.refs = refs
        self.diverged_at: int | None = None  # instruction time of the first mismatch
        self._quantum = 0
        self._rm: rmap.Rmap | None = None
        self._next: dict[int, float] = {}
        m.reclaim.future = self
        m.tickers.append(self.quantum_end)

    def next_use(self, rm: rmap.Rmap, frame: int) -> float:
        """The earliest recorded use, at or after now, of any page mapping `frame`. Computed
        for every mapped frame at once, once per reverse map (one reclaim batch)."""
        if rm is not self._rm:
            self._rm = rm
            self._next = {}
            if rm.frames.size:
                pids = np.array([p.pid for p in rm.procs], dtype=np.int64)
                pages = pids[rm.owners] << VPN_BITS | rm.vas >> PGSHIFT
                when = self.refs.next_after(pages, executed(self.m))
                frames, starts = np.unique(rm.frames, return_index=True)
                self._next = dict(zip(frames.tolist(), np.minimum.reduceat(when, starts).tolist(), strict=True))
        return self._next.get(frame, np.inf)

    def quantum_end(self, _sample: Callable[[], SampleEvent]) -> None:
        if self.diverged_at is not None:
            return
        p = self.m.current
        now = executed(self.m)
        q = self.refs.quanta
        i = self._quantum
        if i >= len(q) or int(q[i, 0]) != now or int(q[i, 1]) != (p.pid if p is not None else 0):
            self.diverged_at = now
        self._quantum += 1

    def summary(self, instructions: int) -> dict[str, Any]:
        """The stats' `opt` object, at the end of the real run."""
        diverged = self.diverged_at
        if diverged is None and (self._quantum != len(self.refs.quanta) or instructions != self.refs.instructions):
            diverged = instructions
        return {
            "refs": len(self.refs),
            "pages": self.refs.npages,
            "recorded_instructions": self.refs.instructions,
            "diverged": diverged is not None,
            "diverged_at": diverged,
        }
