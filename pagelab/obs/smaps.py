"""smaps: Linux's /proc/PID/smaps, per region, computed from the real page tables and the
frames' map counts (pagescan.census).

Linux's rules, kept here:
- Rss counts the pages of the region that are mapped; the shared zero page is not counted
  (Linux's vm_normal_page skips it), so a read-only zero-filled region has Rss 0.
- Pss charges each page 1/mapcount of its size: two processes sharing a page after fork
  each carry half of it.
- A page is Shared when more than one PTE maps it, Private otherwise; Dirty when a PTE
  mapping it has D (the rmap's view, as Linux's PageDirty).
- Anonymous: pages not in the page cache (including private copies of file pages).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pagelab.hw.sv39 import PGSIZE, PTE_A, PTE_D
from pagelab.obs.pagescan import Census, Mappings, census

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc

FIELDS = (
    "Size",
    "Rss",
    "Pss",
    "Shared_Clean",
    "Shared_Dirty",
    "Private_Clean",
    "Private_Dirty",
    "Referenced",
    "Anonymous",
    "Swap",
)


@dataclass(frozen=True)
class Region:
    """[start, end) of one kind ("heap", "text", ...), with Linux's rwxp/s letters."""

    start: int
    end: int
    kind: str
    perms: str = "----"


def _perms(prot: int, flags: int) -> str:
    return "".join(c if prot & b else "-" for b, c in ((1, "r"), (2, "w"), (4, "x"))) + ("s" if flags & 1 else "p")


def regions(p: Proc) -> list[Region]:
    """The process's VMAs, with Linux's permission letters."""
    return [Region(v.start, v.end, v.kind, _perms(v.prot, v.flags)) for v in p.vmas]


@dataclass
class SmapsEntry:
    start: int
    end: int
    kind: str
    perms: str
    kb: dict[str, int]  # FIELDS -> kB

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def smaps_of(m: Machine, p: Proc, cen: Census | None = None) -> list[SmapsEntry]:
    """p's regions with their smaps fields, from the page tables as they are now."""
    cen = cen or census(m)
    mp = cen.per_pid.get(p.pid)
    return [_entry(m, r, mp, cen) for r in regions(p)]


def _entry(m: Machine, r: Region, mp: Mappings | None, cen: Census) -> SmapsEntry:
    kb = dict.fromkeys(FIELDS, 0)
    kb["Size"] = (r.end - r.start) // 1024
    if mp is not None:
        lo, hi = np.searchsorted(mp.va, [r.start, r.end])
        f, pte = mp.frame[lo:hi], mp.pte[lo:hi]
        keep = (f >= 0) & (f != m.km.frame(m.zero_frame))
        f, pte = f[keep], pte[keep]
        count = np.maximum(cen.mapcount[f], 1)
        shared = count > 1
        dirty = cen.dirty[f] | ((pte & np.uint64(PTE_D)) != 0)
        page_kb = PGSIZE // 1024
        kb["Rss"] = len(f) * page_kb
        kb["Pss"] = int((PGSIZE / count).sum()) // 1024
        kb["Shared_Clean"] = int((shared & ~dirty).sum()) * page_kb
        kb["Shared_Dirty"] = int((shared & dirty).sum()) * page_kb
        kb["Private_Clean"] = int((~shared & ~dirty).sum()) * page_kb
        kb["Private_Dirty"] = int((~shared & dirty).sum()) * page_kb
        kb["Referenced"] = int(((pte & np.uint64(PTE_A)) != 0).sum()) * page_kb
        kb["Anonymous"] = int((~cen.cache[f]).sum()) * page_kb
        lo, hi = np.searchsorted(mp.swap_va, [r.start, r.end])
        kb["Swap"] = int(hi - lo) * page_kb
    return SmapsEntry(r.start, r.end, r.kind, r.perms, kb)


def format_smaps(pid: int, name: str, when: str, entries: list[SmapsEntry]) -> str:
    """The text of /proc/PID/smaps, under a header line naming the process and the moment."""
    lines = [f"# pid {pid} ({name}) {when}"]
    for e in entries:
        lines.append(f"{e.start:08x}-{e.end:08x} {e.perms} 00000000 00:00 0    [{e.kind}]")
        lines += [f"{k + ':':<16}{v:>8} kB" for k, v in e.kb.items()]
    return "\n".join(lines) + "\n"
