"""A hypothesis state machine for swap: processes write, read, fork, shrink and exit while
eviction is forced at random points. They also share a MAP_SHARED|MAP_ANONYMOUS region
(made and touched by the first process, inherited by fork), which goes through the swap
cache: a store by any process reads back in all of them. After every step the reference counts of frames and
swap slots are exact, and every byte reads back as a simple model says; at the end no frame
and no slot has leaked."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from pagelab.hw.hart import A0
from pagelab.hw.mmu import Access
from pagelab.hw.sv39 import PGSIZE
from pagelab.kernel import proc
from pagelab.kernel.abi.xv6.sysproc import sys_sbrk
from pagelab.kernel.config import Config
from pagelab.kernel.invariants import check_invariants
from pagelab.kernel.machine import Machine
from pagelab.kernel.mm import vm
from pagelab.kernel.mm.mmap import do_mmap, do_munmap
from pagelab.kernel.mm.vma import MAP_ANONYMOUS, MAP_SHARED, PROT_READ, PROT_WRITE
from pagelab.kernel.proc import Proc
from pagelab.programs import bundled

PAGES = 40  # heap pages per process; RAM is 96 frames, so two or three processes overflow it
SHARED = 16  # pages of the shared anonymous region


class SwapMachine(RuleBasedStateMachine):
    @initialize(policy=st.sampled_from(["clock", "fifo", "lru", "random", "aging"]), cow=st.booleans())
    def boot(self, policy: str, cow: bool) -> None:
        self.dir = tempfile.TemporaryDirectory()
        cfg = Config(mem=96 * PGSIZE, swap=512 * PGSIZE, policy=policy, cow=cow)
        self.m = Machine(cfg, Path(self.dir.name), io.BytesIO(), io.BytesIO(), io.BytesIO(), bundled)
        image = bundled("spin")
        assert image is not None
        p = self.m.spawn(image, [b"spin"], "spin")
        assert p is not None
        self.procs: list[Proc] = [p]
        self.model: dict[int, dict[int, bytes]] = {p.pid: {}}  # pid -> page -> its first 8 bytes
        self.base: dict[int, int] = {}
        self._enter(p)
        self.base[p.pid] = self._sbrk(p, PAGES * PGSIZE)
        assert self.base[p.pid] > 0
        self.shm = do_mmap(self.m, p, SHARED * PGSIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
        assert self.shm > 0
        self.shared: dict[int, bytes] = {}  # page -> its first 8 bytes, the same for all
        self.sharing = {p.pid}  # the processes that map the region
        for page in range(SHARED):  # touched before any fork: every page is shared
            self.write_shared(0, page, bytes([page + 1]) * 8)

    def _enter(self, p: Proc) -> None:
        self.m._load(p)
        self.m.current = p

    def _sbrk(self, p: Proc, n: int) -> int:
        self._enter(p)
        self.m.hart.set_reg(A0, n & 0xFFFFFFFF)
        return sys_sbrk(self.m, p)

    def _fault(self, va: int, access: Access) -> bool:
        return self.m.uaccess_fault(va, access)

    @rule(i=st.integers(0, 7), page=st.integers(0, PAGES - 1), value=st.binary(min_size=8, max_size=8))
    def write(self, i: int, page: int, value: bytes) -> None:
        p = self.procs[i % len(self.procs)]
        self._enter(p)
        if vm.copyout(self.m.km, p.pagetable, self.base[p.pid] + page * PGSIZE, value, self._fault):
            self.model[p.pid][page] = value
        else:  # only when memory and swap are both full
            assert self.m.km.nfree == 0

    @rule(i=st.integers(0, 7), page=st.integers(0, PAGES - 1))
    def read(self, i: int, page: int) -> None:
        p = self.procs[i % len(self.procs)]
        self._enter(p)
        got = vm.copyin(self.m.km, p.pagetable, self.base[p.pid] + page * PGSIZE, 8, self._fault)
        if got is not None:
            assert got == self.model[p.pid].get(page, bytes(8))

    @rule(i=st.integers(0, 7), page=st.integers(0, SHARED - 1), value=st.binary(min_size=8, max_size=8))
    def write_shared(self, i: int, page: int, value: bytes) -> None:
        p = self.procs[i % len(self.procs)]
        if p.pid not in self.sharing:
            return
        self._enter(p)
        if vm.copyout(self.m.km, p.pagetable, self.shm + page * PGSIZE, value, self._fault):
            self.shared[page] = value
        else:
            assert self.m.km.nfree == 0

    @rule(i=st.integers(0, 7), page=st.integers(0, SHARED - 1))
    def read_shared(self, i: int, page: int) -> None:
        p = self.procs[i % len(self.procs)]
        if p.pid not in self.sharing:
            return
        self._enter(p)
        got = vm.copyin(self.m.km, p.pagetable, self.shm + page * PGSIZE, 8, self._fault)
        if got is not None:
            assert got == self.shared.get(page, bytes(8))

    @rule(i=st.integers(0, 7))
    def check_shared(self, i: int) -> None:
        for page in range(SHARED):
            self.read_shared(i, page)

    @rule(i=st.integers(0, 7), page=st.integers(0, SHARED - 1), pages=st.integers(1, 4))
    def unmap_shared(self, i: int, page: int, pages: int) -> None:
        """One process unmaps part of the region (then all of it, to keep the model
        simple): pages it swapped in stay in the swap cache for the others."""
        p = self.procs[i % len(self.procs)]
        if p.pid not in self.sharing or len(self.sharing) < 2:
            return
        self._enter(p)
        n = min(pages, SHARED - page)
        assert do_munmap(self.m, p, self.shm + page * PGSIZE, n * PGSIZE) == 0
        assert do_munmap(self.m, p, self.shm, SHARED * PGSIZE) == 0
        self.sharing.discard(p.pid)

    @rule(i=st.integers(0, 7), value=st.binary(min_size=8, max_size=8))
    def fill(self, i: int, value: bytes) -> None:
        """Write every page: more pages than fit, so this evicts as it goes."""
        for page in range(PAGES):
            self.write(i, page, value[page % 8 :] + value[: page % 8])

    @rule(i=st.integers(0, 7))
    def check_all(self, i: int) -> None:
        """Read every page back: swapped-out pages come in, others go out."""
        for page in range(PAGES):
            self.read(i, page)

    @rule(n=st.integers(1, 40))
    def evict(self, n: int) -> None:
        self.m.reclaim.shrink(n)  # forced: as if kalloc had found no free frame

    @precondition(lambda self: len(self.procs) < 4)
    @rule(i=st.integers(0, 7))
    def fork(self, i: int) -> None:
        p = self.procs[i % len(self.procs)]
        self._enter(p)
        pid = proc.fork(self.m, p)
        if pid < 0:
            return
        child = next(c for c in self.m.procs if c is not None and c.pid == pid)
        self.procs.append(child)
        self.model[pid] = dict(self.model[p.pid])
        self.base[pid] = self.base[p.pid]
        if p.pid in self.sharing:
            self.sharing.add(pid)

    @precondition(lambda self: len(self.procs) > 1)
    @rule(i=st.integers(1, 7))
    def exit(self, i: int) -> None:
        p = self.procs.pop(1 + i % (len(self.procs) - 1))
        self.sharing.discard(p.pid)
        self._enter(p)
        proc.exit_proc(self.m, p, 0)
        proc.freeproc(self.m, p)
        self.m.current = None
        self.m.loaded = None

    @rule(i=st.integers(0, 7), pages=st.integers(1, 8))
    def shrink_heap(self, i: int, pages: int) -> None:
        p = self.procs[i % len(self.procs)]
        self._sbrk(p, -pages * PGSIZE)
        self._sbrk(p, pages * PGSIZE)  # grow back: those pages read as zero again
        for page in range(PAGES - pages, PAGES):
            self.model[p.pid].pop(page, None)

    @invariant()
    def counts_exact(self) -> None:
        if hasattr(self, "m"):
            check_invariants(self.m, expect_empty=False)

    def teardown(self) -> None:
        if not hasattr(self, "m"):
            return
        for p in reversed(self.procs):  # children first
            if p in self.m.procs:
                self.m.current = p
                proc.exit_proc(self.m, p, 0)
                proc.freeproc(self.m, p)
        self.m.current = self.m.loaded = None
        check_invariants(self.m, expect_empty=True)
        assert self.m.reclaim.swap is not None and self.m.reclaim.swap.used == 0
        self.m.close()
        self.dir.cleanup()


TestSwapMachine = SwapMachine.TestCase
TestSwapMachine.settings = settings(max_examples=30, stateful_step_count=60, deadline=None)
