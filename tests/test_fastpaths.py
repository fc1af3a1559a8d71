"""The kernel's fast paths do exactly what the plain code they stand in for does."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pagelab.hw.ram import PhysMem
from pagelab.hw.sv39 import PGSIZE, PTE_R, PTE_U, PTE_V, PTE_W
from pagelab.kernel.config import Config
from pagelab.kernel.machine import Machine
from pagelab.kernel.mm import vm
from pagelab.kernel.mm.kalloc import Kalloc, OutOfFrames
from pagelab.kernel.param import NPROC
from pagelab.kernel.proc import Proc, State
from pagelab.programs import bundled

PAGES = 64
VA = 0x40_0000


def _unmapped(
    pages: list[int], zero: bool, few: int, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, list[int], list[int], list[int]]:
    """Map `pages` (a frame choice per page: 0 none, 1 a new frame, 2 the previous page's
    frame again, 3 a shared "zero" frame) and unmap them all with uvmunmap's small-run
    threshold at `few`. Returns everything the unmap could have changed."""
    monkeypatch.setattr(vm, "_FEW_FRAMES", few)
    km = Kalloc(PhysMem(PAGES * PGSIZE))
    shared = km.kalloc()
    root = vm.uvmcreate(km)
    last = -1
    for i, kind in enumerate(pages):
        if kind == 0 or (kind == 2 and last < 0):
            continue
        if kind == 1:
            pa = km.kalloc()
        else:
            pa = last if kind == 2 else shared
            km.incref(pa)
        last = pa
        assert vm.mappages(km, root, VA + i * PGSIZE, PGSIZE, pa, PTE_R | PTE_W | PTE_U)
    n = vm.uvmunmap(km, root, VA, len(pages), True, shared if zero else -1)
    leaf = vm.walk(km, root, VA, False)
    ptes = [km.ram.read64(leaf + 8 * i) for i in range(len(pages))] if leaf is not None else []
    order = []  # the free list's order, as the next allocations see it
    try:
        while True:
            order.append(km.kalloc())
    except OutOfFrames:
        pass
    return n, ptes, km.ref.tolist(), order


@settings(max_examples=150, deadline=None)
@given(pages=st.lists(st.integers(0, 3), min_size=1, max_size=32), zero=st.booleans())
def test_small_unmap_matches_the_numpy_path(pages: list[int], zero: bool) -> None:
    with pytest.MonkeyPatch.context() as mp:
        word_by_word = _unmapped(pages, zero, 32, mp)
        numpy_path = _unmapped(pages, zero, -1, mp)
    assert word_by_word == numpy_path
    assert all(pte & PTE_V == 0 for pte in word_by_word[1])


@pytest.fixture(scope="module")
def machine(tmp_path_factory: pytest.TempPathFactory) -> Machine:
    root: Path = tmp_path_factory.mktemp("root")
    return Machine(Config(mem=1 << 20), root, io.BytesIO(), io.BytesIO(), io.BytesIO(), bundled)


def _scan(procs: list[Proc | None], rr: int) -> tuple[Proc | None, int]:
    """The scheduler's pick as a plain scan of every slot from rr, wrapping around."""
    for i in range(NPROC):
        j = (rr + i) % NPROC
        p = procs[j]
        if p is not None and p.state == State.RUNNABLE:
            return p, j + 1
    return None, rr


@settings(max_examples=300, deadline=None)
@given(
    slots=st.lists(st.sampled_from([None, *State]), min_size=NPROC, max_size=NPROC),
    rr=st.integers(0, NPROC),
)
def test_pick_over_live_slots_is_the_round_robin_scan(machine: Machine, slots: list[State | None], rr: int) -> None:
    machine.procs = [None if s is None else Proc(pid=j + 1, state=s) for j, s in enumerate(slots)]
    machine.live_changed()
    machine._rr = rr
    want, want_rr = _scan(machine.procs, rr)
    assert machine._pick() is want
    assert machine._rr == want_rr


@settings(max_examples=200, deadline=None)
@given(
    chans=st.lists(st.integers(0, 2), min_size=1, max_size=12),
    killed=st.sets(st.integers(0, 11)),
    woken=st.lists(st.integers(0, 2), max_size=4),
)
def test_wakeup_over_sleepers_is_the_table_scan(
    machine: Machine, chans: list[int], killed: set[int], woken: list[int]
) -> None:
    """Processes sleep on three channels, some are killed (made runnable by kill, not by
    wakeup), then channels are woken: each wakeup makes runnable exactly the processes
    a scan of the whole table finds asleep on that channel, and every sleeper stays known."""
    from pagelab.kernel.proc import kill, sleep, wakeup

    channels = [object(), object(), object()]
    procs = [Proc(pid=j + 2, state=State.RUNNING) for j in range(len(chans))]
    machine.procs = [*procs, *[None] * (NPROC - len(procs))]
    machine.live_changed()
    machine.sleepers = []
    for p, c in zip(procs, chans, strict=True):
        sleep(machine, p, channels[c])
    for j in killed & set(range(len(procs))):
        kill(machine, procs[j].pid)
    for c in woken:
        asleep = {p.pid for p in procs if p.state == State.SLEEPING and p.chan is channels[c]}
        before = {p.pid: (p.state, p.chan) for p in procs}
        wakeup(machine, channels[c])
        for p in procs:
            if p.pid in asleep:
                assert p.state == State.RUNNABLE and p.chan is None
            else:
                assert (p.state, p.chan) == before[p.pid]
        assert {p.pid for p in procs if p.state == State.SLEEPING} <= {p.pid for p in machine.sleepers}
