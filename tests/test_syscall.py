"""System-call argument validation, at the kernel level: bad pointers, lengths and numbers
give -1, never a host exception, and leave memory consistent."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from pagelab.hw.hart import A0, A1, A2, A7, PC
from pagelab.hw.sv39 import MAXVA, PGSIZE
from pagelab.kernel import syscall
from pagelab.kernel.config import Config
from pagelab.kernel.invariants import check_invariants
from pagelab.kernel.machine import Machine
from pagelab.kernel.proc import Proc
from pagelab.kernel.syscall import argaddr, argint
from pagelab.programs import bundled

WILD = [0xDEADBEEF000, MAXVA - 8, MAXVA, 1 << 63, 0xFFFFFFFFFFFFFFFF, -1]  # -1: the stack guard page


def boot(root: Path, config: Config) -> tuple[Machine, Proc]:
    """A machine whose first process is on the hart, as if it had just made an ecall."""
    m = Machine(config, root, io.BytesIO(b"input" * 10), io.BytesIO(), io.BytesIO(), bundled)
    image = bundled("echo")
    assert image is not None
    p = m.spawn(image, [b"echo"], "echo")
    assert p is not None
    m._load(p)
    m.current = p
    return m, p


@pytest.fixture
def mp(tmp_path: Path) -> Iterator[tuple[Machine, Proc]]:
    m, p = boot(tmp_path, Config(mem=8 << 20))
    yield m, p
    check_invariants(m, expect_empty=False)
    m.close()


def call(m: Machine, p: Proc, num: int, *args: int) -> int:
    for reg, v in zip((A0, A1, A2), args, strict=False):
        m.hart.set_reg(reg, v)
    m.hart.set_reg(A7, num)
    m.hart.set_reg(PC, 0x104)  # as if just past an ecall
    syscall.syscall(m, p, m.syscalls)
    v = m.hart.reg(A0)
    return v - (1 << 64) if v >> 63 else v


def test_argint_is_32_bit_signed(mp: tuple[Machine, Proc]) -> None:
    m, _ = mp
    m.hart.set_reg(A0, 0xFFFFFFFF)
    assert argint(m, 0) == -1
    m.hart.set_reg(A0, 0x1_0000_0005)
    assert argint(m, 0) == 5
    m.hart.set_reg(A0, -(1 << 30))
    assert argint(m, 0) == -(1 << 30) and argaddr(m, 0) == (1 << 64) - (1 << 30)


@pytest.mark.parametrize("addr", WILD)
def test_write_and_read_with_wild_pointers(mp: tuple[Machine, Proc], addr: int) -> None:
    m, p = mp
    addr = p.stack_base - PGSIZE if addr == -1 else addr
    assert call(m, p, 16, 1, addr, 10) == -1  # write
    assert call(m, p, 5, 0, addr, 10) == -1  # read


@pytest.mark.parametrize("addr", WILD)
def test_pointer_arguments(mp: tuple[Machine, Proc], addr: int) -> None:
    m, p = mp
    addr = p.stack_base - PGSIZE if addr == -1 else addr
    assert call(m, p, 7, addr, 0) == -1  # exec: bad path
    assert call(m, p, 15, addr, 0) == -1  # open: bad path
    assert call(m, p, 4, addr) == -1  # pipe: bad fd array
    assert call(m, p, 8, 1, addr) == -1  # fstat: bad stat buffer


def test_exec_with_bad_argv_keeps_the_old_image(mp: tuple[Machine, Proc]) -> None:
    m, p = mp
    sz, pt = p.sz, p.pagetable
    stack = p.stack_base
    from pagelab.kernel.syscall import copyout

    assert copyout(m, p, stack, b"/echo\0")
    assert call(m, p, 7, stack, 0xDEADBEEF000) == -1  # argv unreadable
    assert copyout(m, p, stack + 64, (0xDEADBEEF000).to_bytes(8, "little") + bytes(8))
    assert call(m, p, 7, stack, stack + 64) == -1  # argv[0] unreadable
    assert call(m, p, 7, stack + 8, 0) == -1  # path is "" after the copy: no such file
    assert (p.sz, p.pagetable) == (sz, pt)


def test_bad_numbers_and_counts(mp: tuple[Machine, Proc]) -> None:
    m, p = mp
    assert call(m, p, 99) == -1
    assert call(m, p, 0) == -1
    assert call(m, p, 16, 1, p.stack_base, -5) == -1  # negative count
    assert call(m, p, 16, 99, p.stack_base, 1) == -1  # bad fd
    assert call(m, p, 16, -1, p.stack_base, 1) == -1
    assert call(m, p, 6, 12345) == -1  # kill: no such pid
    assert call(m, p, 3, 0) == -1  # wait: no children


def test_sbrk_limits(mp: tuple[Machine, Proc]) -> None:
    m, p = mp
    sz = p.sz
    assert call(m, p, 12, -PGSIZE) == -1  # below the heap: into the stack
    assert p.sz == sz
    assert call(m, p, 12, 0x7FFFFFFF) == sz  # lazily, beyond RAM is fine
    assert call(m, p, 12, -0x7FFFFFFF) == sz + 0x7FFFFFFF
    assert p.sz == sz


def test_sbrk_eager_out_of_memory_changes_nothing(tmp_path: Path) -> None:
    m, p = boot(tmp_path, Config.eager(mem=4 << 20))
    # (Frames only the page cache holds count as free: kalloc reclaims them when short.)
    free, sz = m.km.nfree + m.pagecache.cache_only_frames(), p.sz
    assert call(m, p, 12, 8 << 20) == -1
    assert p.sz == sz
    # Every frame comes back, except page-table pages now in the table (as in xv6).
    assert free - 4 <= m.km.nfree + m.pagecache.cache_only_frames() <= free
    check_invariants(m, expect_empty=False)


def test_sbrk_address_limit(mp: tuple[Machine, Proc]) -> None:
    m, p = mp
    # Walk the break up toward MAXVA in 2 GiB steps; it must stop short, with -1.
    results = [call(m, p, 12, 0x7FFFF000) for _ in range(130)]
    assert results[-1] == -1 and p.sz < MAXVA
