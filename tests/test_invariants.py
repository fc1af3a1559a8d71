"""A hypothesis state machine drives fork, sbrk, touch and exit at the kernel's own level
and checks, after every step, that reference counts match the page tables, that no frame
is both free and mapped, and that each process sees exactly the bytes it wrote."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from pagelab.hw.hart import A0
from pagelab.hw.mmu import Access
from pagelab.hw.sv39 import PGSIZE, PTE_V, pte2pa
from pagelab.kernel import proc
from pagelab.kernel.abi.xv6.sysproc import sys_sbrk
from pagelab.kernel.config import Config
from pagelab.kernel.invariants import check_invariants
from pagelab.kernel.machine import Machine
from pagelab.kernel.mm import vm
from pagelab.kernel.proc import Proc
from pagelab.programs import bundled

MAX_PAGES = 8  # a small heap, so processes keep touching the same pages


class KernelMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.m: Machine | None = None
        self.live: list[Proc] = []
        self.model: dict[int, dict[int, int]] = {}  # pid -> heap page -> byte written
        self.counter = 0

    @initialize(lazy=st.booleans(), zero=st.booleans(), cow=st.booleans(), mem_pages=st.sampled_from([96, 160, 1024]))
    def boot(self, lazy: bool, zero: bool, cow: bool, mem_pages: int) -> None:
        cfg = Config(mem=mem_pages * PGSIZE, lazy=lazy, zero_page=zero, cow=cow)
        self.m = Machine(cfg, Path(self.tmp.name), io.BytesIO(), io.BytesIO(), io.BytesIO(), bundled)
        image, init = bundled("echo"), bundled("init")
        assert image is not None and init is not None
        assert self.m.boot_init(init) is not None  # orphans go to init, as in a real run
        p = self.m.spawn(image, [b"echo"], "echo")
        assert p is not None
        self.live = [p]
        self.model = {p.pid: {}}

    def _enter(self, p: Proc) -> Machine:
        m = self.m
        assert m is not None
        m._load(p)
        m.current = p
        return m

    def _kill(self, p: Proc) -> None:
        m = self._enter(p)
        proc.exit_proc(m, p, -1)
        proc.freeproc(m, p)  # as if the parent had waited
        self.live.remove(p)
        del self.model[p.pid]

    @precondition(lambda self: 0 < len(self.live) < 8)
    @rule(i=st.integers(0, 7))
    def fork(self, i: int) -> None:
        p = self.live[i % len(self.live)]
        m = self._enter(p)
        pid = proc.fork(m, p)
        if pid > 0:
            child = next(c for c in m.procs if c is not None and c.pid == pid)
            self.live.append(child)
            self.model[pid] = dict(self.model[p.pid])

    @precondition(lambda self: self.live)
    @rule(i=st.integers(0, 7), pages=st.integers(-4, 6))
    def sbrk(self, i: int, pages: int) -> None:
        p = self.live[i % len(self.live)]
        m = self._enter(p)
        heap = (p.sz - p.heap_base) // PGSIZE
        pages = max(pages, -heap)
        if heap + pages > MAX_PAGES:
            return
        m.hart.set_reg(A0, pages * PGSIZE)
        old = sys_sbrk(m, p)
        if old == -1:
            assert not m.config.lazy  # only eager growth can run out of memory
            return
        assert old == p.sz - pages * PGSIZE
        top = (p.sz - p.heap_base) // PGSIZE
        self.model[p.pid] = {k: v for k, v in self.model[p.pid].items() if k < top}

    @precondition(lambda self: self.live)
    @rule(i=st.integers(0, 7), page=st.integers(0, MAX_PAGES), write=st.booleans())
    def touch(self, i: int, page: int, write: bool) -> None:
        """A user access, made the way copyin/copyout make it: through the fault handler."""
        p = self.live[i % len(self.live)]
        m = self._enter(p)
        heap = (p.sz - p.heap_base) // PGSIZE
        if heap == 0:
            return
        page %= heap
        va = p.heap_base + page * PGSIZE
        access = Access.WRITE if write else Access.READ
        pa = vm.user_page(m.km, p.pagetable, va, access, m.uaccess_fault)
        if pa is None:
            assert p.oom  # the only way a heap access may fail
            self._kill(p)
            return
        if write:
            self.counter = self.counter % 255 + 1
            m.ram.write(pa, bytes([self.counter]))
            self.model[p.pid][page] = self.counter
            self._check_others_see_their_own(p, page)
        else:
            assert m.ram.read(pa, 1)[0] == self.model[p.pid].get(page, 0)

    def _check_others_see_their_own(self, writer: Proc, page: int) -> None:
        """A store must never show through in another process's copy of the page."""
        m = self.m
        assert m is not None
        for q in self.live:
            pte = vm.walkpte(m.km, q.pagetable, q.heap_base + page * PGSIZE) if q is not writer else 0
            if pte & PTE_V:
                assert m.ram.read(pte2pa(pte), 1)[0] == self.model[q.pid].get(page, 0)

    @precondition(lambda self: len(self.live) > 1)
    @rule(i=st.integers(0, 7))
    def exit(self, i: int) -> None:
        self._kill(self.live[1 + i % (len(self.live) - 1)])

    @invariant()
    def frames_consistent(self) -> None:
        if self.m is not None:
            check_invariants(self.m, expect_empty=False)

    def teardown(self) -> None:
        if self.m is not None:
            for p in list(reversed(self.live)):  # children before the first process
                self._kill(p)
            init = self.m.init
            assert init is not None and all(q in (None, init) for q in self.m.procs)
            proc.freeproc(self.m, init)
            check_invariants(self.m, expect_empty=True)
            self.m.close()
        self.tmp.cleanup()


KernelMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestKernelInvariants = KernelMachine.TestCase
