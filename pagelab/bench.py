"""`pagelab bench`: speed figures as ratios against baselines measured in the same run.

These machines are noisy, so every figure that matters is a ratio of two measurements
taken moments apart, never an absolute time compared with a constant.
"""

from __future__ import annotations

import io
import itertools
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory

from unicorn import UC_ARCH_RISCV, UC_HOOK_INTR, UC_MODE_RISCV64, UC_PROT_ALL, Uc
from unicorn import riscv_const as rc

from pagelab.api import run
from pagelab.hw.sv39 import PGSIZE, PTE_W, pgroundup
from pagelab.kernel import proc
from pagelab.kernel.config import Config
from pagelab.kernel.elf import parse
from pagelab.kernel.machine import Machine
from pagelab.kernel.mm import vm
from pagelab.programs import bundled, bundled_or_fail


def bare_unicorn(image: bytes, argv: list[bytes]) -> tuple[Uc, int]:
    """An ELF loaded on bare Unicorn: flat memory, no MMU hook. Any system call but exit
    pretends to succeed (returns its third argument, as write would). Returns (uc, entry)."""
    elf = parse(image, 1 << 38)
    uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV64)
    top = max(pgroundup(s.vaddr + s.memsz) for s in elf.segments)
    stack = top + 16 * PGSIZE
    uc.mem_map(0, stack, UC_PROT_ALL)
    for s in elf.segments:
        uc.mem_write(s.vaddr, image[s.offset : s.offset + s.filesz])
    sp = stack - 256
    ptrs = []
    for a in argv:
        sp -= len(a) + 1
        sp -= sp % 16
        uc.mem_write(sp, a + b"\0")
        ptrs.append(sp)
    sp -= (len(ptrs) + 1) * 8
    sp -= sp % 16
    uc.mem_write(sp, b"".join(x.to_bytes(8, "little") for x in [*ptrs, 0]))
    uc.reg_write(rc.UC_RISCV_REG_MSTATUS, 0x6000)
    uc.reg_write(rc.UC_RISCV_REG_PRIV, 0)
    uc.reg_write(rc.UC_RISCV_REG_SP, sp)
    uc.reg_write(rc.UC_RISCV_REG_A0, len(argv))
    uc.reg_write(rc.UC_RISCV_REG_A1, sp)

    def intr(u: Uc, _intno: int, _ud: object) -> None:
        if u.reg_read(rc.UC_RISCV_REG_A7) == 2:  # exit
            u.emu_stop()
        else:  # pretend any other call (write) succeeded
            u.reg_write(rc.UC_RISCV_REG_A0, u.reg_read(rc.UC_RISCV_REG_A2))

    uc.hook_add(UC_HOOK_INTR, intr)
    return uc, elf.entry


def raw_unicorn_seconds(image: bytes, argv: list[bytes], count: int = 0) -> float:
    """Run an ELF on bare Unicorn, with no instruction count unless `count` (which makes
    Unicorn count every instruction, as pagelab's quanta did before the block hook)."""
    uc, entry = bare_unicorn(image, argv)
    t0 = time.perf_counter()
    uc.emu_start(entry, 1 << 62, count=count)
    return time.perf_counter() - t0


def measure_mips(iterations: int, rounds: int = 3) -> dict[str, float]:
    """spin's loop speed under pagelab and on bare Unicorn. Each side is (run with N
    iterations - run with 0), as for the system-call figures: pagelab's boot, exec and exit
    (about 2 ms) and bare Unicorn's ELF start and printf cancel out, leaving the loop."""
    image = bundled_or_fail("spin")
    inf = float("inf")
    # The best of each run on its own, subtracted at the end: the best of the differences
    # would take a round whose 0-iteration run was slowed down, even below zero.
    pl1 = pl0 = raw1 = raw0 = cnt1 = cnt0 = inf
    insns = 0

    def pagelab_run(n: int) -> tuple[int, float]:
        rep = run("spin", [str(n)], Config(), stdout=io.BytesIO(), stderr=io.BytesIO())
        return int(rep.stats["instructions"]), float(rep.stats["wall_seconds"])

    def bare(n: int, count: int = 0) -> float:
        return raw_unicorn_seconds(image, [b"spin", str(n).encode()], count)

    for _ in range(rounds):  # interleaved, best of N: the machine is noisy
        (i1, t1), (i0, t0) = pagelab_run(iterations), pagelab_run(0)
        insns = i1 - i0
        pl1, pl0 = min(pl1, t1), min(pl0, t0)
        raw1, raw0 = min(raw1, bare(iterations)), min(raw0, bare(0))
        cnt1, cnt0 = min(cnt1, bare(iterations, 1 << 62)), min(cnt0, bare(0, 1 << 62))
    best_pl, best_raw, best_counted = pl1 - pl0, raw1 - raw0, cnt1 - cnt0
    mips = insns / best_pl / 1e6
    raw = insns / best_raw / 1e6
    counted = insns / best_counted / 1e6
    return {
        "instructions": insns,
        "mips": round(mips, 1),
        "raw_unicorn_mips": round(raw, 1),
        "mips_ratio": round(mips / raw, 3),
        # Where the gap goes: Unicorn's own per-instruction counting, which deterministic
        # quanta need, against pagelab's MMU hook and scheduling on top of it.
        "raw_unicorn_counted_mips": round(counted, 1),
        "mips_ratio_vs_counted": round(mips / counted, 3),
    }


def zero_fill_fault_us(pages: int, traced: bool = False) -> float:
    """Median time between consecutive first-touch faults of a loop that writes one byte
    per page: the cost of a fault plus a handful of guest instructions. `traced` adds a
    listener, as --trace does, so each fault also builds its event and exact stval."""
    with TemporaryDirectory() as d:
        m = Machine(Config(), Path(d), io.BytesIO(), io.BytesIO(), io.BytesIO(), bundled)
        stamps: list[float] = []
        m.fault_stamps = stamps
        if traced:
            m.listeners.append(lambda ev: None)
        m.spawn(bundled_or_fail("memtouch"), [b"memtouch", str(pages * PGSIZE).encode(), b"1", b"w"], "memtouch")
        m.run()
        m.close()
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    return statistics.median(gaps) * 1e6


def _machine_with_heap(config: Config, heap: int, root: Path) -> tuple[Machine, proc.Proc]:
    m = Machine(config, root, io.BytesIO(), io.BytesIO(), io.BytesIO(), bundled)
    p = m.spawn(bundled_or_fail("spin"), [b"spin"], "spin")
    assert p is not None
    top = vm.uvmalloc(m.km, p.pagetable, p.sz, p.sz + heap, PTE_W)
    assert top is not None
    for va in range(pgroundup(p.sz), top, PGSIZE):  # touch: every page dirty and private
        pa = vm.user_page(m.km, p.pagetable, va, vm.Access.WRITE, None)
        assert pa is not None
        m.ram.write(pa, b"x")
    p.sz = top
    assert p.heap is not None and p.vmas.set_end(p.heap, pgroundup(top))  # the heap's region too
    return m, p


def fork_seconds(cow: bool, heap: int, root: Path, repeat: int) -> float:
    """Median time of fork() of a process with `heap` bytes touched; each child is
    reaped before the next fork, so every fork starts from the same state."""
    m, p = _machine_with_heap(Config(cow=cow, mem=3 * heap), heap, root)
    m.current = p
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        pid = proc.fork(m, p)
        times.append(time.perf_counter() - t0)
        assert pid > 0
        child = next(c for c in m.procs if c is not None and c.pid == pid)
        proc.exit_proc(m, child, 0)
        proc.freeproc(m, child)
    m._shutdown()
    m.close()
    return statistics.median(times)


def cow_fork_speedup(heap: int) -> dict[str, float]:
    with TemporaryDirectory() as d:
        root = Path(d)
        eager = fork_seconds(False, heap, root, 3)
        cow = fork_seconds(True, heap, root, 9)
    return {
        "eager_fork_ms": round(eager * 1e3, 3),
        "cow_fork_ms": round(cow * 1e3, 3),
        "cow_fork_speedup": round(eager / cow, 1),
    }


def lazy_sparse_frames_ratio() -> float:
    def peak(config: Config) -> int:
        rep = run("sparse", [], config, stdout=io.BytesIO(), stderr=io.BytesIO())
        return int(rep.stats["frames"]["peak_used"])

    return round(peak(Config()) / peak(Config.eager(mem=1 << 30)), 4)


def _python(code: str) -> str:
    """What `python -c code` prints, run in a fresh host process."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def host_memory_over_guest_mib(mem_mib: int = 128) -> float:
    """Peak host memory of a whole `pagelab run` that fills guest RAM, minus guest RAM.

    Read as VmHWM of a fresh process: ru_maxrss would include this process's own peak,
    which Linux carries across fork and exec.
    """
    code = (
        "import io; from pagelab.api import run; from pagelab.kernel.config import Config;"
        f"run('memtouch', ['{mem_mib * 3 // 4}M'], Config(mem={mem_mib} << 20), stdout=io.BytesIO());"
        "print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])"
    )
    out = _python(code)
    return round(int(out.split()[-1]) / 1024 - mem_mib, 1)


def measure_mips_processes(iterations: int, rounds: int, processes: int) -> dict[str, float]:
    """measure_mips in fresh host processes, and the one with the median mips_ratio.

    Why: where the engines' code buffers, CPU state and the hook land differs from one
    process to the next, and Unicorn's speed with it. Bare Unicorn ran spin at 2,100 MIPS
    in some processes and 2,850 in others, steadily within each, so one process's
    ratio read anywhere from 0.45 to 0.69. Best-of-N inside a process cannot remove that;
    a median over processes does, and the spread is reported beside it."""
    code = (
        f"import json; from pagelab.bench import measure_mips; print(json.dumps(measure_mips({iterations}, {rounds})))"
    )
    runs = []
    for _ in range(processes):
        out = _python(code)
        runs.append(json.loads(out.splitlines()[-1]))
    runs.sort(key=lambda r: r["mips_ratio"])
    ratios = [r["mips_ratio"] for r in runs]
    return {
        **runs[len(runs) // 2],
        "mips_ratio_min": ratios[0],
        "mips_ratio_max": ratios[-1],
        "mips_processes": processes,
    }


def compute(quick: bool) -> dict[str, object]:
    return dict(measure_mips_processes(2_000_000, 3, 3) if quick else measure_mips_processes(20_000_000, 5, 5))


def faults(quick: bool) -> dict[str, object]:
    pages = 2000 if quick else 10000
    # Best of three medians each: the first runs pay for warming caches.
    plain = min(zero_fill_fault_us(pages) for _ in range(3))
    traced = min(zero_fill_fault_us(pages, traced=True) for _ in range(3))
    return {"zero_fill_fault_us": round(plain, 2), "zero_fill_fault_us_traced": round(traced, 2)}


def fork_cow(quick: bool) -> dict[str, object]:
    return dict(cow_fork_speedup((16 if quick else 64) << 20))


def memory(quick: bool) -> dict[str, object]:
    return {
        "lazy_sparse_frames_ratio": lazy_sparse_frames_ratio(),
        "host_mib_over_guest_ram": host_memory_over_guest_mib(),
    }


def syscalls(quick: bool) -> dict[str, object]:
    from pagelab.bench_sys import syscall_figures

    return dict(syscall_figures(quick))


def workload(quick: bool) -> dict[str, object]:
    from pagelab.bench_sys import many_processes

    return dict(many_processes(quick))


# --- the page cache and demand paging (issue 10) ----------------------------------------


def file_fault_us(pages: int) -> float:
    """Median time between consecutive faults of filetouch's touch loop: each is a page-cache
    hit mapped into the process (its read() loop put every page in the cache first), as when
    a second process maps a file the first one read. Comparable with zero_fill_fault_us:
    both loops touch one byte per page."""
    with TemporaryDirectory() as d:
        root = Path(d)
        (root / "data").write_bytes(b"".join(bytes([i % 251 + 1]) + bytes(PGSIZE - 1) for i in range(pages)))
        m = Machine(Config(), root, io.BytesIO(), io.BytesIO(), io.BytesIO(), bundled)
        stamps: list[float] = []
        m.fault_stamps = stamps
        m.spawn(bundled_or_fail("filetouch"), [b"filetouch", b"data"], "filetouch")
        status = m.run()
        m.close()
    if status != 0:
        raise RuntimeError(f"filetouch failed with status {status}")
    return statistics.median(b - a for a, b in itertools.pairwise(stamps)) * 1e6


def exec_big_ms(demand: bool) -> float:
    """Wall time of a whole run of bigrodata (exec of 8 MiB of rodata, one page touched,
    exit), with or without demand paging of exec."""
    rep = run("bigrodata", ["7"], Config(demand=demand), stdout=io.BytesIO(), stderr=io.BytesIO())
    if rep.exit_code != 7:
        raise RuntimeError(f"bigrodata failed with status {rep.exit_code}")
    return float(rep.stats["wall_seconds"]) * 1e3


def pagecache(quick: bool) -> dict[str, object]:
    """file_fault_us and its ratio to a zero-fill fault measured alongside it (target <= 1.5),
    and exec of 8 MiB of rodata with and without demand paging. Interleaved, best of three."""
    pages = 2000 if quick else 10000
    file_us = zero_us = demand = nodemand = float("inf")
    for _ in range(3):
        zero_us = min(zero_us, zero_fill_fault_us(pages))
        file_us = min(file_us, file_fault_us(pages))
        demand = min(demand, exec_big_ms(True))
        nodemand = min(nodemand, exec_big_ms(False))
    return {
        "file_fault_us": round(file_us, 2),
        "file_fault_ratio": round(file_us / zero_us, 3),
        "exec_big_ms": round(demand, 2),
        "exec_big_ms_no_demand": round(nodemand, 2),
        "exec_big_no_demand_over_demand": round(nodemand / demand, 1),
    }


def vma(quick: bool) -> dict[str, object]:
    from pagelab.bench_vma import vma as figures  # region bookkeeping (issue 18)

    return dict(figures(quick))


def replay(quick: bool) -> dict[str, object]:
    from pagelab.replay.bench import replay_figures  # trace replay (issue 11): its own module

    return dict(replay_figures(quick))


def report(quick: bool) -> dict[str, object]:
    from pagelab.bench_report import report_figures  # the HTML report (issue 21)

    return report_figures(quick)


# The measurements, in the order they run: (name, function of `quick` -> figures). To add
# one, write a function that returns its keys and add a line here; keys are never renamed.
Measurement = Callable[[bool], dict[str, object]]


def linux(quick: bool) -> dict[str, object]:
    from pagelab.bench_linux import linux_mips, linux_syscalls, linux_workloads

    return {**linux_mips(quick), **linux_syscalls(quick), **linux_workloads(quick)}


def startup(quick: bool) -> dict[str, object]:
    from pagelab.bench_startup import startup_figures

    return startup_figures(quick)


def observe(quick: bool) -> dict[str, object]:
    """observe_overhead: wall time of a recorded run (events, samples, the A-bit sampled
    reference string behind the working sets and heat maps) over a plain run of the same
    workload, best of three each, in this process; the largest of the workloads' ratios."""
    import io as io_

    from pagelab.api import run

    def best(program: str, args: list[str], record: bool) -> float:
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            run(program, args, stdout=io_.BytesIO(), stderr=io_.BytesIO(), record=record)
            times.append(time.perf_counter() - t0)
        return min(times)

    work = [("matmul", ["60"])] if quick else [("matmul", ["120"]), ("lz", []), ("kvstore", [])]
    ratios = {f"observe_overhead_{p}": round(best(p, a, True) / best(p, a, False), 2) for p, a in work}
    return {"observe_overhead": max(ratios.values()), **ratios}


MEASUREMENTS: tuple[tuple[str, Measurement], ...] = (
    ("compute", compute),
    ("faults", faults),
    ("fork_cow", fork_cow),
    ("pagecache", pagecache),
    ("memory", memory),
    ("syscalls", syscalls),
    ("workload", workload),
    ("replay", replay),
    ("linux", linux),
    ("vma", vma),
    ("startup", startup),
    ("observe", observe),
    ("report", report),
)


def bench(
    quick: bool = False,
    out: Callable[[str], None] = print,
    markdown: bool = False,
    record: Path | None = None,
    only: list[str] | None = None,
) -> int:
    from pagelab.bench_record import machine_description, markdown_table, write_record
    from pagelab.obs.progress import LiveLine

    result: dict[str, object] = {}
    todo = [(name, measure) for name, measure in MEASUREMENTS if only is None or name in only]
    with LiveLine(delay=0.0) as line:  # drawn only when stderr is a terminal
        for i, (name, measure) in enumerate(todo, 1):
            line.update(f"bench {i}/{len(todo)}: {name}")
            result.update(measure(quick))
    result["machine"] = machine_description()
    out(markdown_table(result) if markdown else json.dumps(result, indent=2))
    if record is not None:
        write_record(result, record, quick)
    return 0
