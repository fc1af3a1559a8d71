"""The stats JSON (README.md, "Stats"). Keys are only ever added, never renamed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pagelab.kernel.events import ExitEvent
from pagelab.kernel.mm.alloc import stats as alloc_stats
from pagelab.kernel.mm.vmscan import stats as reclaim_stats

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine


def process_record(ev: ExitEvent) -> dict[str, Any]:
    return {
        "pid": ev.pid,
        "name": ev.name,
        "exit": ev.status,
        "killed": ev.killed,
        "faults": ev.faults,
        "rss_peak_pages": ev.rss_peak_pages,
        "swap_pages": ev.swap_pages,
        "mappings": list(ev.mappings),
        "mappings_total": ev.mappings_total,
        "abi": ev.abi,
        "signal": ev.signal,
        "suspensions": ev.suspensions,
    }


def stats(m: Machine, wall_seconds: float) -> dict[str, Any]:
    st = m.vmstat
    return {
        "config": m.config.to_json(),
        "instructions": m.clock.instructions,
        "instructions_exact": m.hart.exact_count,
        "wall_seconds": round(wall_seconds, 6),
        "ticks": m.clock.ticks,
        "faults": {**st.faults, "minor": st.minor, "major": st.major},
        "frames": {
            "total": m.km.nframes,
            "free_min": m.km.free_min,
            "peak_used": m.km.peak_used,
            "free_end": m.km.nfree,
            "boot_free": m.boot_free,
            "cache": m.pagecache.cache_only_frames(),  # only the page cache holds them
        },
        "cow_copies": st.cow_copies,
        "page_ins": st.page_ins,
        "page_outs": st.page_outs,
        "mm": {
            "calls": dict(st.mm_calls),  # mmap, munmap, mprotect, mremap, madvise, msync
            "failed": dict(st.mm_failed),
            "madvise_dropped": st.madvise_dropped,
            "msync_written": st.msync_written,
            "mremap_moved": st.mremap_moved,
            "populated": st.populated,
        },
        "policy": m.config.policy,
        **reclaim_stats(m.reclaim),  # swap (total, used, peak slots), evictions by kind, oom_kills
        **alloc_stats(m.alloc),  # --alloc mode, load control's suspensions and resumes
        "tlb_fills": m.hart.tlb_fills,
        "kernel_oopses": m.oopses,
        "processes": sorted((process_record(e) for e in m.exits), key=lambda r: r["pid"]),
        # Past the first ACCT_DETAILED exits, processes are only counted (kernel/acct.py).
        "processes_truncated": m.exits.truncated,
        "disk_quota": {
            "limit": m.fs.quota.limit,
            "used": m.fs.quota.used,
            "used_at_boot": m.fs.quota.used_at_boot,
            "refused": m.fs.quota.refused,
        },
        # Linux calls this kernel does not have: answered -ENOSYS, counted by number.
        "syscalls": {"enosys": {str(k): v for k, v in sorted(m.enosys.items())}},
        "signals": {what: {str(k): v for k, v in sorted(n.items())} for what, n in m.signals.items()},
        "processes_summary": {
            "count": m.exits.total,
            "killed": m.exits.killed,
            "faults": m.exits.faults,
            "rss_peak_pages_max": m.exits.rss_peak_max,
        },
    }
