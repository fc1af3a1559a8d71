"""The page cache on its own: pages keyed by (file, index), one frame each, reference counts,
zeros past EOF, major/minor, sharing and unlinked files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pagelab.hw.ram import PhysMem
from pagelab.kernel.fs import O_CREATE, O_RDONLY, O_RDWR, FileSystem, Inode
from pagelab.kernel.mm.filemap import PageCache
from pagelab.kernel.mm.kalloc import Kalloc, OutOfFrames

NFRAMES = 32


@pytest.fixture
def fs(tmp_path: Path) -> FileSystem:
    return FileSystem(tmp_path)


@pytest.fixture
def km() -> Kalloc:
    return Kalloc(PhysMem(NFRAMES * 4096))


@pytest.fixture
def pc(km: Kalloc, fs: FileSystem) -> PageCache:
    return PageCache(km, fs)


def make(fs: FileSystem, name: str, data: bytes) -> Inode:
    (fs.root / name).write_bytes(data)
    ip = fs.open("/", name.encode(), O_RDONLY)
    assert ip is not None
    return ip


def test_pages_are_keyed_by_file_and_index_one_frame_each(pc: PageCache, km: Kalloc, fs: FileSystem) -> None:
    data = bytes(range(256)) * 40  # 10240 bytes: two full pages and part of a third
    ip = make(fs, "f", data)
    a = pc.mapping_for(ip)
    assert pc.size(a) == len(data)
    pa0, major0 = pc.get_page(a, 0)
    pa0b, major0b = pc.get_page(a, 0)
    pa2, _ = pc.get_page(a, 2)
    assert pa0 == pa0b and pa0 != pa2
    assert (major0, major0b) == (True, False)  # read from the host once, then a hit
    assert km.ram.read(pa0, 4096) == data[:4096]
    # The tail of the last page and any page wholly past EOF read as zero.
    assert km.ram.read(pa2, 4096) == data[8192:] + bytes(4096 - (len(data) - 8192))
    pa9, _ = pc.get_page(a, 9)
    assert km.ram.read(pa9, 4096) == bytes(4096)
    # One reference for the cache, one per get_page.
    assert km.refcount(pa0) == 3 and km.refcount(pa2) == 2
    assert pc.cache_only_frames() == 0
    for pa in (pa0, pa0, pa2, pa9):
        km.kfree(pa)
    assert km.refcount(pa0) == 1 and pc.cache_only_frames() == 3
    pc.put(a)
    fs.close(ip)


def test_same_host_file_same_address_space(pc: PageCache, fs: FileSystem) -> None:
    ip1 = make(fs, "f", b"x" * 100)
    ip2 = fs.open("/", b"f", O_RDWR)
    assert ip2 is not None
    a1, a2 = pc.mapping_for(ip1), pc.mapping_for(ip2)
    assert a1 is a2 and a1.users == 2 and a1.key == ip1.ino
    assert fs.link("/", b"f", b"g") == 0  # another name, same file
    ip3 = fs.open("/", b"g", O_RDONLY)
    assert ip3 is not None and pc.mapping_for(ip3) is a1
    other = pc.mapping_for(make(fs, "h", b"y"))
    assert other is not a1


def test_idle_pages_stay_cached_and_are_found_again(pc: PageCache, km: Kalloc, fs: FileSystem) -> None:
    ip = make(fs, "f", b"hello")
    a = pc.mapping_for(ip)
    pa, _ = pc.get_page(a, 0)
    km.kfree(pa)
    pc.put(a)
    fs.close(ip)
    assert pc.cache_only_frames() == 1  # nobody has it open; still cached
    ip = fs.open("/", b"f", O_RDONLY)
    assert ip is not None
    b = pc.mapping_for(ip)
    assert b is a and pc.get_page(b, 0) == (pa, False)  # a hit: no host read
    km.kfree(pa)
    pc.put(b)


def test_a_host_change_while_idle_drops_stale_pages(pc: PageCache, km: Kalloc, fs: FileSystem) -> None:
    ip = make(fs, "f", b"old")
    a = pc.mapping_for(ip)
    pa, _ = pc.get_page(a, 0)
    km.kfree(pa)
    pc.put(a)
    fs.close(ip)
    (fs.root / "f").write_bytes(b"newer contents")
    ip = fs.open("/", b"f", O_RDONLY)
    assert ip is not None
    b = pc.mapping_for(ip)
    assert b is not a and pc.size(b) == 14
    pa, major = pc.get_page(b, 0)
    assert major and km.ram.read(pa, 14) == b"newer contents"
    km.kfree(pa)


def test_unlinked_file_stays_readable_then_is_freed(pc: PageCache, km: Kalloc, fs: FileSystem) -> None:
    free0 = km.nfree
    ip = make(fs, "f", b"A" * 5000)
    a = pc.mapping_for(ip)
    fs.close(ip)  # the guest's own descriptor is gone too
    assert fs.unlink("/", b"f") == 0
    assert not (fs.root / "f").exists()
    assert pc.read(a, 4090, 100) == b"A" * 100  # read through the private descriptor
    pa, major = pc.get_page(a, 1)
    assert not major and km.ram.read(pa, 905) == b"A" * 904 + b"\0"  # read() cached it
    km.kfree(pa)
    pc.put(a)  # last user of an unlinked file: nothing can find it again
    assert km.nfree == free0 and pc.cache_only_frames() == 0


def test_writeback_writes_dirty_pages_only_and_never_past_eof(pc: PageCache, km: Kalloc, fs: FileSystem) -> None:
    ip = fs.open("/", b"f", O_RDWR | O_CREATE)
    assert ip is not None
    assert fs.write(ip, 0, b"a" * 6000) == 6000
    a = pc.mapping_for(ip)
    pa0, _ = pc.get_page(a, 0)
    pa1, _ = pc.get_page(a, 1)
    km.ram.write(pa0, b"B" * 4096)  # a store through a shared mapping...
    km.ram.write(pa1, b"C" * 4096)  # ...past EOF as well
    pc.set_page_dirty(a, 1)
    pc.writeback(a)
    # Page 0 was never marked dirty (its D bit was clear): not written.
    assert (fs.root / "f").read_bytes() == b"a" * 4096 + b"C" * (6000 - 4096)
    assert a.dirty == set()
    km.kfree(pa0)
    km.kfree(pa1)
    pc.put(a)


def test_last_put_writes_back_after_the_guest_closed(pc: PageCache, km: Kalloc, fs: FileSystem) -> None:
    ip = fs.open("/", b"f", O_RDWR | O_CREATE)
    assert ip is not None and fs.write(ip, 0, b"x" * 10) == 10
    a = pc.mapping_for(ip)
    fs.close(ip)
    pa, _ = pc.get_page(a, 0)
    km.ram.write(pa, b"hello")
    pc.set_page_dirty(a, 0)
    km.kfree(pa)
    pc.put(a)
    assert (fs.root / "f").read_bytes() == b"helloxxxxx"


def test_read_and_write_through_the_cache(pc: PageCache, km: Kalloc, fs: FileSystem) -> None:
    ip = fs.open("/", b"f", O_RDWR | O_CREATE)
    assert ip is not None
    a = pc.mapping_for(ip)
    data = os.urandom(9000)
    assert fs.write(ip, 0, data) == 9000
    pc.write(a, 0, data)
    assert pc.size(a) == 9000
    assert pc.read(a, 0, 20000) == data  # stops at EOF
    pa, _ = pc.get_page(a, 1)
    assert fs.write(ip, 5000, b"new") == 3
    pc.write(a, 5000, b"new")  # a cached page gets the bytes at once
    assert km.ram.read(pa + 5000 - 4096, 3) == b"new"
    km.ram.write(pa + 10, b"mapped store")  # and read() sees a mapping's store at once
    assert pc.read(a, 4106, 12) == b"mapped store"
    km.kfree(pa)


def test_truncate_frees_or_zeroes_pages_past_the_new_size(pc: PageCache, km: Kalloc, fs: FileSystem) -> None:
    ip = make(fs, "f", b"z" * 9000)
    a = pc.mapping_for(ip)
    pa0, _ = pc.get_page(a, 0)
    pa1, _ = pc.get_page(a, 1)
    km.kfree(pa1)  # page 1 only cached, page 0 still mapped
    free = km.nfree
    pc.truncate(a, 0)
    assert pc.size(a) == 0 and km.nfree == free + 1 and 1 not in a.pages
    assert km.ram.read(pa0, 4096) == bytes(4096)  # the mapping now sees zeros
    km.kfree(pa0)


def test_bytes_backed_mapping(pc: PageCache, km: Kalloc) -> None:
    data = b"\x7fELF" + bytes(5000)
    a = pc.mapping_for_bytes(("bundled", "prog"), data)
    assert pc.mapping_for_bytes(("bundled", "prog"), data) is a and a.users == 2
    pa, major = pc.get_page(a, 0)
    assert major and km.ram.read(pa, 4) == b"\x7fELF"
    km.kfree(pa)
    pc.put(a)
    pc.put(a)
    assert pc.cache_only_frames() == 1  # kept for the next exec of the same program
    b = pc.mapping_for_bytes(("bundled", "prog"), b"other")
    assert b is not a and pc.cache_only_frames() == 0
    pc.put(b)
    with pytest.raises(AssertionError):
        pc.put(b)


def test_shrink_frees_cache_only_frames_when_kalloc_runs_dry(pc: PageCache, km: Kalloc, fs: FileSystem) -> None:
    km.reclaim = pc.shrink
    ip = make(fs, "f", b"q" * 4096 * 8)
    a = pc.mapping_for(ip)
    mapped, _ = pc.get_page(a, 0)  # stays mapped: never reclaimed
    for i in range(1, 8):
        pa, _ = pc.get_page(a, i)
        km.kfree(pa)
    assert pc.cache_only_frames() == 7
    held = [km.kalloc() for _ in range(km.nfree)]
    more = [km.kalloc() for _ in range(7)]  # each from a reclaimed cache page
    assert pc.cache_only_frames() == 0 and list(a.pages) == [0]
    assert pc.page_of(mapped) == (a, 0) and pc.page_of(more[0]) is None
    with pytest.raises(OutOfFrames):
        km.kalloc()
    assert km.ram.read(mapped, 4) == b"qqqq"
    for pa in held + more:
        km.kfree(pa)
    # A page evicted is read again on the next touch.
    pa, major = pc.get_page(a, 5)
    assert major and km.ram.read(pa, 4) == b"qqqq"
    km.kfree(pa)
    km.kfree(mapped)


def test_dirty_page_is_written_back_before_it_is_reclaimed(pc: PageCache, km: Kalloc, fs: FileSystem) -> None:
    ip = fs.open("/", b"f", O_RDWR | O_CREATE)
    assert ip is not None and fs.write(ip, 0, b"." * 100) == 100
    a = pc.mapping_for(ip)
    pa, _ = pc.get_page(a, 0)
    km.ram.write(pa, b"dirty")
    pc.set_page_dirty(a, 0)
    km.kfree(pa)
    assert pc.shrink(10) == 1
    assert (fs.root / "f").read_bytes() == b"dirty" + b"." * 95


def test_frame_written_hook_sees_every_fill(pc: PageCache, fs: FileSystem) -> None:
    seen: list[int] = []
    pc.frame_written = seen.append
    a = pc.mapping_for(make(fs, "f", b"code"))
    pa, _ = pc.get_page(a, 0)
    assert seen == [pa]


def test_unlinking_an_idle_file_frees_its_pages(pc: PageCache, km: Kalloc, fs: FileSystem) -> None:
    free0 = km.nfree
    ip = make(fs, "f", b"data")
    a = pc.mapping_for(ip)
    pc.read(a, 0, 4)
    pc.put(a)
    fs.close(ip)
    assert pc.cache_only_frames() == 1
    ip = fs.open("/", b"f", O_RDONLY)  # what sys_unlink holds across the unlink
    assert ip is not None and fs.unlink("/", b"f") == 0
    pc.unlinked(ip)
    fs.close(ip)
    assert pc.cache_only_frames() == 0 and km.nfree == free0
