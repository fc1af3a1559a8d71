"""exec: replace a process's memory with a new program, as xv6's exec.c does, but with
regions (VMAs) as Linux's binfmt_elf builds them.

exec turns each PT_LOAD program header into regions: text, rodata, data (the file's
bytes, through the page cache) and bss (zeros). With demand paging (the default) it
reads only the headers: each page arrives at its first fault (mm/fault.py,
do_file_page). With --no-demand every page is copied in now, as stock xv6 does.

The new image is built aside, in a fresh page table with its own regions, and committed
only when complete. Any failure (a bad ELF, no memory) frees all of it, leaves the old
program running, and exec returns -1.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from pagelab.hw.sv39 import MAXVA, PGSIZE, PTE_V, PTE_W, pgrounddown, pgroundup
from pagelab.kernel.binfmt import ExecError, Image, Layout
from pagelab.kernel.elf import DYN_BASE, ELFOSABI_GNU, ET_DYN, PF_W, PF_X, ElfError, ElfImage, Segment, parse_from
from pagelab.kernel.events import ExecEvent
from pagelab.kernel.fs import O_RDONLY, T_FILE
from pagelab.kernel.mm import vm
from pagelab.kernel.mm.fault import fill_private, pte_perm
from pagelab.kernel.mm.kalloc import OutOfFrames
from pagelab.kernel.mm.mmap import free_image, new_vmas
from pagelab.kernel.mm.vma import MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE, Piece, Vma, VmaList

if TYPE_CHECKING:
    from pagelab.kernel.abi import Abi
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.mm.filemap import AddressSpace
    from pagelab.kernel.proc import Proc


def open_exec(m: Machine, cwd: str, path: bytes) -> AddressSpace | None:
    """The page cache of the file exec() wants to run (one reference, for the caller to
    put), or None. A name directly in `/` that does not exist there is a bundled program,
    served from its bytes."""
    ip = m.fs.open(cwd, path, O_RDONLY)
    if ip is None:
        data = m.fs.read_exec(cwd, path)
        if data is None:
            return None
        return m.pagecache.mapping_for_bytes(("bundled", path.rsplit(b"/", 1)[-1].decode(errors="replace")), data)
    try:
        return m.pagecache.mapping_for(ip) if ip.type == T_FILE else None
    except OSError:
        return None
    finally:
        m.fs.close(ip)


def exec_bytes(
    m: Machine, p: Proc, data: bytes, argv: list[bytes], name: str, envp: list[bytes] | None = None, abi: str = ""
) -> int:
    """exec_image of a program held in memory (the first process, tests): its pages are
    served by the page cache from these bytes."""
    a = m.pagecache.mapping_for_bytes(("program", name), data)
    try:
        return exec_image(m, p, a, argv, name, envp, abi)
    finally:
        m.pagecache.put(a)  # the image's regions hold their own references


def detect_abi(elf: ElfImage) -> str:
    """The personality an ELF file was built for. Every Linux binary seen (zig/musl,
    Debian glibc-static) has PT_PHDR, PT_TLS or EI_OSABI 3 (GNU); xv6 programs have none
    of these (PT_GNU_STACK does not tell them apart)."""
    return "linux" if elf.phdr is not None or elf.tls or elf.osabi == ELFOSABI_GNU else "xv6"


def exec_image(
    m: Machine,
    p: Proc,
    a: AddressSpace,
    argv: list[bytes],
    name: str,
    envp: list[bytes] | None = None,
    abi: str = "",
    execfn: bytes = b"",
) -> int:
    """Load the ELF file cached in `a` into p; returns argc, or -1 with p unchanged.
    Each file region takes its own reference on `a`.

    The ELF chooses the personality (detect_abi), unless `abi` or the configuration
    forces one; the personality lays out the stack and heap (Abi.start)."""
    try:
        elf = parse_from(lambda off, n: m.pagecache.read(a, off, n), m.pagecache.size(a), MAXVA, DYN_BASE)
    except ElfError as e:
        m.log(f"exec {name}: {e}")
        return -1
    except OSError as e:
        m.log(f"exec {name}: {e.strerror}")
        return -1
    if elf.interp is not None:
        interp = elf.interp.decode(errors="replace")
        m.log(
            f"exec {name}: dynamically linked (it asks for {interp}); pagelab runs static programs: build with -static"
        )
        return -1
    forced = abi or m.config.abi
    personality = m.abis[detect_abi(elf) if forced == "auto" else forced]
    if elf.bias and personality.name == "xv6":
        m.log(f"exec {name}: not a static executable (e_type {ET_DYN})")
        return -1
    if len(argv) > personality.maxarg:
        return -1
    try:
        pagetable = vm.uvmcreate(m.km)
    except OutOfFrames:
        m.log(f"exec {name}: out of memory")
        return -1
    vmas = new_vmas(m)
    sz = 0
    rss = 0
    img: Image | None = None
    try:
        for v in image_vmas(elf):
            if v.kind != "bss":
                v.file, v.label = a, name
                m.pagecache.get(a)
            vmas.insert(v)
        sz = pgroundup(max(s.vaddr + s.memsz for s in elf.segments))
        # Refuse an image that cannot fit before spending time on it: the pages loaded now
        # and their page-table pages. (Frames only the page cache holds can be reclaimed.)
        eager = sum(v.pages() for v in eager_regions(m, vmas))
        if eager + eager // 512 + 3 * len(vmas) + 8 > m.km.nfree + m.pagecache.cache_only_frames():
            raise ExecError("image larger than memory")
        for v in eager_regions(m, vmas):
            rss += _prefault(m, pagetable, v)
        rss += _build_bss_edges(m, pagetable, vmas, elf)
        img = Image(pagetable, vmas, elf, sz, sz)
        # A program exec'd by an xv6 program (which has no environment) gets the run's.
        env = m.default_env if envp is None else envp
        lay = personality.start(m, img, argv, env, execfn or name.encode())
        sz = lay.sz
    except (ExecError, OutOfFrames, OSError) as e:
        m.log(f"exec {name}: {e or 'out of memory'}")
        free_image(m, pagetable, vmas, img.sz if img is not None else sz)
        return -1
    vmas.insert(lay.heap)
    # Commit: the old image goes away only now.
    if p.pagetable:
        free_image(m, p.pagetable, p.vmas, p.sz)
    p.pagetable, p.vmas = pagetable, vmas
    p.sz, p.heap_base, p.stack_base = sz, lay.heap.start, lay.stack_base
    p.rss = 0
    p.grow_rss(rss + lay.rss)
    p.name = name[:15]
    _switch_abi(m, p, personality)
    m.hart.root = pagetable
    m.hart.flush_tlb()
    m.hart.fresh_context(elf.entry, lay.sp, lay.a0, lay.a1)
    if m.listeners:
        m.emit(ExecEvent(p.pid, p.name, pagetable, sz, personality.name))
    return len(argv)


def _switch_abi(m: Machine, p: Proc, abi: Abi) -> None:
    """The process speaks `abi` from now on: descriptors marked close-on-exec are closed,
    and the descriptor table grows to the ABI's size (xv6 16, Linux more)."""
    from pagelab.kernel.file import fileclose  # here: file.py imports proc, which imports abi

    for fd in sorted(p.cloexec):
        f = p.ofile[fd] if fd < len(p.ofile) else None
        if f is not None:
            p.ofile[fd] = None
            fileclose(m, f)
    p.cloexec.clear()
    p.sig.exec_reset()
    if len(p.ofile) < abi.nofile:
        p.ofile.extend([None] * (abi.nofile - len(p.ofile)))
    p.abi = abi


def xv6_start(m: Machine, img: Image, argv: list[bytes], envp: list[bytes], execfn: bytes) -> Layout:
    """xv6's layout above the segments: one guard page (no PTE_U, no region), then one
    stack page holding the arguments, then the heap, empty until sbrk. (xv6 has no
    environment: envp is ignored.)"""
    sz = img.end
    if sz + 3 * PGSIZE > MAXVA:
        raise ExecError("no room for the stack")
    if vm.uvmalloc(m.km, img.pagetable, sz, sz + 2 * PGSIZE, PTE_W) is None:
        raise ExecError("out of memory")
    img.sz = sz + 2 * PGSIZE
    vm.uvmclear(m.km, img.pagetable, sz)
    stack_base = sz + PGSIZE
    sz += 2 * PGSIZE
    img.vmas.insert(Vma(stack_base, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE, "stack"))
    heap = Vma(sz, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE, "heap")  # empty until sbrk
    sp, uargv = _push_args(m, img.pagetable, sz, stack_base, argv)
    return Layout(sp, len(argv), uargv, sz, stack_base, heap, 1)


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
    """The regions exec fills at once: with --no-demand every file page, and BSS too when
    read faults could not share the zero page anyway (stock xv6 allocates it all)."""
    if m.config.demand:
        return []
    return [v for v in vmas if v.kind != "bss" or not m.config.zero_page]


def _prefault(m: Machine, pagetable: int, v: Vma) -> int:
    """Give every page of v a private frame holding its bytes. Returns the frames used."""
    for va in range(v.start, v.end, PGSIZE):
        _prefault_page(m, pagetable, v, va)
    return v.pages()


def _prefault_page(m: Machine, pagetable: int, v: Vma, va: int) -> None:
    km = m.km
    pte_pa = vm.walk(km, pagetable, va, True)
    if pte_pa is None:
        raise ExecError("out of memory")
    pa = km.kalloc()
    km.ram.write64(pte_pa, vm.pa2pte(pa) | pte_perm(v.prot) | PTE_V)
    if v.file is not None:
        fill_private(m, v, va, pa)


def _build_bss_edges(m: Machine, pagetable: int, vmas: VmaList, elf: ElfImage) -> int:
    """Build now the page that holds the end of a writable segment's file bytes and the
    start of its BSS, as Linux's ELF loader does when it zeroes the tail of the last file
    page (padzero): one frame per exec. It is a private page of the program's own, so
    were it built at its first touch, the free frames counted before (xv6's usertests:
    countfree) would be one more than those counted after. Returns the frames used."""
    built = 0
    for s in elf.segments:
        end = file_end(s)
        if not (s.flags & PF_W and s.filesz and s.memsz > s.filesz and end % PGSIZE):
            continue
        va = pgrounddown(end)
        v = vmas.find(va)
        if v is None or not v.pieces or vm.walkpte(m.km, pagetable, va) & PTE_V:
            continue  # not a page of its own, or already built (--no-demand)
        _prefault_page(m, pagetable, v, va)
        built += 1
    return built


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
