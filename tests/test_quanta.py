"""Native instruction quanta: the block-hook counter is exact and runs are deterministic."""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path

import pytest
from conftest import run_prog
from unicorn import UC_HOOK_CODE, UC_HOOK_INTR

from pagelab.api import run
from pagelab.bench import bare_unicorn
from pagelab.hw.hart import Hart
from pagelab.hw.native import executable_mappings
from pagelab.hw.ram import PhysMem
from pagelab.kernel.config import Config
from pagelab.kernel.machine import Machine
from pagelab.programs import bundled

# Host time: the only things allowed to differ between two runs of the same program.
WALL_KEYS = ("wall_seconds",)


def one_by_one(program: str, *args: str) -> int:
    """The oracle: count every instruction with a per-instruction hook on bare Unicorn."""
    image = bundled(program)
    assert image is not None
    uc, entry = bare_unicorn(image, [program.encode(), *(a.encode() for a in args)])
    n = [0]

    def code(_uc: object, _addr: int, _size: int, _ud: object) -> None:
        n[0] += 1

    uc.hook_add(UC_HOOK_CODE, code)
    uc.emu_start(entry, 1 << 62)
    return n[0]


def init_share() -> int:
    """What init (pid 1) runs when nothing is orphaned: its start, up to its first wait(),
    which sleeps until the program ends. Counted one by one, up to that ecall."""
    image = bundled("init")
    assert image is not None
    uc, entry = bare_unicorn(image, [b"init"])
    n = [0]

    def code(_uc: object, _addr: int, _size: int, _ud: object) -> None:
        n[0] += 1

    uc.hook_add(UC_HOOK_CODE, code)
    uc.hook_add(UC_HOOK_INTR, lambda u, _i, _ud: u.emu_stop())
    uc.emu_start(entry, 1 << 62)
    return n[0]


@pytest.mark.parametrize("quantum", [97, 5000, 100_000])
def test_instruction_count_is_exact_whatever_the_quantum(quantum: int) -> None:
    for n in ("1", "1000", "4321"):
        stats = run_prog("spin", n, config=Config(quantum=quantum)).stats
        assert stats["instructions"] == one_by_one("spin", n) + init_share()
        assert stats["instructions_exact"]


def test_a_trap_counts_only_the_instructions_before_it() -> None:
    # The killing instruction does not retire; a different mode adds a known prefix.
    ebreak = run_prog("insntrap", "ebreak").stats["instructions"]
    again = run_prog("insntrap", "ebreak").stats["instructions"]
    assert ebreak == again > 0


def _strip(stats: dict) -> str:
    return json.dumps({k: v for k, v in stats.items() if k not in WALL_KEYS}, sort_keys=True)


def test_two_cpu_bound_processes_run_identically_twice() -> None:
    # A small quantum makes the two children take turns many times, faulting as they go.
    config = Config(quantum=5000)
    runs = []
    for _ in range(2):
        trace = io.StringIO()
        r = run_prog("sysbench", "cpu2", "200000", config=config, trace=trace)
        assert r.code == 0 and r.out.count("cpu2 child") == 2, r.err
        runs.append((r.out, trace.getvalue(), _strip(r.stats)))
    assert runs[0] == runs[1]
    _out, trace, _ = runs[0]
    pids = [json.loads(line)["pid"] for line in trace.splitlines()]
    turns = sum(a != b for a, b in itertools.pairwise(pids))
    assert set(pids) >= {3, 4} and turns >= 4  # both children (pid 2 is sysbench) faulted, taking turns
    ticks = [json.loads(line)["tick"] for line in trace.splitlines()]
    assert ticks == sorted(ticks) and ticks[-1] > 0


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="placement reads /proc/self/maps")
def test_the_block_hook_sits_within_a_direct_call_of_the_code_buffer() -> None:
    # Translated code calls the hook before every block: TCG makes that a direct call
    # only if the hook is within 2 GiB of every call site in the engine's code buffer.
    harts = [Hart(PhysMem(1 << 20)) for _ in range(3)]  # each engine has a buffer of its own
    mappings = executable_mappings()
    for hart in harts:
        buffer = hart.code_buffer
        assert buffer is not None and buffer in mappings
        start, end = buffer
        hook = hart.quanta.hook_address
        assert max(abs(hook - start), abs(end - hook)) < 1 << 31
    for hart in harts:
        hart.close()


@pytest.mark.parametrize(
    ("program", "args", "config"),
    [
        ("spin", ("300000",), Config(quantum=97)),  # thousands of quantum ends, alone
        ("sleeptest", (), Config(quantum=1000)),  # sleep(ticks) wake-ups while a child spins
        ("swaptest", ("3M", "plain"), Config(mem=1 << 20, swap=8 << 20, policy="aging")),  # sampling ticks
        ("swaptest", ("2M", "fork"), Config(mem=1 << 20, swap=8 << 20, policy="lru", quantum=3000)),
    ],
)
def test_going_past_quantum_ends_changes_nothing(program: str, args: tuple[str, ...], config: Config) -> None:
    # The block hook goes on past a quantum end only where the scheduler would just pick
    # the same process again. An observer of quanta makes every end a real stop: the two
    # runs must agree on everything but host time.
    machines: list[Machine] = []

    def ran(trace: io.StringIO | None) -> tuple[str, str, str]:
        out, err = io.BytesIO(), io.BytesIO()
        rep = run(program, list(args), config, stdout=out, stderr=err, trace=trace, check=True, _setup=machines.append)
        assert rep.stats["kernel_oopses"] == 0
        return out.getvalue().decode(), err.getvalue().decode(), _strip(rep.stats)

    assert ran(None) == ran(io.StringIO())
    passed, observed = (m.hart.quantum_ends_passed for m in machines)
    assert passed > 0 and observed == 0
