"""What the fuzzers share: boot a machine on a fresh root, run it with a bound on
instructions, and check afterwards what must hold whatever the guest did:

- no exception reached the host (the run itself did not raise);
- no kernel oops (a Python exception the kernel caught while serving a process);
- no leaked frame, and the memory invariants of kernel/invariants.py.
"""

from __future__ import annotations

import gc
import io
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pagelab.kernel.config import Config
from pagelab.kernel.events import Event, ExitEvent
from pagelab.kernel.invariants import InvariantError, check_invariants
from pagelab.kernel.machine import Machine
from pagelab.kernel.proc import State
from pagelab.programs import bundled
from pagelab.tmproot import make_root, remove_tree

SYSFUZZ = bundled("sysfuzz") or b""

# The configurations a long run cycles through: every mechanism on and off, memory
# tight enough to run out, a disk small enough to fill.
CONFIGS: list[Config] = [
    Config(disk=8 << 20),
    Config.eager(disk=8 << 20),
    Config(cow=False, disk=8 << 20),
    Config(mem=2 << 20, disk=8 << 20),
    Config.eager(mem=2 << 20, disk=8 << 20),
    Config(zero_heap=True, zero_page=False, mem=8 << 20, disk=1 << 20),
]


class Sink(io.RawIOBase):
    """A host stream that counts what the guest writes and keeps none of it."""

    def __init__(self) -> None:
        self.bytes = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        n = len(b)
        self.bytes += n
        return n


@dataclass
class Findings:
    """What one or many fuzz runs found. Everything but the counters must stay empty."""

    runs: int = 0
    calls: int = 0
    elfs: int = 0
    exceptions: list[str] = field(default_factory=list)
    oopses: int = 0
    leaks: list[str] = field(default_factory=list)  # leaked frames and broken invariants

    def add(self, other: Findings) -> None:
        self.runs += other.runs
        self.calls += other.calls
        self.elfs += other.elfs
        self.exceptions += other.exceptions
        self.oopses += other.oopses
        self.leaks += other.leaks

    @property
    def clean(self) -> bool:
        return not (self.exceptions or self.oopses or self.leaks)

    def summary(self) -> str:
        return (
            f"runs={self.runs} calls={self.calls} elfs={self.elfs} "
            f"exceptions={len(self.exceptions)} oopses={self.oopses} leaks={len(self.leaks)}"
        )


def count_calls(m: Machine) -> list[int]:
    """Wrap every system-call handler of m to count the calls; returns the counter."""
    n = [0]
    for num, fn in list(m.syscalls.items()):

        def counted(mm: Any, p: Any, _fn: Callable[..., Any] = fn) -> Any:
            n[0] += 1
            return _fn(mm, p)

        m.syscalls[num] = counted
    return n


def run_guest(
    config: Config,
    argv: list[bytes],
    label: str,
    max_insns: int,
    prepare: Callable[[Any], None] | None = None,
    check_every: int = 64,
) -> Findings:
    """Boot a machine on a fresh temporary root, run sysfuzz with argv as its first process
    for at most max_insns instructions, then shut it down and check it."""
    f = Findings(runs=1)
    root = make_root()
    try:
        if prepare is not None:
            prepare(root)
        out = Sink()
        m = Machine(config, root, io.BytesIO(b"fuzz input\n" * 4), out, out, bundled)  # type: ignore[arg-type]
        calls = count_calls(m)
        exits = [0]

        def watch(ev: Event) -> None:
            # Every so often, between two exits, the invariants must hold mid-run too.
            if isinstance(ev, ExitEvent):
                exits[0] += 1
                if exits[0] % check_every == 0:
                    try:
                        check_invariants(m, expect_empty=False)
                    except InvariantError as e:
                        f.leaks.append(f"{label}: mid-run: {e}")

        m.listeners.append(watch)

        def start() -> None:
            init_image = bundled("init")
            if init_image is None or m.boot_init(init_image) is None:
                raise RuntimeError("init does not load")
            if m.spawn(SYSFUZZ, argv, "sysfuzz") is None:  # init's child, as in a real run
                raise RuntimeError("sysfuzz does not load")

        examine(f, label, m, start, max_insns)
        f.calls += calls[0]
    finally:
        remove_tree(root)
        gc.collect()  # a machine's RAM goes only with its cycles (see api.run)
    return f


def examine(f: Findings, label: str, m: Machine, start: Callable[[], None], max_insns: int) -> None:
    """Start the guest, run it for at most max_insns instructions, check that the machine
    ends with everything free, and note in f what went wrong: a leak, a host exception,
    the kernel's oopses. The machine is closed afterwards whatever happened."""
    try:
        start()
        run_capped(m, max_insns)
        check_invariants(m, expect_empty=True)
    except InvariantError as e:
        f.leaks.append(f"{label}: {e}")
    except Exception:
        f.exceptions.append(f"{label}:\n{traceback.format_exc()}")
    finally:
        f.oopses += m.oopses
        m.close()


def run_capped(m: Machine, max_insns: int) -> None:
    """Machine.run, but stop once max_insns instructions have run (a mutant may loop
    forever); then shut down as run() does, freeing everything."""
    first = m.first
    assert first is not None
    while first.state != State.ZOMBIE and m.clock.instructions < max_insns:
        p = m._pick()
        if p is None:
            if not m._idle():
                break
            continue
        m._run_quantum(p)
    m._shutdown()
