"""The memory services of mm/ (mmap flags, munmap of anything, mprotect, mremap, madvise,
msync), called directly as any ABI would call them. User memory is read and written
through the page tables with faults resolved as a guest access would resolve them
(copyin/copyout), so protections, COW and lazy pages behave as they do for a program."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pagelab.hw.hart import A0, A1
from pagelab.hw.mmu import Access
from pagelab.hw.sv39 import PGSIZE, PTE_D, PTE_V, PTE_W, pte2pa
from pagelab.kernel import proc
from pagelab.kernel.abi.xv6.sysfile import sys_open
from pagelab.kernel.abi.xv6.sysproc import sys_sbrk
from pagelab.kernel.config import Config
from pagelab.kernel.events import MmEvent
from pagelab.kernel.invariants import check_invariants
from pagelab.kernel.machine import Machine
from pagelab.kernel.mm import vm
from pagelab.kernel.mm.errno import Errno
from pagelab.kernel.mm.madvise import MADV_DONTNEED, MADV_FREE, MADV_POPULATE_WRITE, MADV_SEQUENTIAL, do_madvise
from pagelab.kernel.mm.mmap import do_mmap, do_munmap
from pagelab.kernel.mm.mprotect import do_mprotect
from pagelab.kernel.mm.mremap import MREMAP_FIXED, MREMAP_MAYMOVE, do_mremap
from pagelab.kernel.mm.msync import MS_ASYNC, MS_SYNC, do_msync
from pagelab.kernel.mm.swap import is_swap_pte
from pagelab.kernel.mm.vma import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_GROWSDOWN,
    MAP_NORESERVE,
    MAP_POPULATE,
    MAP_PRIVATE,
    MAP_SHARED,
    MAP_STACK,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
)
from pagelab.kernel.proc import Proc
from pagelab.obs.perfetto import PerfettoWriter
from pagelab.obs.stats import stats
from pagelab.obs.trace import TraceWriter
from pagelab.programs import bundled

P = PGSIZE
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS


class Space:
    """A machine with one process (spin), and user memory access as the guest sees it."""

    def __init__(self, root: Path, **config: object) -> None:
        self.root = root
        self.m = Machine(Config(**config), root, io.BytesIO(), io.BytesIO(), io.BytesIO(), bundled)  # type: ignore[arg-type]
        image = bundled("spin")
        assert image is not None
        p = self.m.spawn(image, [b"spin"], "spin")
        assert p is not None
        self.p = p
        self.enter(p)

    def enter(self, p: Proc) -> None:
        self.m._load(p)
        self.m.current = p

    def fault(self, va: int, access: Access) -> bool:
        return self.m.uaccess_fault(va, access)

    def write(self, va: int, data: bytes, p: Proc | None = None) -> bool:
        p = p or self.p
        self.enter(p)
        return vm.copyout(self.m.km, p.pagetable, va, data, self.fault)

    def read(self, va: int, n: int, p: Proc | None = None) -> bytes | None:
        p = p or self.p
        self.enter(p)
        return vm.copyin(self.m.km, p.pagetable, va, n, self.fault)

    def pte(self, va: int, p: Proc | None = None) -> int:
        return vm.walkpte(self.m.km, (p or self.p).pagetable, va)

    def fork(self) -> Proc:
        self.enter(self.p)
        pid = proc.fork(self.m, self.p)
        assert pid > 0
        return next(c for c in self.m.procs if c is not None and c.pid == pid)

    def open(self, name: str, data: bytes, writable: bool = True) -> int:
        """Put a file in the root and open it in the process (xv6 open); returns the fd."""
        (self.root / name).write_bytes(data)
        buf = anon(self, 1)
        assert self.write(buf, name.encode() + b"\0")
        self.m.hart.set_reg(A0, buf)
        self.m.hart.set_reg(A1, 2 if writable else 0)  # O_RDWR or O_RDONLY
        fd = sys_open(self.m, self.p)
        assert isinstance(fd, int) and fd >= 0
        assert do_munmap(self.m, self.p, buf, P) == 0
        return fd

    def close(self) -> None:
        for p in reversed([q for q in self.m.procs if q is not None]):  # children first
            if p in self.m.procs:
                self.enter(p)
                proc.exit_proc(self.m, p, 0)
                proc.freeproc(self.m, p)
        self.m.current = self.m.loaded = None
        check_invariants(self.m, expect_empty=True)  # free_end + cache == boot_free
        self.m.close()


@pytest.fixture
def sp() -> Iterator[Space]:
    with tempfile.TemporaryDirectory() as d:
        s = Space(Path(d))
        yield s
        s.close()


def anon(sp: Space, pages: int, prot: int = RW, flags: int = ANON, addr: int = 0) -> int:
    a = do_mmap(sp.m, sp.p, pages * P, prot, flags, -1, 0, addr)
    assert a > 0, a
    return a


# --- mmap flags ---------------------------------------------------------------------------


def test_hint_fixed_and_noreplace(sp: Space) -> None:
    hint = 0x40000000
    assert anon(sp, 2, addr=hint) == hint  # a free hint is taken
    assert do_mmap(sp.m, sp.p, P, RW, ANON, -1, 0, hint) != hint  # a taken one is not
    assert do_mmap(sp.m, sp.p, P, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0, hint + P) == -Errno.EEXIST
    assert sp.write(hint, b"old") and sp.write(hint + P, b"old")
    assert do_mmap(sp.m, sp.p, P, RW, ANON | MAP_FIXED, -1, 0, hint + P) == hint + P  # replaces
    assert sp.read(hint + P, 3) == bytes(3) and sp.read(hint, 3) == b"old"
    assert do_mmap(sp.m, sp.p, P, RW, ANON | MAP_FIXED, -1, 0, hint + 1) == -Errno.EINVAL
    assert do_mmap(sp.m, sp.p, P, RW, ANON | MAP_FIXED, -1, 0, 0) == -Errno.EPERM
    assert do_mmap(sp.m, sp.p, 0, RW, ANON, -1, 0) == -Errno.EINVAL
    assert do_mmap(sp.m, sp.p, P, 8, ANON, -1, 0) == -Errno.EINVAL
    assert do_mmap(sp.m, sp.p, P, RW, MAP_SHARED, 9, 0) == -Errno.EBADF
    a = do_mmap(sp.m, sp.p, 2 * P, RW, ANON | MAP_NORESERVE | MAP_STACK, -1, 0)
    assert a > 0 and sp.p.vmas.find(a).flags == ANON  # type: ignore[union-attr]


def test_populate_maps_every_page_now(sp: Space) -> None:
    a = anon(sp, 8, flags=ANON | MAP_POPULATE)
    for i in range(8):
        pte = sp.pte(a + i * P)
        assert pte & PTE_V and pte & PTE_W  # a private writable region: faulted as a store
    assert sp.m.vmstat.populated == 8
    assert stats(sp.m, 0)["mm"]["populated"] == 8


def test_munmap_of_text_heap_and_stack(sp: Space) -> None:
    p = sp.p
    text = next(v for v in p.vmas if v.kind == "text")
    stack = next(v for v in p.vmas if v.kind == "stack")
    assert do_munmap(sp.m, p, text.start, P) == 0
    assert do_munmap(sp.m, p, stack.start, P) == 0
    assert p.vmas.find(text.start) is None and p.vmas.find(stack.start) is None
    assert sp.read(stack.start, 1) is None  # gone: a fault there has no region
    base = p.sz
    sp.m.hart.set_reg(A0, 4 * P)
    assert sys_sbrk(sp.m, p) == base
    assert sp.write(base + P, b"heap")
    assert do_munmap(sp.m, p, base, 4 * P) == 0  # all of the heap: it stays, empty
    assert p.heap is not None and p.heap.start == p.heap.end
    assert sp.read(base + P, 1) is None


def test_growsdown_region_grows_on_a_fault_below(sp: Space) -> None:
    low = anon(sp, 1, addr=0x30000000)  # a region below, to keep the guard gap from
    top = 0x30000000 + 400 * P
    a = do_mmap(sp.m, sp.p, 2 * P, RW, ANON | MAP_GROWSDOWN | MAP_FIXED, -1, 0, top)
    assert a == top
    assert sp.write(top - 3 * P, b"grown")  # three pages below: the region grows down
    v = sp.p.vmas.find(top - 3 * P)
    assert v is not None and v.start == top - 3 * P and v.end == top + 2 * P
    assert sp.read(top - 3 * P, 5) == b"grown"
    assert not sp.write(low + 200 * P, b"x")  # within 256 pages of the region below: no
    assert sp.p.vmas.find(low + 200 * P) is None


# --- mprotect ---------------------------------------------------------------------------------


def test_mprotect_splits_and_forbids(sp: Space) -> None:
    a = anon(sp, 4)
    assert sp.write(a + P, b"x")
    assert do_mprotect(sp.m, sp.p, a + P, 2 * P, PROT_READ) == 0
    assert [(v.start - a) // P for v in sp.p.vmas.between(a, a + 4 * P)] == [0, 1, 3]
    assert not sp.pte(a + P) & PTE_W
    assert not sp.write(a + P, b"y") and sp.read(a + P, 1) == b"x"  # a store fails; a load works
    assert do_mprotect(sp.m, sp.p, a, 4 * P, PROT_NONE) == 0
    assert sp.read(a + P, 1) is None
    assert do_mprotect(sp.m, sp.p, a, 4 * P, RW) == 0
    assert len(sp.p.vmas.between(a, a + 4 * P)) == 1  # merged back into one region
    assert sp.write(a + P, b"z") and sp.read(a + P, 1) == b"z"
    assert do_mprotect(sp.m, sp.p, a + 1, P, RW) == -Errno.EINVAL
    assert do_mprotect(sp.m, sp.p, a, 8 * P, RW) == -Errno.ENOMEM  # runs past the region


def test_mprotect_write_again_keeps_cow_after_fork(sp: Space) -> None:
    a = anon(sp, 1)
    assert sp.write(a, b"parent")
    assert do_mprotect(sp.m, sp.p, a, P, PROT_READ) == 0
    child = sp.fork()  # the frame is now shared, read-only in both
    sp.enter(sp.p)
    assert do_mprotect(sp.m, sp.p, a, P, RW) == 0
    assert sp.write(a, b"PARENT")  # must copy: the child still maps the old frame
    assert sp.read(a, 6, child) == b"parent"
    assert pte2pa(sp.pte(a)) != pte2pa(sp.pte(a, child))
    check_invariants(sp.m, expect_empty=False)


def test_mprotect_shared_file_needs_a_writable_fd(sp: Space) -> None:
    fd = sp.open("ro", b"r" * P, writable=False)
    a = do_mmap(sp.m, sp.p, P, PROT_READ, MAP_SHARED, fd, 0)
    assert a > 0
    assert do_mprotect(sp.m, sp.p, a, P, RW) == -Errno.EACCES
    b = do_mmap(sp.m, sp.p, P, PROT_READ, MAP_PRIVATE, fd, 0)
    assert do_mprotect(sp.m, sp.p, b, P, RW) == 0
    assert sp.write(b, b"priv") and sp.read(a, 4) == b"rrrr"  # private: the file is untouched


def test_region_cap(tmp_path: Path) -> None:
    fresh = Space(tmp_path)
    n = fresh.p.vmas.count  # the regions of a freshly spawned process
    fresh.close()
    sp = Space(tmp_path, max_map_count=n + 3)
    try:
        a = anon(sp, 3)
        b = anon(sp, 1, prot=PROT_READ)
        c = anon(sp, 1)
        assert do_mmap(sp.m, sp.p, P, PROT_READ, ANON, -1, 0) == -Errno.ENOMEM
        assert do_mprotect(sp.m, sp.p, a + P, P, PROT_READ) == -Errno.ENOMEM  # two splits
        assert do_munmap(sp.m, sp.p, a + P, P) == -Errno.ENOMEM  # a hole
        assert do_munmap(sp.m, sp.p, a, P) == 0  # an end: no new region
        assert do_munmap(sp.m, sp.p, b, P) == 0
        assert anon(sp, 1, prot=PROT_READ) > 0 and c > 0
        assert sp.m.vmstat.mm_failed["mmap"] == 1 and sp.m.vmstat.mm_failed["munmap"] == 1
    finally:
        sp.close()


# --- mremap -----------------------------------------------------------------------------------


def test_mremap_grows_in_place_then_moves_without_copying(sp: Space) -> None:
    a = anon(sp, 2)
    assert sp.write(a, b"first") and sp.write(a + P, b"second")
    frame = pte2pa(sp.pte(a))
    anon(sp, 1, addr=a + 2 * P)  # something right after: no room in place
    assert do_mremap(sp.m, sp.p, a, 2 * P, 4 * P, 0) == -Errno.ENOMEM  # may not move
    b = do_mremap(sp.m, sp.p, a, 2 * P, 4 * P, MREMAP_MAYMOVE)
    assert b > 0 and b != a
    assert pte2pa(sp.pte(b)) == frame  # the same frame: the entry moved, no data copied
    assert sp.read(b, 5) == b"first" and sp.read(b + P, 6) == b"second"
    assert sp.read(b + 3 * P, 1) == b"\0"  # the new tail is lazy zero-fill
    assert sp.read(a, 1) is None
    assert sp.m.vmstat.mremap_moved == 2
    c = do_mremap(sp.m, sp.p, b, 4 * P, P, 0)  # shrinking stays in place
    assert c == b and sp.p.vmas.find(b + P) is None


def test_swapped_out_pages_move_and_keep_their_protection(tmp_path: Path) -> None:
    sp = Space(tmp_path, mem=160 * P, swap=512 * P)
    try:
        a = anon(sp, 2, addr=0x50000000)
        anon(sp, 1, prot=PROT_READ, addr=a + 2 * P)  # no room after it: mremap moves it
        assert sp.write(a, b"swapped0") and sp.write(a + P, b"swapped1")
        sp.m.reclaim.shrink(150)
        assert is_swap_pte(sp.pte(a)) and is_swap_pte(sp.pte(a + P))
        assert do_mprotect(sp.m, sp.p, a, P, PROT_READ) == 0  # the swap entry loses W
        # [a, a + 2P) is two regions now: mremap of both is refused, as on Linux
        assert do_mremap(sp.m, sp.p, a, 2 * P, 3 * P, MREMAP_MAYMOVE) == -Errno.EFAULT
        assert do_mprotect(sp.m, sp.p, a, 2 * P, PROT_READ) == 0  # one region again
        b = do_mremap(sp.m, sp.p, a, 2 * P, 3 * P, MREMAP_MAYMOVE)
        assert b > 0 and b != a and is_swap_pte(sp.pte(b)) and sp.pte(a) == 0
        assert not sp.write(b, b"x")  # still read-only after the move and the swap-in
        assert sp.read(b, 8) == b"swapped0" and sp.read(b + P, 8) == b"swapped1"
        assert do_mprotect(sp.m, sp.p, b, 3 * P, RW) == 0
        assert sp.write(b + P, b"written!") and sp.read(b + P, 8) == b"written!"
        check_invariants(sp.m, expect_empty=False)
    finally:
        sp.close()


def test_mremap_in_place_and_fixed(sp: Space) -> None:
    a = anon(sp, 1, addr=0x50000000)
    assert sp.write(a, b"data")
    assert do_mremap(sp.m, sp.p, a, P, 3 * P, 0) == a  # the pages after it are free
    assert len(sp.p.vmas.between(a, a + 3 * P)) == 1 and sp.read(a, 4) == b"data"
    dest = 0x60000000
    anon(sp, 1, addr=dest)
    assert sp.write(dest, b"gone")
    assert do_mremap(sp.m, sp.p, a, 3 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, dest) == dest
    assert sp.read(dest, 4) == b"data" and sp.p.vmas.find(dest + 2 * P) is None
    assert do_mremap(sp.m, sp.p, dest, P, P, MREMAP_FIXED, a) == -Errno.EINVAL
    assert do_mremap(sp.m, sp.p, 0x70000000, P, 2 * P, MREMAP_MAYMOVE) == -Errno.EFAULT


def test_mremap_of_a_shared_file_mapping(sp: Space) -> None:
    fd = sp.open("f", bytes(range(256)) * 32)  # 2 pages
    a = do_mmap(sp.m, sp.p, P, RW, MAP_SHARED, fd, 0)
    if sp.p.vmas.find(a + P) is None:
        anon(sp, 1, addr=a + P)  # no room after it: mremap must move it
    assert sp.write(a, b"\xff")
    b = do_mremap(sp.m, sp.p, a, P, 2 * P, MREMAP_MAYMOVE)
    assert b > 0 and b != a
    assert sp.read(b + P, 4) == bytes(range(256))[:4]  # the file's next page follows
    assert do_munmap(sp.m, sp.p, b, 2 * P) == 0  # the store moved with the PTE: written back
    assert (sp.m.fs.root / "f").read_bytes()[:1] == b"\xff"


# --- madvise and msync --------------------------------------------------------------------


def test_madvise_dontneed_zero_fills_anon_and_rereads_file(sp: Space) -> None:
    a = anon(sp, 2)
    assert sp.write(a, b"gone")
    rss = sp.p.rss
    assert do_madvise(sp.m, sp.p, a, 2 * P, MADV_DONTNEED) == 0
    assert sp.p.rss == rss - 1 and not sp.pte(a) & PTE_V
    assert sp.read(a, 4) == bytes(4)
    fd = sp.open("f", b"file" * 1024)
    f = do_mmap(sp.m, sp.p, P, RW, MAP_PRIVATE, fd, 0)
    assert sp.write(f, b"mine")
    assert do_madvise(sp.m, sp.p, f, P, MADV_DONTNEED) == 0
    assert sp.read(f, 4) == b"file"  # the private copy went; the file shows again
    assert do_madvise(sp.m, sp.p, f, P, MADV_FREE) == -Errno.EINVAL  # not anonymous
    assert do_madvise(sp.m, sp.p, a, P, MADV_FREE) == 0
    assert do_madvise(sp.m, sp.p, a, P, MADV_SEQUENTIAL) == 0
    assert do_madvise(sp.m, sp.p, a, P, 7) == -Errno.EINVAL
    assert do_madvise(sp.m, sp.p, a, 64 * P, MADV_DONTNEED) == -Errno.ENOMEM  # a hole after it
    assert do_madvise(sp.m, sp.p, a, 2 * P, MADV_POPULATE_WRITE) == 0 and sp.pte(a + P) & PTE_W
    assert sp.m.vmstat.madvise_dropped == 2


def test_madvise_dontneed_on_shared_file_keeps_stores(sp: Space) -> None:
    fd = sp.open("s", bytes(P))
    a = do_mmap(sp.m, sp.p, P, RW, MAP_SHARED, fd, 0)
    assert sp.write(a, b"kept")
    assert do_madvise(sp.m, sp.p, a, P, MADV_DONTNEED) == 0
    assert sp.read(a, 4) == b"kept"  # back from the page cache, store included


def test_msync_writes_dirty_shared_pages(sp: Space) -> None:
    fd = sp.open("s", bytes(2 * P))
    a = do_mmap(sp.m, sp.p, 2 * P, RW, MAP_SHARED, fd, 0)
    assert sp.write(a + P, b"synced")
    assert (sp.m.fs.root / "s").read_bytes()[P : P + 6] == bytes(6)  # only in memory so far
    assert do_msync(sp.m, sp.p, a, 2 * P, MS_SYNC) == 0
    assert (sp.m.fs.root / "s").read_bytes()[P : P + 6] == b"synced"
    assert not sp.pte(a + P) & PTE_D and sp.m.vmstat.msync_written == 1
    assert do_msync(sp.m, sp.p, a, P, MS_SYNC | MS_ASYNC) == -Errno.EINVAL
    assert do_msync(sp.m, sp.p, a, 4 * P, MS_ASYNC) == -Errno.ENOMEM


# --- observation --------------------------------------------------------------------------


def test_calls_are_traced_and_counted(sp: Space) -> None:
    out = io.StringIO()
    seen: list[MmEvent] = []
    sp.m.listeners.append(TraceWriter(out))
    sp.m.listeners.append(lambda ev: seen.append(ev) if isinstance(ev, MmEvent) else None)
    a = anon(sp, 2)
    do_mprotect(sp.m, sp.p, a, P, PROT_READ)
    do_madvise(sp.m, sp.p, a, P, 99)
    do_munmap(sp.m, sp.p, a, 2 * P)
    assert [(e.call, e.ret) for e in seen] == [("mmap", a), ("mprotect", 0), ("madvise", -22), ("munmap", 0)]
    assert '"kind": "mm", "call": "mprotect"' in out.getvalue()
    st = stats(sp.m, 0)["mm"]
    assert st["calls"]["mprotect"] == 1 and st["failed"]["madvise"] == 1
    pf = io.StringIO()
    writer = PerfettoWriter(pf, sp.m.now)
    for ev in seen:
        writer(ev)
    assert [(e["name"], e["cat"]) for e in writer.events] == [
        ("mmap", "mm"),
        ("mprotect", "mm"),
        ("madvise", "mm"),
        ("munmap", "mm"),
    ]


def test_exit_record_lists_the_first_thousand_regions(sp: Space) -> None:
    for i in range(1100):
        anon(sp, 1, prot=PROT_READ if i % 2 else RW)
    n = len(sp.p.vmas)
    child = sp.fork()
    sp.enter(child)
    proc.exit_proc(sp.m, child, 0)
    rec = stats(sp.m, 0)["processes"][-1]
    assert rec["pid"] == child.pid and len(rec["mappings"]) == 1000 and rec["mappings_total"] == n > 1100
    assert rec["mappings"][0]["start"] == hex(next(iter(sp.p.vmas)).start)
