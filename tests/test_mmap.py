"""mmap and munmap (issue 10): the guest matrix in every configuration, and the system
calls driven directly with bad arguments (-1, never a kill, never a leak)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_prog
from test_syscall import boot

from pagelab.hw.hart import A0, A1, A2, A3, A4, A5, A7, PC
from pagelab.hw.sv39 import PGSIZE
from pagelab.kernel import syscall
from pagelab.kernel.config import Config
from pagelab.kernel.invariants import check_invariants
from pagelab.kernel.machine import Machine
from pagelab.kernel.mm.mmap import MMAP_TOP
from pagelab.kernel.proc import Proc

CONFIGS = [Config(), Config.eager(), Config(cow=False), Config(zero_page=False), Config(demand=False)]
IDS = ["default", "eager", "no-cow", "no-zero-page", "no-demand"]
FAIL = 0xFFFFFFFFFFFFFFFF


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_mmaptest(config: Config) -> None:
    r = run_prog("mmaptest", config=config)
    assert "mmaptest OK" in r.out, r.out + r.err
    assert r.stats["faults"]["file"] > 0


def test_mappings_in_stats() -> None:
    r = run_prog("mmaptest")
    p = min((q for q in r.stats["processes"] if q["name"] == "mmaptest"), key=lambda q: q["pid"])
    kinds = [mp["kind"] for mp in p["mappings"]]
    assert kinds[:1] == ["text"] and "stack" in kinds and "heap" in kinds
    text = p["mappings"][0]
    assert text["prot"] == "r-x" and text["flags"] == "private" and text["file"] == "mmaptest"
    assert set(text) == {"start", "end", "prot", "flags", "file", "kind"}


@pytest.fixture
def mp(tmp_path: Path) -> Iterator[tuple[Machine, Proc]]:
    m, p = boot(tmp_path, Config(mem=8 << 20))
    (tmp_path / "f").write_bytes(b"x" * 5000)
    yield m, p
    check_invariants(m, expect_empty=False)
    m.close()


def call(m: Machine, p: Proc, num: int, *args: int) -> int:
    for reg, v in zip((A0, A1, A2, A3, A4, A5), args, strict=False):
        m.hart.set_reg(reg, v & 0xFFFFFFFFFFFFFFFF)
    m.hart.set_reg(A7, num)
    m.hart.set_reg(PC, 0x104)
    syscall.syscall(m, p, m.syscalls)
    return m.hart.reg(A0)


def open_file(m: Machine, p: Proc, mode: int) -> int:
    assert call(m, p, 11) == p.pid
    # put the path on the stack page and open it
    from pagelab.kernel.mm import vm

    assert vm.copyout(m.km, p.pagetable, p.stack_base, b"f\0")
    return call(m, p, 15, p.stack_base, mode)


def test_bad_arguments_fail_and_never_kill(mp: tuple[Machine, Proc]) -> None:
    m, p = mp
    fd = open_file(m, p, 0)  # O_RDONLY
    assert fd >= 0
    bad = [
        (0, PGSIZE, 1, 1, 99, 0),  # bad fd
        (0, PGSIZE, 1, 1, -1, 0),
        (0, PGSIZE, 1, 1, 1, 0),  # the console: no page cache
        (0, 0, 1, 1, fd, 0),  # length 0
        (0, -PGSIZE, 1, 1, fd, 0),  # huge length
        (0, MMAP_TOP, 1, 1, fd, 0),
        (0, PGSIZE, 1, 1, fd, 100),  # unaligned offset
        (0, PGSIZE, 8, 1, fd, 0),  # nonsense prot
        (0, PGSIZE, 1, 0, fd, 0),  # neither shared nor private
        (0, PGSIZE, 1, 3, fd, 0),  # both
        (0, PGSIZE, 1, 0x41, fd, 0),  # unknown flag
        (0, PGSIZE, 3, 1, fd, 0),  # shared + writable on a read-only fd
        (0, PGSIZE, 1, 1, fd, 1 << 63),  # offset beyond any file
    ]
    for args in bad:
        assert call(m, p, 22, *args) == FAIL, args
        assert not p.killed
    a = call(m, p, 22, 0, 3 * PGSIZE, 3, 2, fd, 0)  # private + writable on a read-only fd: fine
    assert a != FAIL and a % PGSIZE == 0 and a + 3 * PGSIZE <= MMAP_TOP
    assert call(m, p, 23, a + 1, PGSIZE) == FAIL  # unaligned
    assert call(m, p, 23, a, 0) == FAIL
    assert call(m, p, 23, 0, PGSIZE) == FAIL  # the text: not an mmap
    assert call(m, p, 23, a + PGSIZE, PGSIZE) == 0  # the middle
    assert call(m, p, 23, a, 3 * PGSIZE) == 0
    assert call(m, p, 23, a, 3 * PGSIZE) == 0  # nothing left there
    assert len([v for v in p.vmas if v.kind == "mmap"]) == 0


def test_heap_stops_below_the_mmaps(mp: tuple[Machine, Proc]) -> None:
    m, p = mp
    a = call(m, p, 22, 0, PGSIZE, 3, 0x22, -1, 0)  # anonymous private
    assert a != FAIL
    room = a - p.sz
    assert call(m, p, 12, min(room, 1 << 30)) != FAIL  # sbrk up to it is fine
    while p.sz + (1 << 30) < a:
        assert call(m, p, 12, 1 << 30) != FAIL
    assert call(m, p, 12, 1 << 30) == FAIL  # into the mmap: refused
    assert call(m, p, 23, a, PGSIZE) == 0
