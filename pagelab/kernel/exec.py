"""exec: replace a process's memory with a new program, as xv6's exec.c does.

The new image is built in a fresh page table and committed only when complete, so a bad
ELF leaves the old program running and exec returns -1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pagelab.hw.sv39 import MAXVA, PGSHIFT, PGSIZE, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X, pgrounddown, pgroundup
from pagelab.kernel.elf import PF_W, PF_X, ElfError, ElfImage, Segment, parse
from pagelab.kernel.events import ExecEvent
from pagelab.kernel.mm import vm
from pagelab.kernel.mm.kalloc import OutOfFrames
from pagelab.kernel.mm.vm import PTE_COW
from pagelab.kernel.param import MAXARG

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc


class ExecError(Exception):
    pass


def exec_image(m: Machine, p: Proc, data: bytes, argv: list[bytes], name: str) -> int:
    """Load ELF bytes into p with the xv6 layout; returns argc, or -1 with p unchanged."""
    if len(argv) > MAXARG:
        return -1
    try:
        elf = parse(data, MAXVA)
    except ElfError as e:
        m.log(f"exec {name}: {e}")
        return -1
    try:
        pagetable = vm.uvmcreate(m.km)
    except OutOfFrames:
        return -1
    sz = 0
    rss = 0
    try:
        _check_room(m, elf)
        for seg in elf.segments:
            rss += _load_segment(m, pagetable, data, seg)
            sz = max(sz, seg.vaddr + seg.memsz)
        # One guard page (no PTE_U), then one stack page, as xv6 lays them out.
        sz = pgroundup(sz)
        if vm.uvmalloc(m.km, pagetable, sz, sz + 2 * PGSIZE, PTE_W) is None:
            raise ExecError("out of memory")
        vm.uvmclear(m.km, pagetable, sz)
        rss += 1
        stack_base = sz + PGSIZE
        sz += 2 * PGSIZE
        sp, uargv = _push_args(m, pagetable, sz, stack_base, argv)
    except (ExecError, OutOfFrames) as e:
        m.log(f"exec {name}: {e or 'out of memory'}")
        vm.uvmfree(m.km, pagetable, sz)
        return -1
    # Commit: the old image goes away only now.
    old_pt, old_sz = p.pagetable, p.sz
    p.pagetable, p.sz, p.heap_base, p.stack_base = pagetable, sz, sz, stack_base
    p.rss = 0
    p.grow_rss(rss)
    p.name = name[:15]
    if old_pt:
        vm.uvmfree(m.km, old_pt, old_sz)
    m.hart.root = pagetable
    m.hart.flush_tlb()
    # Frames may have held other code before: drop Unicorn's translations of them.
    m.hart.flush_code()
    m.hart.fresh_context(elf.entry, sp, len(argv), uargv)
    if m.listeners:
        m.emit(ExecEvent(p.pid, p.name, pagetable, sz))
    return len(argv)


def _check_room(m: Machine, elf: ElfImage) -> None:
    """Refuse an image that cannot fit before spending time mapping it."""
    pages = sum((pgroundup(s.vaddr + s.memsz) - pgrounddown(s.vaddr)) >> PGSHIFT for s in elf.segments)
    if pages + pages // 512 + 8 > m.km.nfree and (not m.config.zero_page or pages // 512 + 8 > m.km.nfree):
        raise ExecError("image larger than memory")


def _perm(seg: Segment) -> int:
    # xv6's flags2perm, plus R always: every segment is readable.
    return PTE_R | PTE_U | (PTE_W if seg.flags & PF_W else 0) | (PTE_X if seg.flags & PF_X else 0)


def _load_segment(m: Machine, pagetable: int, data: bytes, seg: Segment) -> int:
    """Map one PT_LOAD segment page by page. Returns the number of private frames used.

    vaddr need not be page-aligned (lld output has vaddr = offset mod 4096), and two
    segments may share a page, so each page copies just the file bytes that fall in it.
    """
    km = m.km
    perm = _perm(seg)
    file_end = seg.vaddr + seg.filesz
    frames = 0
    va = pgrounddown(seg.vaddr)
    while va < seg.vaddr + seg.memsz:
        lo, hi = max(va, seg.vaddr), min(va + PGSIZE, file_end)
        pte_pa = vm.walk(km, pagetable, va, True)
        if pte_pa is None:
            raise ExecError("out of memory")
        pte = m.ram.read64(pte_pa)
        if pte & PTE_V and vm.pte2pa(pte) != m.zero_frame:
            pa = vm.pte2pa(pte)
            m.ram.write64(pte_pa, pte | perm)  # shared with the previous segment
        elif hi <= lo and m.config.zero_page and seg.flags & PF_W and not pte & PTE_V:
            # A pure BSS page: map the shared zero frame; the first store gets a frame.
            m.ram.write64(pte_pa, vm.pa2pte(m.zero_frame) | (perm & ~PTE_W) | PTE_COW | PTE_V)
            km.incref(m.zero_frame)
            va += PGSIZE
            continue
        else:
            if pte & PTE_V:
                km.kfree(m.zero_frame)  # replace a zero mapping with real bytes
            pa = km.kalloc()
            frames += 1
            m.ram.write64(pte_pa, vm.pa2pte(pa) | perm | PTE_V)
        if hi > lo:
            m.ram.write(pa + (lo - va), data[seg.offset + (lo - seg.vaddr) : seg.offset + (hi - seg.vaddr)])
        va += PGSIZE
    return frames


def _push_args(m: Machine, pagetable: int, sp: int, stack_base: int, argv: list[bytes]) -> tuple[int, int]:
    """Copy the argument strings and the argv array to the stack, 16-byte aligned."""
    ptrs = []
    for arg in argv:
        sp -= len(arg) + 1
        sp -= sp % 16
        if sp < stack_base or not vm.copyout(m.km, pagetable, sp, arg + b"\0"):
            raise ExecError("arguments too large")
        ptrs.append(sp)
    ptrs.append(0)
    sp -= len(ptrs) * 8
    sp -= sp % 16
    table = b"".join(x.to_bytes(8, "little") for x in ptrs)
    if sp < stack_base or not vm.copyout(m.km, pagetable, sp, table):
        raise ExecError("arguments too large")
    return sp, sp
