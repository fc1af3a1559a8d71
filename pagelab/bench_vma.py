"""`pagelab bench --only vma`: the cost of region bookkeeping (issue 18).

A mmap+munmap pair of one page in a process that already holds 50,000 regions, against
the same pair in a process with 10, measured in the same run: with a logarithmic region
structure the ratio stays near 1. fork of the big process is timed beside the small one
for the same reason (regions are shared copy-on-write, not copied).
"""

from __future__ import annotations

import io
import statistics
import time
from pathlib import Path
from tempfile import TemporaryDirectory

from pagelab.hw.sv39 import PGSIZE
from pagelab.kernel import proc
from pagelab.kernel.config import Config
from pagelab.kernel.machine import Machine
from pagelab.kernel.mm.mmap import do_mmap, do_munmap
from pagelab.kernel.mm.vma import MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE
from pagelab.programs import bundled

ANON = MAP_PRIVATE | MAP_ANONYMOUS


def _process_with_regions(root: Path, regions: int) -> tuple[Machine, proc.Proc]:
    """A process with `regions` one-page anonymous mmaps, every other one read-only so
    that neighbours never merge."""
    m = Machine(Config(), root, io.BytesIO(), io.BytesIO(), io.BytesIO(), bundled)
    image = bundled("spin")
    assert image is not None
    p = m.spawn(image, [b"spin"], "spin")
    assert p is not None
    m.current = p
    for i in range(regions):
        if do_mmap(m, p, PGSIZE, PROT_READ | (PROT_WRITE if i % 2 else 0), ANON, -1, 0) < 0:
            raise RuntimeError(f"mmap {i} failed")
    return m, p


def pair_and_fork_us(regions: int, pairs: int) -> tuple[float, float]:
    """Median µs of a one-page mmap+munmap pair, and of a fork (child reaped each time)."""
    with TemporaryDirectory() as d:
        m, p = _process_with_regions(Path(d), regions)
        times = []
        for _ in range(pairs):
            t0 = time.perf_counter()
            a = do_mmap(m, p, PGSIZE, PROT_READ | PROT_WRITE, ANON, -1, 0)
            do_munmap(m, p, a, PGSIZE)
            times.append(time.perf_counter() - t0)
        forks = []
        for _ in range(5):
            t0 = time.perf_counter()
            pid = proc.fork(m, p)
            forks.append(time.perf_counter() - t0)
            child = next(c for c in m.procs if c is not None and c.pid == pid)
            proc.exit_proc(m, child, 0)
            proc.freeproc(m, child)
        m._shutdown()
        m.close()
    return statistics.median(times) * 1e6, statistics.median(forks) * 1e6


def vma(quick: bool) -> dict[str, object]:
    pairs = 500 if quick else 3000
    small, small_fork = min(pair_and_fork_us(10, pairs) for _ in range(2))
    big, big_fork = min(pair_and_fork_us(50_000, pairs) for _ in range(2))
    return {
        "vma_ops_us": round(big, 2),
        "vma_ops_us_10_regions": round(small, 2),
        "vma_ops_ratio": round(big / small, 2),
        "vma_fork_us": round(big_fork, 1),
        "vma_fork_us_10_regions": round(small_fork, 1),
    }
