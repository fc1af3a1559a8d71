"""System-call, context-switch and process figures for `pagelab bench`, each against a floor
measured moments before on bare Unicorn running the same guest code.

Every figure is a difference of two runs of `sysbench` (N iterations and none), so the
boot, exec and exit around the loop cancel out; best of three, interleaved with its floor.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable

from unicorn import UC_CTL_IO_WRITE, UC_CTL_TLB_FLUSH

from pagelab.api import run
from pagelab.kernel.config import Config
from pagelab.programs import bundled_or_fail

# The "many processes" workload: a shell script in the spirit of xv6's usertests and a
# student's session: forks, pipes, short execs, small files and directories.
SCRIPT_ROUND = """mkdir d{i}
echo round {i} alpha beta gamma > d{i}/f
cat d{i}/f | wc
cat d{i}/f | grep beta | wc
ls d{i} > d{i}/list
wc d{i}/list d{i}/f
ln d{i}/f d{i}/g
rm d{i}/g
echo x{i} ; echo y{i} ; echo z{i}
sysbench fork 5
sysbench exec 2
sysbench pipe 20
"""


def _guest_seconds(args: list[str]) -> float:
    rep = run("sysbench", args, Config(), stdout=io.BytesIO(), stderr=io.BytesIO())
    if rep.exit_code != 0:
        raise RuntimeError(f"sysbench {' '.join(args)} failed: {rep.exit_code}")
    return float(rep.stats["wall_seconds"])


def per_iteration_us(mode: str, n: int) -> float:
    """Host time of one iteration of `sysbench MODE`, in microseconds."""
    full = _guest_seconds([mode, str(n)])
    empty = _guest_seconds([mode, "0"])
    return max(full - empty, 0.0) / n * 1e6


def bare_ecall_us(n: int) -> float:
    """The floor of a system call: the same getpid loop on bare Unicorn, whose interrupt
    hook (a Python function, as pagelab's is) reads a7 and writes a0."""
    from pagelab.bench import bare_unicorn

    def seconds(k: int) -> float:
        uc, entry = bare_unicorn(bundled_or_fail("sysbench"), [b"sysbench", b"getpid", str(k).encode()])
        t0 = time.perf_counter()
        uc.emu_start(entry, 1 << 62)
        return time.perf_counter() - t0

    return max(seconds(n) - seconds(0), 0.0) / n * 1e6


def bare_switch_us(n: int) -> float:
    """The floor of a context switch on bare Unicorn: save the registers into an existing
    context, restore another, flush the TLB (no ASIDs)."""
    from pagelab.bench import bare_unicorn

    uc, _ = bare_unicorn(bundled_or_fail("sysbench"), [b"sysbench"])
    a, b = uc.context_save(), uc.context_save()
    t0 = time.perf_counter()
    for _ in range(n):
        uc.context_update(a)
        uc.context_restore(b)
        uc.ctl(UC_CTL_TLB_FLUSH, UC_CTL_IO_WRITE)
    return (time.perf_counter() - t0) / n * 1e6


def _best(fn: Callable[[], float], repeat: int = 3) -> float:
    return min(fn() for _ in range(repeat))


def syscall_figures(quick: bool = False) -> dict[str, float]:
    """getpid and pipe ping-pong against their floors; fork and exec as plain figures."""
    n_call = 20_000 if quick else 50_000
    n_pipe = 1_000 if quick else 3_000
    n_fork = 100 if quick else 1_000
    n_exec = 50 if quick else 500
    rounds = 2 if quick else 3
    getpid = ecall = float("inf")
    pipe = switch = float("inf")
    for _ in range(rounds):  # interleaved with the floors, best of N: the machine is noisy
        getpid = min(getpid, per_iteration_us("getpid", n_call))
        ecall = min(ecall, bare_ecall_us(n_call))
        pipe = min(pipe, per_iteration_us("pipe", n_pipe))
        switch = min(switch, bare_switch_us(n_pipe))
    # A round trip: each side writes and reads (4 ecalls) and the CPU goes there and back.
    pipe_floor = 4 * ecall + 2 * switch
    return {
        "getpid_us": round(getpid, 2),
        "bare_ecall_us": round(ecall, 2),
        "syscall_ratio": round(getpid / ecall, 2),
        "pipe_roundtrip_us": round(pipe, 2),
        "bare_switch_us": round(switch, 2),
        "pipe_roundtrip_floor_us": round(pipe_floor, 2),
        "pipe_roundtrip_ratio": round(pipe / pipe_floor, 2),
        "fork_exit_wait_us": round(_best(lambda: per_iteration_us("fork", n_fork), rounds), 1),
        "fork_exec_wait_us": round(_best(lambda: per_iteration_us("exec", n_exec), rounds), 1),
    }


def many_processes(quick: bool = False) -> dict[str, float]:
    """The shell workload: wall time and guest instructions per second."""
    rounds = 3 if quick else 20
    script = "".join(SCRIPT_ROUND.format(i=i) for i in range(rounds)).encode()
    best: dict[str, float] = {}
    for _ in range(1 if quick else 2):
        rep = run("sh", [], Config(), stdin=io.BytesIO(script), stdout=io.BytesIO(), stderr=io.BytesIO())
        s = rep.stats
        wall = float(s["wall_seconds"])
        if not best or wall < best["many_procs_wall_s"]:
            best = {
                "many_procs_wall_s": round(wall, 3),
                "many_procs_processes": len(s["processes"]) + int(s.get("processes_truncated", 0)),
                "many_procs_instructions": s["instructions"],
                "many_procs_ips": round(s["instructions"] / wall),
            }
    return best
