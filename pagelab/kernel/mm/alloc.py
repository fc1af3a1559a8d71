"""Frame allocation between processes, and load control (`--alloc`).

The replacement policy picks a victim among candidate frames; this module decides whose
frames are candidates (Silberschatz, "Allocation of Frames" and "Thrashing"):
- `global`: every evictable frame, whoever maps it (the default, and the behaviour
  without this module);
- `equal`: each process's share is the usable frames / the live processes;
- `proportional`: a share in proportion to the process's virtual size;
- `ws`: a share equal to its working set W(t, tau) (Denning, "The working set model for
  program behavior", CACM 1968), tau in instructions of the process's own virtual time,
  measured from the A bits sampled every sampling tick;
- `pff`: page-fault frequency (Chu and Opderbeck, 1972, in the two-threshold form of the
  textbooks): at each sampling tick a process faulting more often than `upper` (faults
  per million of its instructions) gets its share grown by the pages it faulted in, and
  one faulting less often than `lower` has it cut to the pages it used since the last
  tick.
Shares are enforced when memory runs out (local replacement): a process at or over its
share gives up its own pages; one under it takes frames from those over theirs (first from
suspended processes); and only if nobody is over does reclaim fall back to global.

Load control (`ws`, `pff`): when the shares of the processes in memory add up to more than
the usable frames, the youngest runnable process (not the running one) is suspended: the
scheduler skips it and its pages go to swap at once (only pages no other process maps;
without --swap only file pages can go). When the shares of those in memory plus its own
fit again, or nobody else can run, it is resumed, and its pages come back on demand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from pagelab.hw.sv39 import PGSIZE, PTE_A, PTE_U
from pagelab.kernel.events import LoadEvent
from pagelab.kernel.proc import State

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.mm.rmap import Rmap
    from pagelab.kernel.proc import Proc

ALLOC_MODES = ("global", "equal", "proportional", "ws", "pff")


class AllocError(ValueError):
    """A bad --alloc specification (a usage error in the front ends)."""


@dataclass(frozen=True)
class AllocSpec:
    mode: str = "global"
    # Working-set window, in the process's own instructions. Denning's tau is "about the
    # time to bring a page in"; 1M instructions is one sampling period of a single process.
    tau: int = 1_000_000
    # Page-fault frequency thresholds, in faults per million instructions of the process.
    lower: float = 20.0
    upper: float = 200.0

    PARAMS: ClassVar[dict[str, tuple[str, ...]]] = {"ws": ("tau",), "pff": ("lower", "upper")}

    def __str__(self) -> str:
        names = self.PARAMS.get(self.mode, ())
        if not names:
            return self.mode
        return self.mode + ":" + ",".join(f"{k}={getattr(self, k)}" for k in names)


def parse_alloc(spec: str) -> AllocSpec:
    """'ws:tau=50000' -> AllocSpec('ws', tau=50000). Raises AllocError."""
    mode, _, text = spec.partition(":")
    mode = mode.strip()
    if mode not in ALLOC_MODES:
        raise AllocError(f"--alloc {spec!r}: unknown mode (one of {', '.join(ALLOC_MODES)})")
    allowed = AllocSpec.PARAMS.get(mode, ())
    values: dict[str, float | int] = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        key, eq, raw = item.partition("=")
        key = key.strip()
        if not eq or key not in allowed:
            known = ", ".join(allowed) or "none"
            raise AllocError(f"--alloc {spec!r}: bad parameter {item!r} (parameters of {mode}: {known})")
        try:
            value: float | int = int(raw) if key == "tau" else float(raw)
        except ValueError:
            raise AllocError(f"--alloc {spec!r}: {key} must be a number, not {raw.strip()!r}") from None
        if value <= 0:
            raise AllocError(f"--alloc {spec!r}: {key} must be positive")
        values[key] = value
    out = AllocSpec(mode, **values)  # type: ignore[arg-type]
    if out.lower >= out.upper:
        raise AllocError(f"--alloc {spec!r}: lower must be below upper")
    return out


class Allocator:
    """Held by the Machine as m.alloc; the Reclaimer asks it which frames may go."""

    def __init__(self, m: Machine) -> None:
        self.m = m
        self.spec = parse_alloc(m.config.alloc)
        self.mode = self.spec.mode
        self.samples = self.mode in ("ws", "pff")  # needs the periodic sampling tick
        self.suspended: list[Proc] = []  # in the order they were suspended
        self.suspends = 0
        self.resumes = 0
        self.pages_out = 0  # pages swapped out by suspensions
        self.suspends_of: dict[int, int] = {}  # pid -> times suspended
        self.last_use: dict[int, dict[int, int]] = {}  # pid -> va -> vtime of last use (ws)
        self.pff_share: dict[int, int] = {}  # pid -> share (pff)
        self.pff_mark: dict[int, tuple[int, int]] = {}  # pid -> (faults, vtime) at the last tick
        self.share_at_suspend: dict[int, int] = {}

    # --- shares -----------------------------------------------------------------------

    def usable(self) -> int:
        """Frames user pages may hold: the free ones and those holding user pages now."""
        return self.m.km.nfree + len(self.m.reclaim.known)

    def members(self) -> list[Proc]:
        """Live processes with an address space, suspended ones included."""
        return [p for _j, p in self.m.live if p.pagetable and p.state is not State.ZOMBIE]

    def share(self, p: Proc, members: list[Proc] | None = None) -> int:
        """Frames p is entitled to now."""
        if self.mode == "ws":
            return self.ws_size(p)
        if self.mode == "pff":
            return self.pff_share.get(p.pid, p.rss)
        members = self.members() if members is None else members
        active = [q for q in members if q not in self.suspended] or [p]
        if self.mode == "equal":
            return self.usable() // len(active)
        size = {q.pid: max(sum(v.pages() for v in q.vmas), 1) for q in active}
        return self.usable() * size.get(p.pid, 1) // sum(size.values())

    def ws_size(self, p: Proc) -> int:
        """|W(t, tau)|: p's pages used within the last tau of its own instructions."""
        horizon = p.vtime - self.spec.tau
        return sum(1 for t in self.last_use.get(p.pid, {}).values() if t >= horizon)

    def faulted(self, p: Proc, va: int) -> None:
        """p faulted on va: a reference the A-bit samples could miss (the page may be
        evicted before the next one), counted in p's working set."""
        if self.mode == "ws":
            self.last_use.setdefault(p.pid, {})[va & ~(PGSIZE - 1)] = p.vtime

    # --- reclaim: whose frames are candidates -------------------------------------------

    def restrict(self, rm: Rmap, candidates: set[int]) -> set[int]:
        """The candidates reclaim may take from now (see the module docstring)."""
        if self.mode == "global" or not candidates:
            return candidates
        members = self.members()
        mine: dict[int, set[int]] = {}  # pid -> its candidate frames
        for k, f in zip(rm.owners.tolist(), rm.frames.tolist(), strict=True):
            if f in candidates:
                mine.setdefault(rm.procs[k].pid, set()).add(f)
        for q in self.suspended:  # a suspended process needs no frames at all
            if mine.get(q.pid):
                return mine[q.pid]
        if self.mode == "ws":
            stale = self._outside_ws(rm, candidates)
            if stale:
                return stale
        p = self.m.current
        if p is not None and p.rss >= self.share(p, members) and mine.get(p.pid):
            return mine[p.pid]  # local replacement: p is at its share
        over: set[int] = set()
        for q in members:
            if q is not p and q.rss > self.share(q, members):
                over |= mine.get(q.pid, set())
        return over or candidates

    def _outside_ws(self, rm: Rmap, candidates: set[int]) -> set[int]:
        """Candidate frames that every mapper last used more than tau ago."""
        inside: set[int] = set()
        seen: set[int] = set()
        for k, f, va in zip(rm.owners.tolist(), rm.frames.tolist(), rm.vas.tolist(), strict=True):
            if f not in candidates:
                continue
            seen.add(f)
            q = rm.procs[k]
            t = self.last_use.get(q.pid, {}).get(va)
            if t is None or t >= q.vtime - self.spec.tau:  # not yet sampled: just arrived
                inside.add(f)
        return seen - inside

    # --- the sampling tick ----------------------------------------------------------------

    def tick(self, rm: Rmap) -> None:
        """Sample A bits (ws, pff), update shares, then suspend or resume (load control).
        Runs inside the Reclaimer's sample(), with its reverse map."""
        km = self.m.km
        ptes = km.ptes[rm.words]
        young = (ptes & np.uint64(PTE_A | PTE_U)) == np.uint64(PTE_A | PTE_U)
        used: dict[int, int] = {}  # pid -> pages used since the last tick
        if young.any():
            for k, va in zip(rm.owners[young].tolist(), rm.vas[young].tolist(), strict=True):
                q = rm.procs[k]
                self.last_use.setdefault(q.pid, {})[va] = q.vtime
                used[q.pid] = used.get(q.pid, 0) + 1
            words = rm.words[young]
            km.ptes[words] = km.ptes[words] & ~np.uint64(PTE_A)
            # Still young to the policy until its own clear_young (Linux's PG_young, as
            # mm/page_idle.py does): sampling here does not change which pages it evicts.
            self.m.reclaim.page_young[rm.frames[young]] = 1
            self.m.reclaim.flush_tlb_later()
        members = self.members()
        if self.mode == "ws":
            for q in members:  # forget pages that left the window long ago
                lu = self.last_use.get(q.pid)
                if lu:
                    horizon = q.vtime - 4 * self.spec.tau
                    self.last_use[q.pid] = {va: t for va, t in lu.items() if t >= horizon}
        else:
            self._pff_update(members, used)
        self._load_control(rm, members)

    def _pff_update(self, members: list[Proc], used: dict[int, int]) -> None:
        for q in members:
            if q in self.suspended:
                continue
            faults, vtime = self.pff_mark.get(q.pid, (0, 0))
            self.pff_mark[q.pid] = (q.faults, q.vtime)
            share = self.pff_share.get(q.pid, q.rss)
            if q.vtime > vtime:
                rate = (q.faults - faults) * 1e6 / (q.vtime - vtime)
                if rate > self.spec.upper:
                    share = max(share, q.rss) + (q.faults - faults)
                elif rate < self.spec.lower:
                    share = max(used.get(q.pid, 0), 1)
            self.pff_share[q.pid] = share

    def _load_control(self, rm: Rmap, members: list[Proc]) -> None:
        if self.m.reclaim.swap is None:
            return  # nowhere to put a suspended process
        self.suspended = [q for q in self.suspended if q in members]
        active = [q for q in members if q not in self.suspended]
        demand = sum(self.share(q, members) for q in active)
        usable = self.usable()
        if demand > usable:
            # Suspend the youngest until the rest fit (their pages free up at once).
            pick = sorted(
                (q for q in active if q.state is State.RUNNABLE and q is not self.m.current and q.pid > 1),
                key=lambda q: q.pid,
            )
            while pick and demand > usable:
                q = pick.pop()
                demand -= self.share(q, members)
                self.suspend(rm, q)
            return
        while self.suspended:
            q = self.suspended[0]
            need = self.share_at_suspend.get(q.pid, 0)
            if demand + need > usable:
                break
            demand += need
            self.resume(q)

    def suspend(self, rm: Rmap, p: Proc) -> None:
        """Take p out of the run queue and swap out every page only it maps."""
        r = self.m.reclaim
        self.share_at_suspend[p.pid] = self.share(p)
        self.suspended.append(p)
        self.suspends += 1
        self.suspends_of[p.pid] = self.suspends_of.get(p.pid, 0) + 1
        candidates = r.evictable(rm)
        k = rm.procs.index(p)
        only: dict[int, bool] = {}
        for owner, f in zip(rm.owners.tolist(), rm.frames.tolist(), strict=True):
            if f in candidates:
                only[f] = only.get(f, True) and owner == k
        out = 0
        for f in sorted(f for f, o in only.items() if o):
            if r.evict_frame(rm, f):
                out += 1
        self.pages_out += out
        self.m.emit(LoadEvent(p.pid, "suspend", out, self.m.clock.ticks))

    def resume(self, p: Proc) -> None:
        self.suspended.remove(p)
        self.resumes += 1
        if self.mode == "pff":
            self.pff_mark[p.pid] = (p.faults, p.vtime)
        self.m.emit(LoadEvent(p.pid, "resume", 0, self.m.clock.ticks))

    def runnable(self, p: Proc) -> bool:
        """May the scheduler pick p? (A killed process runs, to exit.)"""
        return p.killed or not self.suspended or p not in self.suspended

    def nobody_runs(self) -> bool:
        """The scheduler found no process to run: resume the first suspended one that can
        run. True if one was resumed."""
        for q in self.suspended:
            if q.state is State.RUNNABLE:
                self.resume(q)
                return True
        return False

    def exited(self, p: Proc) -> int:
        """p is exiting: forget it. Returns how many times it was suspended."""
        if p in self.suspended:
            self.suspended.remove(p)
        self.last_use.pop(p.pid, None)
        self.pff_share.pop(p.pid, None)
        self.pff_mark.pop(p.pid, None)
        self.share_at_suspend.pop(p.pid, None)
        return self.suspends_of.pop(p.pid, 0)


def stats(a: Allocator) -> dict[str, object]:
    return {
        "alloc": {
            "mode": str(a.spec),
            "suspensions": a.suspends,
            "resumes": a.resumes,
            "suspended_pages_out": a.pages_out,
        }
    }
