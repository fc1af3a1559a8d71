"""The --disk quota (kernel/quota.py), the directory-size cache of fstat and the cwd held by
identity (issue 9, points 4, 5 and 6)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import run_prog

from pagelab.api import UsageError
from pagelab.cli import build_parser, config_from
from pagelab.kernel.config import Config
from pagelab.kernel.fs import O_CREATE, O_RDONLY, O_RDWR, O_TRUNC, FileSystem
from pagelab.kernel.quota import BSIZE, DIR_COST, file_cost


def _fs(root: Path, quota: int) -> FileSystem:
    return FileSystem(root, quota=quota)


def test_guest_writes_stop_at_the_quota(tmp_path: Path) -> None:
    r = run_prog("diskfill", root=tmp_path, config=Config(disk=256 << 10))
    wrote = int(r.out.split("wrote ")[1].split()[0])
    q = r.stats["disk_quota"]
    assert q["used_at_boot"] == 0
    # Everything fit that could: the file's blocks, then as many empty files as blocks left.
    assert file_cost(wrote) + file_cost(4096) > q["limit"] >= file_cost(wrote)
    created = int(r.out.split("created ")[1].split()[0])
    assert created == (q["limit"] - file_cost(wrote)) // file_cost(0)
    assert "mkdir -1" in r.out
    assert "after unlink ok" in r.out
    assert q["used"] == 0 and q["refused"] >= 3
    assert list(tmp_path.iterdir()) == []
    assert r.code == 0


def test_host_disk_holds_no_more_than_the_quota(tmp_path: Path) -> None:
    r = run_prog("sh", root=tmp_path, stdin=b"diskfill > out\n", config=Config(disk=128 << 10))
    assert r.code == 0
    on_disk = sum(f.stat().st_size for f in tmp_path.rglob("*") if f.is_file())
    assert on_disk <= 128 << 10


def test_boot_scan_counts_files_and_dirs_once(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_bytes(b"x" * 1500)
    os.link(tmp_path / "d" / "f", tmp_path / "g")  # a second name costs nothing
    os.symlink("/etc/passwd", tmp_path / "s")  # not the guest's: not counted, not followed
    fs = _fs(tmp_path, 1 << 20)
    assert fs.quota.used == DIR_COST + file_cost(1500) == BSIZE + BSIZE + 2 * BSIZE


def test_unlinked_open_file_gives_space_back_at_last_close(tmp_path: Path) -> None:
    fs = _fs(tmp_path, 1 << 20)
    ip = fs.open("/", b"f", O_CREATE | O_RDWR)
    assert ip is not None
    assert fs.write(ip, 0, b"y" * 5000) == 5000
    ip2 = fs.open("/", b"f", O_RDONLY)
    assert ip2 is not None
    used = fs.quota.used
    assert used == file_cost(5000)
    assert fs.unlink("/", b"f") == 0
    assert fs.quota.used == used  # still open: the blocks are still in use
    fs.close(ip)
    assert fs.quota.used == used
    fs.close(ip2)
    assert fs.quota.used == 0


def test_truncate_and_rmdir_give_space_back(tmp_path: Path) -> None:
    fs = _fs(tmp_path, 1 << 20)
    ip = fs.open("/", b"f", O_CREATE | O_RDWR)
    assert ip is not None and fs.write(ip, 0, b"z" * 3000) == 3000
    fs.close(ip)
    ip = fs.open("/", b"f", O_RDWR | O_TRUNC)
    assert ip is not None
    fs.close(ip)
    assert fs.quota.used == file_cost(0)
    assert fs.mkdir("/", b"d") == 0
    assert fs.quota.used == file_cost(0) + DIR_COST
    assert fs.unlink("/", b"d") == 0 and fs.unlink("/", b"f") == 0
    assert fs.quota.used == 0


def test_a_write_past_the_quota_writes_nothing(tmp_path: Path) -> None:
    fs = _fs(tmp_path, 4 * BSIZE)
    ip = fs.open("/", b"f", O_CREATE | O_RDWR)
    assert ip is not None
    assert fs.write(ip, 0, b"a" * (3 * BSIZE)) == 3 * BSIZE
    assert fs.write(ip, 3 * BSIZE, b"b") == -1
    assert (tmp_path / "f").stat().st_size == 3 * BSIZE
    assert fs.open("/", b"g", O_CREATE | O_RDWR) is None  # no block for another inode
    assert not (tmp_path / "g").exists()
    assert fs.mkdir("/", b"d") == -1 and fs.mknod("/", b"n", 1, 1) == -1
    assert fs.quota.refused == 4


@pytest.mark.parametrize(("text", "want"), [("0", 0), ("64M", 64 << 20), ("8G", 8 << 30), ("2T", 2 << 40)])
def test_disk_flag_sizes(text: str, want: int) -> None:
    ns = build_parser().parse_args(["run", "--disk", text, "echo"])
    assert config_from(ns).disk == want


def test_disk_flag_rejects_nonsense() -> None:
    with pytest.raises(UsageError):
        config_from(build_parser().parse_args(["run", "--disk", "lots", "echo"]))


def test_no_quota_with_zero(tmp_path: Path) -> None:
    fs = _fs(tmp_path, 0)
    ip = fs.open("/", b"f", O_CREATE | O_RDWR)
    assert ip is not None and fs.write(ip, 0, b"q" * 100_000) == 100_000


# --- fstat of a directory ---------------------------------------------------------------


def test_fstat_of_a_directory_does_not_rescan_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(50):
        (tmp_path / f"f{i}").write_bytes(b"")
    fs = FileSystem(tmp_path)
    scans = []
    real = fs._dirents
    monkeypatch.setattr(fs, "_dirents", lambda fd: scans.append(fd) or real(fd))
    ip = fs.open("/", b".", O_RDONLY)
    assert ip is not None
    sizes = {fs.fstat(ip).size for _ in range(20)}  # type: ignore[union-attr]
    assert sizes == {16 * 52} and len(scans) == 1
    st = fs.stat("/", b"/")
    assert st is not None and st.size == 16 * 52 and len(scans) == 1  # another open, same cache
    f = fs.open("/", b"new", O_CREATE | O_RDWR)  # our own change is seen at once
    assert f is not None
    assert fs.fstat(ip).size == 16 * 53  # type: ignore[union-attr]


# --- the cwd is held by identity ----------------------------------------------------------


def test_cwd_removed_and_recreated_is_not_followed(tmp_path: Path) -> None:
    fs = FileSystem(tmp_path)
    assert fs.mkdir("/", b"d") == 0
    cwd = fs.chdir("/", b"d")
    assert cwd == "/d"
    assert fs.unlink("/", b"d") == 0
    assert fs.mkdir("/", b"d") == 0  # the same name, another directory
    assert cwd is not None
    assert fs.open(cwd, b"f", O_CREATE | O_RDWR) is None
    assert fs.chdir(cwd, b".") is None
    assert not (tmp_path / "d" / "f").exists()
    assert fs.chdir(cwd, b"..") == "/"  # `..` of a removed directory still leads up
    assert fs.open(cwd, b"/d/f", O_CREATE | O_RDWR) is not None  # absolute paths are fine


def test_shell_in_a_removed_cwd(tmp_path: Path) -> None:
    r = run_prog("sh", root=tmp_path, stdin=b"mkdir /d\ncd /d\nrm /d\nmkdir /d\necho hi > f\nls /d\n")
    assert r.code == 0
    assert not (tmp_path / "d" / "f").exists()  # xv6: f goes into the removed directory
    assert "open f failed" in r.out + r.err


def test_bundled_programs_in_a_temporary_root_are_not_counted() -> None:
    r = run_prog("diskfill", config=Config(disk=64 << 10))
    q = r.stats["disk_quota"]
    assert q["used_at_boot"] == 0
    wrote = int(r.out.split("wrote ")[1].split()[0])
    assert file_cost(wrote) <= 64 << 10 < file_cost(wrote + 4096) + file_cost(0)
    assert "after unlink ok" in r.out


# --- a file unlinked while mapped keeps its space (issue 18) ------------------------------


def test_unlinked_but_mapped_files_keep_their_space() -> None:
    limit = 256 << 10
    r = run_prog("unlinkmap", config=Config(disk=limit))
    assert r.code == 0, r.err
    kept = int(r.out.split("kept ")[1].split()[0])
    assert kept == limit // file_cost(64 << 10)  # before: all 40 fit, 2.6 MB on the host
    q = r.stats["disk_quota"]
    assert q["used"] == 0 and q["refused"] >= 2


def test_hold_keeps_an_unlinked_file_counted(tmp_path: Path) -> None:
    fs = _fs(tmp_path, 1 << 20)
    ip = fs.open("/", b"f", O_CREATE | O_RDWR)
    assert ip is not None and ip.key is not None
    assert fs.write(ip, 0, b"m" * 3000) == 3000
    fd = os.dup(ip.fd)  # what the page cache keeps for a mapping
    fs.hold(ip.key)
    key = ip.key
    fs.close(ip)
    assert fs.unlink("/", b"f") == 0
    assert fs.quota.used == file_cost(3000)  # the mapping still holds the blocks
    fs.release(key, fd)
    os.close(fd)
    assert fs.quota.used == 0
