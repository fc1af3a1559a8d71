"""Hypothesis throws bad input at the kernel: random system calls with hostile arguments,
and corrupted ELF files. Nothing may raise on the host, every error is -1 or a killed
process, and the memory invariants hold afterwards."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pagelab.api import UsageError, check_elf
from pagelab.hw.hart import A0, A1, A2, A3, A4, A5, A7, PC
from pagelab.hw.sv39 import MAXVA, PGSIZE
from pagelab.kernel.config import Config
from pagelab.kernel.exec import exec_bytes
from pagelab.kernel.invariants import check_invariants
from pagelab.kernel.machine import Machine
from pagelab.kernel.proc import State
from pagelab.kernel.syscall import syscall
from pagelab.programs import bundled

ECHO = bundled("echo") or b""
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Values that break careless code: signs, widths, page edges, the top of user space.
hostile = st.one_of(
    st.sampled_from([0, 1, 2, 3, -1, 15, 16, 17, 0x7FFFFFFF, -0x80000000, 0xFFFFFFFF, 1 << 32, PGSIZE - 1]),
    st.sampled_from([MAXVA - 1, MAXVA, MAXVA + PGSIZE, 1 << 63, (1 << 64) - 1, 0xDEADBEEF000]),
    st.integers(0, 0x8000),  # the program's own low pages: text, data, guard, stack
    st.integers(-(1 << 63), (1 << 64) - 1),
)


def boot(root: Path) -> Machine:
    m = Machine(Config(mem=4 << 20), root, io.BytesIO(b"some input\n"), io.BytesIO(), io.BytesIO(), bundled)
    p = m.spawn(ECHO, [b"echo"], "echo")
    assert p is not None
    m._load(p)
    m.current = p
    return m


@FUZZ
@given(
    calls=st.lists(st.tuples(st.integers(0, 25), st.lists(hostile, min_size=6, max_size=6)), min_size=1, max_size=12)
)
def test_random_syscalls_never_hurt_the_host(calls: list[tuple[int, list[int]]]) -> None:
    with tempfile.TemporaryDirectory() as d:
        m = boot(Path(d))
        p = m.current
        assert p is not None
        for num, args in calls:
            if p.state == State.ZOMBIE:
                break
            for reg, v in zip((A0, A1, A2, A3, A4, A5), args, strict=True):
                m.hart.set_reg(reg, v)
            m.hart.set_reg(A7, num)
            m.hart.set_reg(PC, 0x1004)
            syscall(m, p, m.syscalls)
            assert m.oopses == 0
            if p.state == State.SLEEPING:
                break  # it would wait for another process: nothing more to call
        check_invariants(m, expect_empty=False)
        m._shutdown()
        check_invariants(m, expect_empty=True)
        m.close()


@FUZZ
@given(
    edits=st.lists(st.tuples(st.integers(0, len(ECHO) - 1), st.integers(0, 255)), min_size=1, max_size=8),
    cut=st.integers(0, len(ECHO)),
)
def test_corrupt_elf_is_refused_or_loaded_never_a_crash(edits: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(ECHO)
    for off, byte in edits:
        data[off] = byte
    image = bytes(data[: max(cut, 64)])
    with contextlib.suppress(UsageError):  # refusing is fine; any other exception is not
        check_elf(image, "fuzz")
    with tempfile.TemporaryDirectory() as d:
        m = boot(Path(d))
        p = m.current
        assert p is not None
        before = (p.pagetable, p.sz)
        if exec_bytes(m, p, image, [b"x"], "x") < 0:
            assert (p.pagetable, p.sz) == before  # the old image is kept
        check_invariants(m, expect_empty=False)
        m._shutdown()
        check_invariants(m, expect_empty=True)
        m.close()
