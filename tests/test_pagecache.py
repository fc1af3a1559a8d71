"""The page cache seen from guest programs: read()/write() through it, its frames in the
stats, and no host descriptor left behind."""

from __future__ import annotations

import os
from pathlib import Path

from pagelab.kernel.config import Config
from pagelab.programs import bundled
from tests.conftest import run_prog


def image_pages(*names: str) -> int:
    """At most how many pages of these programs' files exec can have paged in."""
    return sum(len(bundled(n) or b"") // 4096 + 1 for n in names)


def test_cachetest() -> None:
    r = run_prog("cachetest")
    assert "cachetest OK" in r.out, r.err
    frames = r.stats["frames"]
    # Every file it made is unlinked: nothing of them stays cached, only the program's own
    # pages (exec pages programs in through the cache).
    assert frames["cache"] <= image_pages("cachetest", "init")
    assert frames["free_end"] + frames["cache"] == frames["boot_free"]


def test_pages_of_a_named_file_stay_cached_after_exit(tmp_path: Path) -> None:
    data = bytes(range(256)) * 48  # three pages
    (tmp_path / "f").write_bytes(data)
    r = run_prog("cat", "f", root=tmp_path)
    assert r.code == 0 and len(r.out) == len(data)
    frames = r.stats["frames"]
    # The file's three pages, and those of the programs' own images (cat's, init's).
    assert 3 <= frames["cache"] <= 3 + image_pages("cat", "init")
    assert frames["free_end"] + frames["cache"] == frames["boot_free"]


def test_no_host_descriptor_is_left_open(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x" * 5000)
    before = len(os.listdir("/proc/self/fd"))
    r = run_prog("cachetest", root=tmp_path)
    assert "cachetest OK" in r.out
    run_prog("cat", "f", root=tmp_path)
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_file_larger_than_ram_reads_through_a_bounded_cache(tmp_path: Path) -> None:
    """Cache-only frames are reclaimed when kalloc runs dry, so cat of a file four times
    the size of RAM works, and the cache never holds more than RAM."""
    data = os.urandom(1 << 20).hex().encode()  # 2 MiB of text
    (tmp_path / "f").write_bytes(data)
    r = run_prog("cat", "f", root=tmp_path, config=Config(mem=512 << 10))
    assert r.code == 0 and r.out.encode() == data
    frames = r.stats["frames"]
    assert 0 < frames["cache"] <= frames["total"]
    assert frames["free_end"] + frames["cache"] == frames["boot_free"]


def test_bigrodata_exits_with_the_byte_of_its_page() -> None:
    assert run_prog("bigrodata", "7").code == 7
    assert run_prog("bigrodata").code == 1000 % 251
    assert run_prog("bigrodata", "5000").code == 255


def test_mapcache() -> None:
    """mmap and read()/write() share the cache: stores seen at once, writeback at munmap and
    exit, mappings outlive close and unlink, nothing past EOF reaches the file."""
    r = run_prog("mapcache")
    assert "mapcache OK" in r.out, r.err
    assert r.stats["frames"]["cache"] <= image_pages("mapcache", "init")  # its files are gone
