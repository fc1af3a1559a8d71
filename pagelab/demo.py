"""`pagelab demo`: bundled workloads run eager (stock xv6) and then with every mechanism on.

The point of the lecture in one screen: the same program, the same output, and how much
memory and how many faults each way costs.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

from pagelab.api import RunReport, run
from pagelab.kernel.config import Config


@dataclass(frozen=True)
class Workload:
    title: str
    program: str
    args: tuple[str, ...] = ()
    stdin: bytes = b""


WORKLOADS = (
    Workload("sparse heap: sbrk 512 MiB, write one byte per MiB", "sparse"),
    Workload(
        "fork+exec shell pipeline: sh runs `ls | wc` and `echo | cat`", "sh", (), b"ls | wc\necho hello pagelab | cat\n"
    ),
    Workload("big BSS: 256 MiB array, read every 16th page, write 4", "bigbss"),
    Workload("fork of a large touched heap (48 MiB), child writes 16 pages", "forkbig", ("48", "16")),
)

ROWS: tuple[tuple[str, Callable[[dict], object]], ...] = (
    ("exit status", lambda s: s["processes"][0]["exit"] if s["processes"] else "?"),
    ("frames used (peak)", lambda s: s["frames"]["peak_used"]),
    ("faults: lazy", lambda s: s["faults"]["lazy"]),
    ("faults: zero", lambda s: s["faults"]["zero"]),
    ("faults: cow", lambda s: s["faults"]["cow"]),
    ("faults: fatal", lambda s: s["faults"]["fatal"]),
    ("COW copies", lambda s: s["cow_copies"]),
    ("processes", lambda s: len(s["processes"])),
    ("instructions", lambda s: s["instructions"]),
    ("wall time (s)", lambda s: f"{s['wall_seconds']:.3f}"),
)


def run_workload(w: Workload, config: Config) -> tuple[RunReport, bytes]:
    out = io.BytesIO()
    rep = run(w.program, w.args, config, stdin=io.BytesIO(w.stdin), stdout=out, stderr=io.BytesIO())
    return rep, out.getvalue()


def table(w: Workload, eager: RunReport, lazy: RunReport) -> str:
    lines = [w.title, f"  {'':<22}{'eager (xv6)':>16}{'lazy+zero+COW':>16}"]
    for label, get in ROWS:
        lines.append(f"  {label:<22}{get(eager.stats)!s:>16}{get(lazy.stats)!s:>16}")
    return "\n".join(lines)


def demo(out: Callable[[str], None] = print, mem: int = 1 << 30) -> int:
    """Run every workload both ways; fail (exit 1) if the two ways disagree on output."""
    ok = True
    out(f"pagelab demo: each workload runs eager, then lazy, on {mem >> 20} MiB of RAM\n")
    for w in WORKLOADS:
        eager, eout = run_workload(w, Config.eager(mem=mem))
        lazy, lout = run_workload(w, Config(mem=mem))
        out(table(w, eager, lazy))
        if eout != lout:
            out("  !! the two runs printed different output")
            ok = False
        out("")
    return 0 if ok else 1
