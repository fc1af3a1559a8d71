"""exec: replace a process's memory with a new program, as xv6's exec.c does, but with
regions (VMAs) as Linux's binfmt_elf builds them.

exec turns each PT_LOAD program header into regions: text, rodata, data (the file's
bytes) and bss (zeros). With demand paging (the default) it reads no page at all: each
page arrives at its first fault. With --no-demand every file page is copied in now, as
stock xv6 does.

The new image is built aside, in a fresh page table with its own regions, and committed
only when complete. Any failure (a bad ELF, no memory) frees all of it, leaves the old
program running, and exec returns -1.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from pagelab.hw.sv39 import MAXVA, PGSIZE, PTE_V, PTE_W, pgrounddown, pgroundup
from pagelab.kernel.elf import PF_W, PF_X, ElfError, ElfImage, Segment, parse
from pagelab.kernel.events import ExecEvent
from pagelab.kernel.mm import vm
from pagelab.kernel.mm.fault import pte_perm
from pagelab.kernel.mm.kalloc import OutOfFrames
from pagelab.kernel.mm.mmap import free_image, new_vmas
from pagelab.kernel.mm.vma import MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE, Piece, Vma, VmaList
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
        m.log(f"exec {name}: out of memory")
        return -1
    vmas = new_vmas(m)
    sz = 0
    rss = 0
    try:
        for v in image_vmas(elf):
            vmas.insert(v)
        sz = pgroundup(max(s.vaddr + s.memsz for s in elf.segments))
        if sz + 3 * PGSIZE > MAXVA:
            raise ExecError("no room for the stack")
        eager = _eager_pages(m, vmas)
        if eager + eager // 512 + 3 * len(vmas) + 8 > m.km.nfree:
            raise ExecError("image larger than memory")  # refuse before spending time on it
        for v in eager_regions(m, vmas):
            rss += _prefault(m, pagetable, v, data)
        # One guard page (no PTE_U, no region), then one stack page, as xv6 lays them out.
        if vm.uvmalloc(m.km, pagetable, sz, sz + 2 * PGSIZE, PTE_W) is None:
            raise ExecError("out of memory")
        vm.uvmclear(m.km, pagetable, sz)
        rss += 1
        stack_base = sz + PGSIZE
        sz += 2 * PGSIZE
        vmas.insert(Vma(stack_base, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE, "stack"))
        heap = Vma(sz, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE, "heap")  # empty until sbrk
        sp, uargv = _push_args(m, pagetable, sz, stack_base, argv)
    except (ExecError, OutOfFrames) as e:
        m.log(f"exec {name}: {e or 'out of memory'}")
        free_image(m, pagetable, vmas, sz)
        return -1
    vmas.insert(heap)
    # Commit: the old image goes away only now.
    if p.pagetable:
        free_image(m, p.pagetable, p.vmas, p.sz)
    p.pagetable, p.vmas, p.heap = pagetable, vmas, heap
    p.sz, p.heap_base, p.stack_base = sz, sz, stack_base
    p.rss = 0
    p.grow_rss(rss)
    p.name = name[:15]
    m.hart.root = pagetable
    m.hart.flush_tlb()
    m.hart.fresh_context(elf.entry, sp, len(argv), uargv)
    if m.listeners:
        m.emit(ExecEvent(p.pid, p.name, pagetable, sz))
    return len(argv)


# --- program headers to regions ------------------------------------------------------


def _prot(seg: Segment) -> int:
    # xv6's flags2perm, plus R always: every segment is readable.
    return PROT_READ | (PROT_WRITE if seg.flags & PF_W else 0) | (PROT_EXEC if seg.flags & PF_X else 0)


def _kind(seg: Segment) -> str:
    return "text" if seg.flags & PF_X else "data" if seg.flags & PF_W else "rodata"


def _claims(k: int, s: Segment) -> list[tuple[int, int, int, str]]:
    """The pages segment k wants, as (lo, hi, k, how): `file` pages map the file page
    of the same offset, `own` pages are private and assembled from the file bytes, `bss`
    pages are zero. A page with both the last file bytes and BSS is `own`; so is every
    page of a segment whose vaddr and offset differ modulo the page size."""
    start, file_end, end = pgrounddown(s.vaddr), s.vaddr + s.filesz, pgroundup(s.vaddr + s.memsz)
    if s.filesz == 0:
        return [(start, end, k, "bss")]
    out = []
    mixed = file_end % PGSIZE != 0 and s.memsz > s.filesz
    file_hi = pgrounddown(file_end) if mixed else pgroundup(file_end)
    how = "file" if (s.vaddr - s.offset) % PGSIZE == 0 else "own"
    if start < file_hi:
        out.append((start, file_hi, k, how))
    if mixed:
        out.append((file_hi, file_hi + PGSIZE, k, "own"))
    if pgroundup(file_end) < end:
        out.append((pgroundup(file_end), end, k, "bss"))
    return out


def image_vmas(elf: ElfImage) -> list[Vma]:
    """The regions of an ELF image, sorted and disjoint.

    Segments need not be page-aligned (lld puts vaddr = offset mod 4096), so a page may
    hold the end of one segment and the start of the next. Such a page becomes a private
    region of its own, assembled from both segments' file bytes, with the union of their
    permissions (Linux would give it the second segment's).
    """
    segs = elf.segments
    claims = [c for k, s in enumerate(segs) for c in _claims(k, s)]
    cuts = sorted({c[0] for c in claims} | {c[1] for c in claims})
    out: list[Vma] = []
    for lo, hi in itertools.pairwise(cuts):
        over = [c for c in claims if c[0] <= lo and hi <= c[1]]
        if not over:
            continue
        if len(over) == 1:
            _, _, k, how = over[0]
            s = segs[k]
            if how == "bss":
                v = Vma(lo, hi, _prot(s), MAP_PRIVATE, "bss")
            elif how == "file":
                v = Vma(lo, hi, _prot(s), MAP_PRIVATE, _kind(s), offset=s.offset + (lo - s.vaddr))
            else:
                v = Vma(lo, hi, _prot(s), MAP_PRIVATE, _kind(s), pieces=(Piece(s.vaddr, file_end(s), s.offset),))
        else:  # several segments share these pages: later segments' bytes win, as xv6's loop
            ks = sorted({c[2] for c in over})
            prot = 0
            for k in ks:
                prot |= _prot(segs[k])
            pieces = tuple(Piece(segs[k].vaddr, file_end(segs[k]), segs[k].offset) for k in ks if segs[k].filesz)
            kind = "data" if prot & PROT_WRITE else _kind(segs[ks[0]])
            v = Vma(lo, hi, prot, MAP_PRIVATE, kind, pieces=pieces)
        if out and out[-1].end == lo and _continues(out[-1], v):
            out[-1].end = hi
        else:
            out.append(v)
    return out


def file_end(s: Segment) -> int:
    return s.vaddr + s.filesz


def _continues(a: Vma, b: Vma) -> bool:
    return (a.prot, a.kind, a.pieces, a.file_offset(b.start)) == (b.prot, b.kind, b.pieces, b.offset)


# --- loading pages now (--no-demand, and BSS without the zero page) -----------------


def eager_regions(m: Machine, vmas: VmaList) -> list[Vma]:
    """The regions exec fills at once: file pages without demand paging, and BSS when
    read faults could not share the zero page anyway (stock xv6 allocates it)."""
    return [
        v
        for v in vmas
        if (v.kind != "bss" and not demand_ready(m))
        or (v.kind == "bss" and not m.config.zero_page and not m.config.demand)
    ]


def demand_ready(m: Machine) -> bool:
    """Demand paging of file pages needs the page cache, which is not here yet."""
    return False


def _eager_pages(m: Machine, vmas: VmaList) -> int:
    return sum(v.pages() for v in eager_regions(m, vmas))


def _prefault(m: Machine, pagetable: int, v: Vma, data: bytes) -> int:
    """Give every page of v a private frame holding its bytes. Returns the frames used."""
    km = m.km
    perm = pte_perm(v.prot) | PTE_V
    for va in range(v.start, v.end, PGSIZE):
        pte_pa = vm.walk(km, pagetable, va, True)
        if pte_pa is None:
            raise ExecError("out of memory")
        pa = km.kalloc()
        km.ram.write64(pte_pa, vm.pa2pte(pa) | perm)
        if v.kind != "bss":
            for lo, chunk in page_bytes(v, va, data):
                km.ram.write(pa + (lo - va), chunk)
    return v.pages()


def page_bytes(v: Vma, va: int, data: bytes) -> list[tuple[int, bytes]]:
    """The file bytes of page va of region v, as (address, bytes) runs; the rest is zero."""
    if not v.pieces:
        off = v.file_offset(va)
        return [(va, data[off : off + PGSIZE])]
    out = []
    for pc in v.pieces:
        lo, hi = max(va, pc.lo), min(va + PGSIZE, pc.hi)
        if lo < hi:
            out.append((lo, data[pc.offset + (lo - pc.lo) : pc.offset + (hi - pc.lo)]))
    return out


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
