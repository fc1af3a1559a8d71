"""A write() that fails never touches memory that is already mapped (issue 18): a page in
the cache is the truth for its file, and the host file is only ever written from it. Every
way a write can fail is tried against a MAP_SHARED mapping whose stores are newer than the
host file, in the writing process and in another one (user/prog/wfail.c)."""

from __future__ import annotations

import errno
import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import run_prog

from pagelab.api import run
from pagelab.hw.ram import PhysMem
from pagelab.kernel.config import Config
from pagelab.kernel.file import CHUNK
from pagelab.kernel.fs import O_CREATE, O_RDWR, FileSystem
from pagelab.kernel.machine import Machine
from pagelab.kernel.mm.filemap import PageCache
from pagelab.kernel.mm.kalloc import Kalloc
from pagelab.kernel.quota import file_cost

WHO = [[], ["fork"]]


def _ok(r) -> None:  # type: ignore[no-untyped-def]
    assert r.code == 0, r.err
    assert "wfail OK" in r.out


@pytest.mark.parametrize("who", WHO)
def test_quota_refusal_keeps_the_stores(who: list[str]) -> None:
    r = run_prog("wfail", "eof", *who, config=Config(disk=64 << 10))
    _ok(r)
    assert r.stats["disk_quota"]["refused"] >= 1


@pytest.mark.parametrize("who", WHO)
def test_maximum_file_size_keeps_the_stores(who: list[str]) -> None:
    def small_files(m: Machine) -> None:
        m.fs.max_file_size = 64 << 10

    out, err = io.BytesIO(), io.BytesIO()
    rep = run("wfail", ["eof", *who], Config(disk=0), stdout=out, stderr=err, check=True, _setup=small_files)
    assert rep.exit_code == 0, err.getvalue()
    assert b"wfail OK" in out.getvalue()


@pytest.mark.parametrize("who", WHO)
def test_offset_past_the_end_keeps_the_stores(who: list[str]) -> None:
    _ok(run_prog("wfail", "past", *who))


def _failing_pwrite(monkeypatch: pytest.MonkeyPatch, first: int) -> list[int]:
    """os.pwrite that takes `first` bytes of a CHUNK-sized write (the guest's big write),
    then fails with ENOSPC; every other write goes through."""
    real: Callable[..., int] = os.pwrite
    calls: list[int] = []

    def pwrite(fd: int, data: bytes | memoryview, off: int) -> int:
        if len(data) == CHUNK and first and not calls:
            calls.append(first)
            return real(fd, bytes(data[:first]), off)
        if len(data) >= CHUNK - first:
            calls.append(0)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data, off)

    monkeypatch.setattr(os, "pwrite", pwrite)
    return calls


@pytest.mark.parametrize("first", [0, 100])
@pytest.mark.parametrize("who", WHO)
def test_host_error_keeps_the_stores(monkeypatch: pytest.MonkeyPatch, who: list[str], first: int) -> None:
    calls = _failing_pwrite(monkeypatch, first)
    _ok(run_prog("wfail", "eof", *who, config=Config(disk=0)))
    assert calls and calls[-1] == 0  # the host did fail


def test_partial_host_write_counts_what_arrived(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fs = FileSystem(tmp_path, quota=1 << 20)
    ip = fs.open("/", b"f", O_CREATE | O_RDWR)
    assert ip is not None
    assert fs.write(ip, 0, b"a" * 5000) == 5000
    _failing_pwrite(monkeypatch, 100)
    assert fs.write(ip, 5000, b"b" * CHUNK) == 100  # the bytes in the file, no more
    assert (tmp_path / "f").read_bytes() == b"a" * 5000 + b"b" * 100
    assert fs.quota.used == file_cost(5100)
    assert fs.write(ip, 5100, b"c" * CHUNK) == -1  # nothing written at all
    assert fs.quota.used == file_cost(5100)


def test_a_dirty_page_the_host_refused_is_never_read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Writeback failed, so the page stays dirty; the host file then changes. Reopening
    the file must keep the cached page (the truth), not drop it as stale."""
    km = Kalloc(PhysMem(16 * 4096))
    fs = FileSystem(tmp_path)
    pc = PageCache(km, fs)
    (tmp_path / "f").write_bytes(b"h" * 5000)
    ip = fs.open("/", b"f", O_RDWR)
    assert ip is not None
    a = pc.mapping_for(ip)
    pa, _ = pc.get_page(a, 0)
    km.ram.write(pa, b"STORE")
    pc.set_page_dirty(a, 0)
    real = os.pwrite
    monkeypatch.setattr(os, "pwrite", lambda fd, data, off: (_ for _ in ()).throw(OSError(errno.EIO, "EIO")))
    pc.put(a)  # the last user: writeback fails, the page stays dirty
    monkeypatch.setattr(os, "pwrite", real)
    assert a.dirty == {0}
    (tmp_path / "f").write_bytes(b"x" * 6000)  # the host changes the file meanwhile
    b = pc.mapping_for(ip)
    assert b is a and a.pages.get(0) == pa
    assert km.ram.read(pa, 5) == b"STORE"
    km.kfree(pa)
    pc.put(b)
    fs.close(ip)
    assert (tmp_path / "f").read_bytes()[:5] == b"STORE"
