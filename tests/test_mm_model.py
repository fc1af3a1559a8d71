"""A hypothesis state machine over the address-space services: mmap (placed, MAP_FIXED,
shared or private, anonymous or of a file), mprotect, mremap, munmap, madvise(DONTNEED),
fork, exit and forced eviction to swap, against a model of each process's pages.

The model gives every mapped page a protection and a Cell, the page's contents. Private
pages get a cell of their own at fork (copy-on-write must look like a copy); shared pages
(MAP_SHARED anonymous memory inherited by fork, and every mapping of the file) share
one. After each step the kernel's regions must match the model's pages and protections,
frame and swap-slot reference counts must be exact, and at the end nothing has leaked
(free_end + cache == boot_free). Contents are compared byte for byte by the read rules.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from pagelab.hw.hart import A0, A1
from pagelab.hw.mmu import Access
from pagelab.hw.sv39 import PGSIZE
from pagelab.kernel import proc
from pagelab.kernel.abi.xv6.sysfile import sys_open
from pagelab.kernel.config import Config
from pagelab.kernel.invariants import check_invariants
from pagelab.kernel.machine import Machine
from pagelab.kernel.mm import vm
from pagelab.kernel.mm.madvise import MADV_DONTNEED, do_madvise
from pagelab.kernel.mm.mmap import do_mmap, do_munmap
from pagelab.kernel.mm.mprotect import do_mprotect
from pagelab.kernel.mm.mremap import MREMAP_MAYMOVE, do_mremap
from pagelab.kernel.mm.vma import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_PRIVATE,
    MAP_SHARED,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
)
from pagelab.kernel.proc import Proc
from pagelab.programs import bundled

P = PGSIZE
RW = PROT_READ | PROT_WRITE
BASE = 0x2000_0000  # the window where MAP_FIXED mappings go
WINDOW = 24  # pages
FILE_PAGES = 16
PROTS = st.sampled_from([PROT_NONE, PROT_READ, RW, RW])


@dataclass(eq=False)
class Cell:
    """One page's contents as the model knows them: its first 8 bytes (zero until
    written), and the file page it mirrors, if any."""

    data: bytes = bytes(8)


@dataclass
class Page:
    prot: int
    cell: Cell
    shared: bool
    file_page: int = -1  # the page of the file it maps, or -1 (anonymous)


@dataclass
class Model:
    pages: dict[int, Page] = field(default_factory=dict)  # va -> page


class MmMachine(RuleBasedStateMachine):
    @initialize(cow=st.booleans(), swap=st.booleans())
    def boot(self, cow: bool, swap: bool) -> None:
        self.dir = tempfile.TemporaryDirectory()
        root = Path(self.dir.name)
        (root / "f").write_bytes(bytes(FILE_PAGES * P))
        cfg = Config(mem=160 * P, swap=(512 * P if swap else 0), cow=cow)
        self.m = Machine(cfg, root, io.BytesIO(), io.BytesIO(), io.BytesIO(), bundled)
        image = bundled("spin")
        assert image is not None
        p = self.m.spawn(image, [b"spin"], "spin")
        assert p is not None
        self.procs: list[Proc] = [p]
        self.models: dict[int, Model] = {p.pid: Model()}
        self.file = [Cell() for _ in range(FILE_PAGES)]  # the file's pages, one cell each
        self._enter(p)
        buf = do_mmap(self.m, p, P, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        assert buf > 0 and vm.copyout(self.m.km, p.pagetable, buf, b"f\0", self._fault)
        self.m.hart.set_reg(A0, buf)
        self.m.hart.set_reg(A1, 2)  # O_RDWR
        self.fd = sys_open(self.m, p)
        assert isinstance(self.fd, int) and self.fd >= 0
        assert do_munmap(self.m, p, buf, P) == 0

    def _enter(self, p: Proc) -> None:
        self.m._load(p)
        self.m.current = p

    def _fault(self, va: int, access: Access) -> bool:
        return self.m.uaccess_fault(va, access)

    def _pick(self, i: int) -> tuple[Proc, Model]:
        p = self.procs[i % len(self.procs)]
        self._enter(p)
        return p, self.models[p.pid]

    # --- the services ------------------------------------------------------------------

    @rule(
        i=st.integers(0, 3),
        lo=st.integers(0, WINDOW - 1),
        n=st.integers(1, 6),
        prot=PROTS,
        kind=st.sampled_from(["private", "shared", "file"]),
        fixed=st.booleans(),
        off=st.integers(0, FILE_PAGES - 6),
    )
    def mmap(self, i: int, lo: int, n: int, prot: int, kind: str, fixed: bool, off: int) -> None:
        p, model = self._pick(i)
        flags = {"private": MAP_PRIVATE | MAP_ANONYMOUS, "shared": MAP_SHARED | MAP_ANONYMOUS, "file": MAP_SHARED}
        addr = BASE + lo * P
        fd = self.fd if kind == "file" else -1
        r = do_mmap(self.m, p, n * P, prot, flags[kind] | (MAP_FIXED if fixed else 0), fd, off * P, addr)
        if r < 0:
            assert p.vmas.count >= p.vmas.limit  # (no other failure is expected here)
            return
        assert r % P == 0 and (r == addr or not fixed)
        for k in range(n):
            va = r + k * P
            if kind == "file":
                model.pages[va] = Page(prot, self.file[off + k], True, off + k)
            else:
                model.pages[va] = Page(prot, Cell(), kind == "shared")

    @rule(i=st.integers(0, 3), lo=st.integers(0, WINDOW), n=st.integers(1, 8))
    def munmap(self, i: int, lo: int, n: int) -> None:
        p, model = self._pick(i)
        assert do_munmap(self.m, p, BASE + lo * P, n * P) == 0
        for k in range(n):
            model.pages.pop(BASE + (lo + k) * P, None)

    @rule(i=st.integers(0, 3), lo=st.integers(0, WINDOW), n=st.integers(1, 8), prot=PROTS)
    def mprotect(self, i: int, lo: int, n: int, prot: int) -> None:
        p, model = self._pick(i)
        vas = [BASE + (lo + k) * P for k in range(n)]
        r = do_mprotect(self.m, p, vas[0], n * P, prot)
        if not all(va in model.pages for va in vas):
            assert r < 0  # part of the range is not mapped: nothing changes
            return
        assert r == 0
        for va in vas:
            model.pages[va].prot = prot

    @rule(
        i=st.integers(0, 3),
        data=st.data(),
        old=st.integers(1, 4),
        new=st.integers(1, 8),
        evict=st.booleans(),
        fill=st.booleans(),
        block=st.booleans(),
    )
    def mremap(self, i: int, data: st.DataObject, old: int, new: int, evict: bool, fill: bool, block: bool) -> None:
        """Whatever the kernel decides (grow in place, move, shrink, or fail), the contents
        must follow the region: the model moves its pages the same way. The range starts
        at a mapped page and mostly stays in its region. With `fill` its pages are written
        first, and with `evict` pages go to swap, so that swap entries move too. With
        `block` a page is mapped right after the range if it is free, so that growing must
        move the region."""
        p, model = self._pick(i)
        addr = data.draw(st.sampled_from(sorted(model.pages) or [BASE]))
        v = p.vmas.find(addr)
        if v is not None and data.draw(st.booleans()):
            old = min(old, (v.end - addr) // P)  # inside its region: mremap can succeed
        if fill:
            for k in range(old):
                pg = model.pages.get(addr + k * P)
                if pg is not None and pg.prot & PROT_WRITE:
                    value = bytes([k + 1, i, old, new]) * 2
                    if vm.copyout(self.m.km, p.pagetable, addr + k * P, value, self._fault):
                        pg.cell.data = value
        if block and v is not None and addr + old * P == v.end and v.end not in model.pages:
            r = do_mmap(self.m, p, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0, v.end)
            if r > 0:
                model.pages[r] = Page(PROT_READ, Cell(), False)
        if evict:
            self.m.reclaim.shrink(150)
            self._enter(p)
        first = model.pages.get(addr)
        if first is not None and first.file_page + new > FILE_PAGES:
            return  # (keep file mappings inside the file: past EOF is another story)
        r = do_mremap(self.m, p, addr, old * P, new * P, MREMAP_MAYMOVE)
        if r < 0:
            return
        pages = [model.pages.pop(addr + k * P) for k in range(old)]
        assert v is not None
        for k in range(new):
            if k < old:
                model.pages[r + k * P] = pages[k]
            else:  # the grown tail: the region continued, untouched
                first = pages[0]
                if first.file_page >= 0:
                    fp = first.file_page + k
                    model.pages[r + k * P] = Page(first.prot, self.file[fp] if fp < FILE_PAGES else Cell(), True, fp)
                else:
                    model.pages[r + k * P] = Page(first.prot, Cell(), first.shared)
        self.read_all(i)  # where the contents went, at once

    @rule(i=st.integers(0, 3), lo=st.integers(0, WINDOW), n=st.integers(1, 6))
    def dontneed(self, i: int, lo: int, n: int) -> None:
        p, model = self._pick(i)
        do_madvise(self.m, p, BASE + lo * P, n * P, MADV_DONTNEED)
        for k in range(n):
            pg = model.pages.get(BASE + (lo + k) * P)
            if pg is not None and not pg.shared:
                pg.cell = Cell()  # private anonymous: zero-fill at the next touch

    # --- contents ---------------------------------------------------------------------

    @rule(i=st.integers(0, 3), data=st.data(), value=st.binary(min_size=8, max_size=8))
    def write(self, i: int, data: st.DataObject, value: bytes) -> None:
        p, model = self._pick(i)
        va = data.draw(st.sampled_from(sorted(model.pages) or [BASE]))
        ok = vm.copyout(self.m.km, p.pagetable, va, value, self._fault)
        pg = model.pages.get(va)
        if pg is None or not pg.prot & PROT_WRITE:
            assert not ok
            return
        if not ok:  # only when memory (and swap) ran out
            assert self.m.km.nfree == 0
            return
        pg.cell.data = value

    @rule(i=st.integers(0, 3))
    def read_all(self, i: int) -> None:
        p, model = self._pick(i)
        for va, pg in sorted(model.pages.items()):
            got = vm.copyin(self.m.km, p.pagetable, va, 8, self._fault)
            if pg.prot == PROT_NONE:
                assert got is None
            elif got is not None:
                assert got == pg.cell.data, (hex(va), pg)
            else:
                assert self.m.km.nfree == 0

    @rule(n=st.integers(1, 40))
    def evict(self, n: int) -> None:
        self.m.reclaim.shrink(n)

    # --- processes ----------------------------------------------------------------------

    @precondition(lambda self: len(self.procs) < 3)
    @rule(i=st.integers(0, 3))
    def fork(self, i: int) -> None:
        p, model = self._pick(i)
        pid = proc.fork(self.m, p)
        if pid < 0:
            return
        child = next(c for c in self.m.procs if c is not None and c.pid == pid)
        self.procs.append(child)
        self.models[pid] = Model(
            {  # a shared page keeps its cell (its contents), a private one gets a copy
                va: Page(pg.prot, pg.cell if pg.shared else Cell(pg.cell.data), pg.shared, pg.file_page)
                for va, pg in model.pages.items()
            }
        )

    @precondition(lambda self: len(self.procs) > 1)
    @rule(i=st.integers(1, 3))
    def exit(self, i: int) -> None:
        p = self.procs.pop(1 + i % (len(self.procs) - 1))
        self._enter(p)
        proc.exit_proc(self.m, p, 0)
        proc.freeproc(self.m, p)
        self.m.current = self.m.loaded = None

    # --- invariants ---------------------------------------------------------------------

    @invariant()
    def regions_match(self) -> None:
        if not hasattr(self, "m"):
            return
        for p in self.procs:
            model = self.models[p.pid]
            for k in range(WINDOW + 8):
                va = BASE + k * P
                v = p.vmas.find(va)
                pg = model.pages.get(va)
                assert (v is None) == (pg is None), hex(va)
                if v is not None and pg is not None:
                    assert v.prot == pg.prot and v.shared == pg.shared

    @invariant()
    def counts_exact(self) -> None:
        if hasattr(self, "m"):
            check_invariants(self.m, expect_empty=False)

    def teardown(self) -> None:
        if not hasattr(self, "m"):
            return
        for p in reversed(self.procs):  # children first
            if p in self.m.procs:
                self._enter(p)
                proc.exit_proc(self.m, p, 0)
                proc.freeproc(self.m, p)
        self.m.current = self.m.loaded = None
        check_invariants(self.m, expect_empty=True)  # free_end + cache == boot_free
        self.m.close()
        self.dir.cleanup()


TestMmMachine = MmMachine.TestCase
TestMmMachine.settings = settings(max_examples=30, stateful_step_count=40, deadline=None)
